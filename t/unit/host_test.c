
/*
 * Unit test of the link host rule's pure parts (src/ngx_http_users_host.c):
 * which host[:port] strings are taken as sent, how server_name patterns
 * match, and the scheme://host[:port] written. The request-level part is
 * tested through nginx in t/080-hosts.t (HTTP/1.x) and t/081-hosts-h2-h3.t
 * (HTTP/2, HTTP/3).
 */


#include "ngx_stubs.h"
#include "ngx_http_users_host.h"


typedef struct {
    const char  *in;
    ngx_int_t    rc;
    const char  *host;           /* as kept */
    ngx_uint_t   port;
} parse_case_t;


typedef struct {
    const char  *name;
    const char  *host;
    ngx_uint_t   match;
} match_case_t;


typedef struct {
    ngx_uint_t   https;
    const char  *host;
    ngx_uint_t   port;
    const char  *url;
} url_case_t;


static parse_case_t  parse_cases[] = {
    { "example.com", NGX_OK, "example.com", 0 },
    { "Example.COM.", NGX_OK, "example.com", 0 },
    { "example.com:8443", NGX_OK, "example.com", 8443 },
    { "example.com.:08443", NGX_OK, "example.com", 8443 },
    { "example.com:", NGX_OK, "example.com", 0 },
    { "a_b-c.example", NGX_OK, "a_b-c.example", 0 },
    { "127.0.0.1:81", NGX_OK, "127.0.0.1", 81 },
    { "[::1]:8080", NGX_OK, "[::1]", 8080 },
    { "[2001:DB8::1]", NGX_OK, "[2001:db8::1]", 0 },
    { "example.com:0", NGX_DECLINED, NULL, 0 },
    { "example.com:65536", NGX_DECLINED, NULL, 0 },
    { "example.com:65535", NGX_OK, "example.com", 65535 },
    { "example.com:8a", NGX_DECLINED, NULL, 0 },
    { "example.com:1:2", NGX_DECLINED, NULL, 0 },
    { "", NGX_DECLINED, NULL, 0 },
    { "_", NGX_DECLINED, NULL, 0 },
    { "-.-", NGX_DECLINED, NULL, 0 },
    { ".example.com", NGX_DECLINED, NULL, 0 },
    { "a..b", NGX_DECLINED, NULL, 0 },
    { "*.example.com", NGX_DECLINED, NULL, 0 },
    { "a\"b", NGX_DECLINED, NULL, 0 },
    { "a'b;c=d,e", NGX_DECLINED, NULL, 0 },
    { "ev(il)!$&*+~", NGX_DECLINED, NULL, 0 },
    { "evil%2ecom", NGX_DECLINED, NULL, 0 },
    { "a b", NGX_DECLINED, NULL, 0 },
    { "a<b>", NGX_DECLINED, NULL, 0 },
    { "[::1", NGX_DECLINED, NULL, 0 },
    { "[]", NGX_DECLINED, NULL, 0 },
    { "[::g]", NGX_DECLINED, NULL, 0 },
    { "[::1]x", NGX_DECLINED, NULL, 0 },
    { "[fe80::1%25eth0]", NGX_DECLINED, NULL, 0 },
    { "a:b", NGX_DECLINED, NULL, 0 },
};


static match_case_t  match_cases[] = {
    { "example.com", "example.com", 1 },
    { "example.com", "www.example.com", 0 },
    { "example.com", "example.co", 0 },
    { "*.example.com", "www.example.com", 1 },
    { "*.example.com", "a.b.example.com", 1 },
    { "*.example.com", "example.com", 0 },
    { "*.example.com", "xexample.com", 0 },
    { ".example.com", "example.com", 1 },
    { ".example.com", "a.example.com", 1 },
    { ".example.com", "aexample.com", 0 },
    { "www.example.*", "www.example.org", 1 },
    { "www.example.*", "www.example.co.uk", 1 },
    { "www.example.*", "www.example", 0 },
    { "www.example.*", "wwwxexample.org", 0 },
    { "", "example.com", 0 },
    { "_", "example.com", 0 },
    { "[::1]", "[::1]", 1 },
};


static url_case_t  url_cases[] = {
    { 0, "example.com", 0, "http://example.com" },
    { 0, "example.com", 80, "http://example.com" },
    { 0, "example.com", 443, "http://example.com:443" },
    { 1, "example.com", 443, "https://example.com" },
    { 1, "example.com", 80, "https://example.com:80" },
    { 1, "[::1]", 8443, "https://[::1]:8443" },
};


/* what host.c links against beyond ngx_stubs.c; never reached here */

ngx_module_t  ngx_http_core_module;


void
ngx_strlow(u_char *dst, u_char *src, size_t n)
{
    while (n--) {
        *dst = ngx_tolower(*src);
        dst++;
        src++;
    }
}


#if (NGX_PCRE)

ngx_int_t
ngx_regex_exec(ngx_regex_t *re, ngx_str_t *s, int *captures, ngx_uint_t size)
{
    return NGX_REGEX_NO_MATCHED;
}

#endif


size_t
ngx_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, ngx_uint_t port)
{
    return 0;
}


in_port_t
ngx_inet_get_port(struct sockaddr *sa)
{
    return 0;
}


ngx_int_t
ngx_connection_local_sockaddr(ngx_connection_t *c, ngx_str_t *s,
    ngx_uint_t port)
{
    return NGX_ERROR;
}


static ngx_uint_t
parse_tests(ngx_pool_t *pool, ngx_uint_t *passed)
{
    ngx_int_t              rc;
    ngx_uint_t             i, failed;
    parse_case_t          *c;
    ngx_http_users_host_t  h;

    failed = 0;

    for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        c = &parse_cases[i];
        ngx_memzero(&h, sizeof(ngx_http_users_host_t));

        rc = ngx_http_users_host_parse(pool, (u_char *) c->in,
                                       strlen(c->in), &h);

        if (rc == c->rc
            && (rc != NGX_OK
                || (h.host.len == strlen(c->host)
                    && ngx_strncmp(h.host.data, c->host, h.host.len) == 0
                    && h.port == c->port)))
        {
            (*passed)++;
            continue;
        }

        failed++;
        printf("FAIL parse \"%s\": expected %ld %s:%lu, got %ld %.*s:%lu\n",
               c->in, (long) c->rc, c->host ? c->host : "-",
               (unsigned long) c->port, (long) rc, (int) h.host.len,
               h.host.data ? (char *) h.host.data : "", (unsigned long) h.port);
    }

    return failed;
}


static ngx_uint_t
match_tests(ngx_uint_t *passed)
{
    ngx_str_t      name, host;
    ngx_uint_t     i, m, failed;
    match_case_t  *c;

    failed = 0;

    for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        c = &match_cases[i];

        name.data = (u_char *) c->name;
        name.len = strlen(c->name);
        host.data = (u_char *) c->host;
        host.len = strlen(c->host);

        m = ngx_http_users_host_match(&name, &host);

        if (m == c->match) {
            (*passed)++;
            continue;
        }

        failed++;
        printf("FAIL match \"%s\" \"%s\": expected %lu\n", c->name, c->host,
               (unsigned long) c->match);
    }

    return failed;
}


static ngx_uint_t
url_tests(ngx_uint_t *passed)
{
    u_char                 buf[128], *p;
    ngx_uint_t             i, failed;
    url_case_t            *c;
    ngx_http_users_host_t  h;

    failed = 0;

    for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        c = &url_cases[i];

        h.host.data = (u_char *) c->host;
        h.host.len = strlen(c->host);
        h.port = c->port;

        p = ngx_http_users_host_url(buf, c->https, &h);

        if ((size_t) (p - buf) == strlen(c->url)
            && ngx_strncmp(buf, c->url, p - buf) == 0)
        {
            (*passed)++;
            continue;
        }

        failed++;
        printf("FAIL url %s %lu: expected %s, got %.*s\n", c->host,
               (unsigned long) c->port, c->url, (int) (p - buf), buf);
    }

    return failed;
}


int
main(void)
{
    ngx_uint_t   passed, failed;
    ngx_pool_t  *pool;

    passed = 0;
    pool = ngx_create_pool(1024, NULL);

    failed = parse_tests(pool, &passed);
    failed += match_tests(&passed);
    failed += url_tests(&passed);

    ngx_destroy_pool(pool);

    printf("%lu passed, %lu failed\n", (unsigned long) passed,
           (unsigned long) failed);

    return failed ? 1 : 0;
}
