
/*
 * ngx_http_users_module: the scheme, host and port of a page's links.
 */


#include "ngx_http_users_host.h"


/* the longest host name a link may carry (DNS: 253) */
#define NGX_HTTP_USERS_HOST_MAX  255


/*
 * A copy of the server's server_name list: nginx keeps cscf->server_names
 * in the configuration's temporary pool, gone once nginx runs (the names
 * and their compiled regexes themselves stay).
 */

typedef struct {
    ngx_array_t   names;             /* of ngx_http_server_name_t */
} ngx_http_users_host_srv_conf_t;


static ngx_int_t ngx_http_users_host_request(ngx_http_request_t *r,
    ngx_http_users_host_t *h);
static ngx_uint_t ngx_http_users_host_allowed(ngx_http_request_t *r,
    ngx_str_t *host);
static ngx_int_t ngx_http_users_host_server(ngx_http_request_t *r,
    ngx_http_users_host_t *h);
static ngx_int_t ngx_http_users_host_local(ngx_http_request_t *r,
    ngx_str_t *addr);
static ngx_uint_t ngx_http_users_host_port(ngx_http_request_t *r);
static void *ngx_http_users_host_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_users_host_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_http_module_t  ngx_http_users_host_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_users_host_create_srv_conf,   /* create server configuration */
    ngx_http_users_host_merge_srv_conf,    /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_users_host_module = {
    NGX_MODULE_V1,
    &ngx_http_users_host_module_ctx,       /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* scheme://host[:port] for the links of request r */

ngx_int_t
ngx_http_users_host_base(ngx_http_request_t *r, ngx_str_t *base)
{
    ngx_int_t              rc;
    ngx_uint_t             https;
    ngx_http_users_host_t  h;

    https = 0;

#if (NGX_HTTP_SSL)
    https = (r->connection->ssl != NULL);
#endif

    rc = ngx_http_users_host_request(r, &h);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED || !ngx_http_users_host_allowed(r, &h.host)) {
        if (ngx_http_users_host_server(r, &h) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    base->data = ngx_pnalloc(r->pool, sizeof("https://") - 1 + h.host.len
                                      + sizeof(":65535") - 1);
    if (base->data == NULL) {
        return NGX_ERROR;
    }

    base->len = ngx_http_users_host_url(base->data, https, &h) - base->data;

    return NGX_OK;
}


/*
 * The host the client asked for: the authority of an absolute request
 * line (HTTP/1.x; RFC 9112 says the Host header is then ignored, as nginx
 * does), of :authority (HTTP/3; HTTP/2 from nginx 1.28.1 and 1.29.1),
 * else the Host header (where older HTTP/2 puts :authority).
 * NGX_DECLINED: none, or not a plain host[:port].
 */

static ngx_int_t
ngx_http_users_host_request(ngx_http_request_t *r, ngx_http_users_host_t *h)
{
    u_char              *p, *last;
    ngx_str_t           *v;
    ngx_http_request_t  *m;

    m = r->main;

    if (m->host_start && m->host_end) {
        p = m->host_end;

        /* before 1.25.4 an absolute request line's host_end is at ":port" */

        if (m->http_version < NGX_HTTP_VERSION_20) {
            last = m->request_line.data + m->request_line.len;

            if (p >= m->request_line.data && p < last && *p == ':') {
                for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
                    /* void */
                }
            }
        }

        return ngx_http_users_host_parse(r->pool, m->host_start,
                                         p - m->host_start, h);
    }

    if (m->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    v = &m->headers_in.host->value;

    return ngx_http_users_host_parse(r->pool, v->data, v->len, h);
}


/* one of the server's names: exact, wildcard or regular expression */

static ngx_uint_t
ngx_http_users_host_allowed(ngx_http_request_t *r, ngx_str_t *host)
{
    ngx_uint_t                       i;
    ngx_http_server_name_t          *sn;
    ngx_http_users_host_srv_conf_t  *hscf;

    hscf = ngx_http_get_module_srv_conf(r, ngx_http_users_host_module);
    sn = hscf->names.elts;

    for (i = 0; i < hscf->names.nelts; i++) {

#if (NGX_PCRE)
        if (sn[i].regex) {
            if (ngx_regex_exec(sn[i].regex->regex, host, NULL, 0) >= 0) {
                return 1;
            }

            continue;
        }
#endif

        if (ngx_http_users_host_match(&sn[i].name, host)) {
            return 1;
        }
    }

    return 0;
}


/*
 * No host to trust: the first server_name that is a plain host name, else
 * the connection's local address; with the connection's local port.
 */

static ngx_int_t
ngx_http_users_host_server(ngx_http_request_t *r, ngx_http_users_host_t *h)
{
    ngx_uint_t                       i;
    ngx_http_users_host_t            name;
    ngx_http_server_name_t          *sn;
    ngx_http_users_host_srv_conf_t  *hscf;

    hscf = ngx_http_get_module_srv_conf(r, ngx_http_users_host_module);
    sn = hscf->names.elts;

    h->port = ngx_http_users_host_port(r);

    for (i = 0; i < hscf->names.nelts; i++) {

#if (NGX_PCRE)
        if (sn[i].regex) {
            continue;
        }
#endif

        /* not "", "_", "*.example.com", ".example.com" nor "host:port" */

        if (ngx_http_users_host_parse(r->pool, sn[i].name.data,
                                      sn[i].name.len, &name)
            == NGX_OK
            && name.port == 0
            && sn[i].name.data[sn[i].name.len - 1] != ':')
        {
            h->host = name.host;
            return NGX_OK;
        }
    }

    return ngx_http_users_host_local(r, &h->host);
}


/* the local port, or 0 where there is none (a unix socket) */

static ngx_uint_t
ngx_http_users_host_port(ngx_http_request_t *r)
{
    ngx_connection_t  *c;

    c = r->connection;

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return 0;
    }

#if (NGX_HAVE_UNIX_DOMAIN)
    if (c->local_sockaddr->sa_family == AF_UNIX) {
        return 0;
    }
#endif

    return ngx_inet_get_port(c->local_sockaddr);
}


/* the local address, IPv6 in brackets; "localhost" for a unix socket */

static ngx_int_t
ngx_http_users_host_local(ngx_http_request_t *r, ngx_str_t *addr)
{
    u_char            *p;
    size_t             n;
    ngx_connection_t  *c;

    c = r->connection;

    ngx_str_set(addr, "localhost");

    if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return NGX_OK;
    }

#if (NGX_HAVE_UNIX_DOMAIN)
    if (c->local_sockaddr->sa_family == AF_UNIX) {
        return NGX_OK;
    }
#endif

    p = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    n = ngx_sock_ntop(c->local_sockaddr, c->local_socklen, p + 1,
                      NGX_SOCKADDR_STRLEN, 0);

    if (c->local_sockaddr->sa_family == AF_INET6) {
        p[0] = '[';
        p[n + 1] = ']';
        addr->data = p;
        addr->len = n + 2;

    } else {
        addr->data = p + 1;
        addr->len = n;
    }

    return NGX_OK;
}


/*
 * A host[:port] as a client or server_name wrote it: a host name (letters,
 * digits, "-" and "_" in labels split by single dots; one trailing dot is
 * dropped), an IPv4 address or an IPv6 literal in brackets, and a port
 * from 1 to 65535 or none (also ":" with no digits). Anything else
 * (sub-delimiters and percent-encoding, which nginx 1.29.4 accepts in a
 * Host, quotes and brackets, which older nginx accepts) is NGX_DECLINED:
 * such a host is never copied into a link.
 */

ngx_int_t
ngx_http_users_host_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_http_users_host_t *h)
{
    u_char      c, *p, *last, *end;
    ngx_uint_t  alnum, digits, port;

    p = data;
    last = data + len;
    alnum = 0;

    if (p < last && *p == '[') {

        for (p++; p < last && *p != ']'; p++) {
            c = (u_char) (*p | 0x20);

            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                || c == ':' || c == '.')
            {
                alnum = 1;
                continue;
            }

            return NGX_DECLINED;
        }

        if (p == last) {
            return NGX_DECLINED;
        }

        end = ++p;

    } else {

        for ( /* void */ ; p < last && *p != ':'; p++) {
            c = (u_char) (*p | 0x20);

            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
                alnum = 1;
                continue;
            }

            if (*p == '.') {
                if (p == data || p[-1] == '.') {
                    return NGX_DECLINED;
                }

                continue;
            }

            if (*p != '-' && *p != '_') {
                return NGX_DECLINED;
            }
        }

        end = (p > data && p[-1] == '.') ? p - 1 : p;
    }

    if (!alnum || end - data > NGX_HTTP_USERS_HOST_MAX) {
        return NGX_DECLINED;
    }

    port = 0;
    digits = 0;

    if (p < last) {

        if (*p++ != ':') {
            return NGX_DECLINED;
        }

        for ( /* void */ ; p < last; p++) {
            if (*p < '0' || *p > '9') {
                return NGX_DECLINED;
            }

            port = port * 10 + (*p - '0');

            if (port > 65535) {
                return NGX_DECLINED;
            }

            digits++;
        }

        if (digits && port == 0) {
            return NGX_DECLINED;
        }
    }

    h->port = port;
    h->host.len = end - data;

    h->host.data = ngx_pnalloc(pool, h->host.len);
    if (h->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(h->host.data, data, h->host.len);

    return NGX_OK;
}


/*
 * server_name semantics: "example.com" exactly, "*.example.com" any name
 * below it, ".example.com" both, "www.example.*" any name that starts so.
 * The names are in lower case, as nginx keeps them, and so is host.
 */

ngx_uint_t
ngx_http_users_host_match(ngx_str_t *name, ngx_str_t *host)
{
    size_t   n;
    u_char  *s;

    s = name->data;
    n = name->len;

    if (n == 0) {
        return 0;
    }

    if (n > 2 && s[0] == '*' && s[1] == '.') {
        return host->len > n - 1
               && ngx_strncmp(host->data + host->len - (n - 1), s + 1, n - 1)
                  == 0;
    }

    if (n > 1 && s[0] == '.') {
        if (host->len == n - 1) {
            return ngx_strncmp(host->data, s + 1, n - 1) == 0;
        }

        return host->len > n
               && ngx_strncmp(host->data + host->len - n, s, n) == 0;
    }

    if (n > 2 && s[n - 1] == '*' && s[n - 2] == '.') {
        return host->len > n - 1 && ngx_strncmp(host->data, s, n - 1) == 0;
    }

    return host->len == n && ngx_strncmp(host->data, s, n) == 0;
}


/* scheme://host[:port]; a scheme's default port is not written */

u_char *
ngx_http_users_host_url(u_char *p, ngx_uint_t https, ngx_http_users_host_t *h)
{
    p = ngx_sprintf(p, "%s://%V", https ? "https" : "http", &h->host);

    if (h->port && h->port != (https ? 443 : 80)) {
        p = ngx_sprintf(p, ":%ui", h->port);
    }

    return p;
}


static void *
ngx_http_users_host_create_srv_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_users_host_srv_conf_t));
}


/* runs after the core module's merge, which adds "" to a server without */

static char *
ngx_http_users_host_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_users_host_srv_conf_t *conf = child;

    ngx_uint_t                 n;
    ngx_http_server_name_t    *sn;
    ngx_http_core_srv_conf_t  *cscf;

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    n = cscf->server_names.nelts;

    if (ngx_array_init(&conf->names, cf->pool, n ? n : 1,
                       sizeof(ngx_http_server_name_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (n) {
        sn = ngx_array_push_n(&conf->names, n);
        if (sn == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(sn, cscf->server_names.elts,
                   n * sizeof(ngx_http_server_name_t));
    }

    return NGX_CONF_OK;
}
