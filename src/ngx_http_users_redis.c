
/*
 * ngx_http_users_module: Redis calls of a worker: where they go, and
 * what happens when the node says to go elsewhere.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_redis.h"
#include "ngx_http_users_redis_conn.h"
#include "ngx_http_users_cluster.h"
#include "ngx_http_users_sentinel.h"
#include "ngx_http_users_replica.h"


/* redirections followed at once by a call; past them it waits between */
#define NGX_HTTP_USERS_REDIS_REDIRECTS     5
/* ms: the first wait before trying again, and the longest */
#define NGX_HTTP_USERS_REDIS_PAUSE_MIN     10
#define NGX_HTTP_USERS_REDIS_PAUSE_MAX     100


struct ngx_http_users_redis_call_s {
    ngx_http_users_redis_handler_pt   handler;    /* NULL: detached */
    ngx_http_users_redis_ask_pt       ask;        /* an internal call */
    void                             *data;
    ngx_http_users_redis_node_t      *node;       /* of the last attempt */
    ngx_http_users_redis_peer_t      *peer;       /* NULL: not in flight */
    ngx_http_users_redis_node_t      *target;     /* MOVED, ASK: where */
    ngx_event_t                       timer;      /* the deadline */
    ngx_event_t                       wait;       /* before trying again */
    ngx_msec_t                        pause;
    ngx_msec_t                        max_lag;
    ngx_uint_t                        flags;
    ngx_uint_t                        slot;
    ngx_uint_t                        redirect;   /* of this attempt */
    ngx_uint_t                        redirects;
    ngx_uint_t                        asking;     /* ASKING first */
    ngx_uint_t                        n;
    size_t                           *lens;       /* of each command */
    u_char                           *buf;        /* the commands, RESP */
};


static ngx_int_t ngx_http_users_redis_parse_arg(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *arg);
static ngx_int_t ngx_http_users_redis_parse_option(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *name, ngx_str_t *val);
static ngx_int_t ngx_http_users_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *text);
static char *ngx_http_users_redis_check(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf);

static ngx_http_users_redis_node_t *ngx_http_users_redis_route(
    ngx_uint_t slot, ngx_uint_t flags, ngx_msec_t max_lag, ngx_uint_t pin);
static ngx_http_users_redis_node_t *ngx_http_users_redis_primary(
    ngx_uint_t slot);
static ngx_http_users_redis_call_t *ngx_http_users_redis_call(
    ngx_http_users_redis_cmd_t *cmds, ngx_uint_t n);
static u_char *ngx_http_users_redis_header(u_char *p, u_char type,
    size_t n);
static ngx_int_t ngx_http_users_redis_attempt(ngx_http_users_redis_call_t *call,
    ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_part(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_users_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_users_redis_lost(ngx_http_users_redis_call_t *call,
    ngx_int_t status);
static ngx_uint_t ngx_http_users_redis_retried(
    ngx_http_users_redis_call_t *call);
static void ngx_http_users_redis_redirected(ngx_http_users_redis_call_t *call,
    ngx_uint_t kind, redisReply *reply);
static void ngx_http_users_redis_again(ngx_http_users_redis_call_t *call);
static void ngx_http_users_redis_later(ngx_http_users_redis_call_t *call);
static void ngx_http_users_redis_wait_handler(ngx_event_t *ev);
static void ngx_http_users_redis_finish(ngx_http_users_redis_call_t *call,
    redisReply *reply, ngx_int_t status);
static void ngx_http_users_redis_call_timeout(ngx_event_t *ev);


static ngx_str_t  ngx_http_users_redis_asking =
    ngx_string("*1\r\n$6\r\nASKING\r\n");


/*
 * users_redis address ... [cluster | sentinel=name] [option=value ...]
 */

char *
ngx_http_users_redis_parse(ngx_conf_t *cf, ngx_http_users_redis_conf_t *rcf)
{
    ngx_str_t   *value;
    ngx_uint_t   i, cluster, sentinel;

    value = cf->args->elts;

    if (ngx_array_init(&rcf->addrs, cf->pool, 1,
                       sizeof(ngx_http_users_redis_addr_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    rcf->name = value[1];
    rcf->db = 0;
    rcf->connections = 2;
    rcf->connect_timeout = 1000;
    rcf->timeout = 1000;
    rcf->replica_check = 200;

    /* several addresses, with "cluster" or "sentinel=" anywhere */

    cluster = 0;
    sentinel = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        cluster |= (value[i].len == 7
                    && ngx_strncmp(value[i].data, "cluster", 7) == 0);
        sentinel |= (value[i].len > 9
                     && ngx_strncmp(value[i].data, "sentinel=", 9) == 0);
    }

    if (cluster && sentinel) {
        return "takes \"cluster\" or \"sentinel=\", not both";
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (i > 1 && !cluster && !sentinel
            && ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
               == NULL)
        {
            if (ngx_strlchr(value[i].data, value[i].data + value[i].len, ':')
                != NULL)
            {
                return "takes several addresses only with \"cluster\" "
                       "or \"sentinel=\"";
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_users_redis_parse_arg(cf, rcf, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_users_redis_check(cf, rcf);
}


static ngx_int_t
ngx_http_users_redis_parse_arg(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *arg)
{
    u_char     *eq;
    ngx_str_t   name, val;

    if (arg->len == 7 && ngx_strncmp(arg->data, "cluster", 7) == 0) {
        rcf->mode = NGX_HTTP_USERS_REDIS_CLUSTER;
        return NGX_OK;
    }

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');

    if (eq == NULL) {
        return ngx_http_users_redis_parse_addr(cf, rcf, arg);
    }

    name.data = arg->data;
    name.len = eq - arg->data;
    val.data = eq + 1;
    val.len = arg->data + arg->len - val.data;

    if (name.len && ngx_http_users_redis_parse_option(cf, rcf, &name, &val)
                    == NGX_OK)
    {
        return NGX_OK;
    }

    /* the value may be a password: name only what was wrong */

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%*s\"",
                       (size_t) (eq - arg->data + 1), arg->data);
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_users_redis_parse_option(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *name, ngx_str_t *val)
{
    ngx_int_t    n;
    ngx_msec_t  *ms;

#define ngx_http_users_redis_is(s)                                           \
    (name->len == sizeof(s) - 1 && ngx_strncmp(name->data, s, name->len) == 0)

    if (ngx_http_users_redis_is("password")) {
        rcf->password = *val;
        return NGX_OK;
    }

    if (ngx_http_users_redis_is("user")) {
        rcf->user = *val;
        return NGX_OK;
    }

    if (ngx_http_users_redis_is("sentinel")) {
        rcf->master = *val;
        rcf->mode = NGX_HTTP_USERS_REDIS_SENTINEL;
        return val->len ? NGX_OK : NGX_ERROR;
    }

    if (ngx_http_users_redis_is("sentinel_password")) {
        rcf->sentinel_password = *val;
        return NGX_OK;
    }

    if (ngx_http_users_redis_is("db")) {
        n = ngx_atoi(val->data, val->len);
        if (n == NGX_ERROR || n > 65535) {
            return NGX_ERROR;
        }
        rcf->db = n;
        return NGX_OK;
    }

    if (ngx_http_users_redis_is("connections")) {
        n = ngx_atoi(val->data, val->len);
        if (n == NGX_ERROR || n < 1 || n > 64) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"connections\" must be from 1 to 64 in "
                               "\"connections=%V\"", val);
            return NGX_ABORT;
        }
        rcf->connections = n;
        return NGX_OK;
    }

    if (ngx_http_users_redis_is("connect_timeout")) {
        ms = &rcf->connect_timeout;

    } else if (ngx_http_users_redis_is("timeout")) {
        ms = &rcf->timeout;

    } else if (ngx_http_users_redis_is("replica_check")) {
        ms = &rcf->replica_check;

    } else {
        return NGX_ERROR;
    }

#undef ngx_http_users_redis_is

    *ms = ngx_parse_time(val, 0);

    return (*ms == (ngx_msec_t) NGX_ERROR || *ms == 0) ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_users_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *text)
{
    u_char                       *p;
    ngx_url_t                     u;
    ngx_http_users_redis_addr_t  *addr;

    addr = ngx_array_push(&rcf->addrs);
    if (addr == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(addr, sizeof(ngx_http_users_redis_addr_t));
    addr->name = *text;

    if (text->len > 5 && ngx_strncmp(text->data, "unix:", 5) == 0) {
        addr->unix_path.len = text->len - 5;
        addr->unix_path.data = ngx_pnalloc(cf->pool, text->len - 4);
        if (addr->unix_path.data == NULL) {
            return NGX_ERROR;
        }
        ngx_cpystrn(addr->unix_path.data, text->data + 5, text->len - 4);
        return NGX_OK;
    }

    /* names are resolved here, once: hiredis would block on them */

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *text;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\"%s%s", text,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    addr->host.data = p;
    addr->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                   p, NGX_SOCKADDR_STRLEN, 0);
    p[addr->host.len] = '\0';
    addr->port = u.port;

    return NGX_OK;
}


static char *
ngx_http_users_redis_check(ngx_conf_t *cf, ngx_http_users_redis_conf_t *rcf)
{
    ngx_uint_t                    i;
    ngx_http_users_redis_addr_t  *addr;

    if (rcf->addrs.nelts == 0) {
        return "needs an address";
    }

    if (rcf->mode == NGX_HTTP_USERS_REDIS_SINGLE && rcf->addrs.nelts > 1) {
        return "takes several addresses only with \"cluster\" "
               "or \"sentinel=\"";
    }

    if (rcf->mode != NGX_HTTP_USERS_REDIS_CLUSTER) {
        return NGX_CONF_OK;
    }

    if (rcf->db) {
        return "takes no \"db\" with \"cluster\": a cluster has database 0 "
               "only";
    }

    addr = rcf->addrs.elts;

    for (i = 0; i < rcf->addrs.nelts; i++) {
        if (addr[i].unix_path.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a cluster's nodes are reached by IP "
                               "address, not \"%V\"", &addr[i].name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* users_redis_read primary | replica [max_lag=time]; */

char *
ngx_http_users_redis_read(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                    *value, s;
    ngx_http_users_redis_read_t  *rd;

    rd = (ngx_http_users_redis_read_t *) ((char *) conf + cmd->offset);

    if (rd->replica != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 7 && ngx_strncmp(value[1].data, "primary", 7) == 0) {
        rd->replica = 0;

    } else if (value[1].len == 7
               && ngx_strncmp(value[1].data, "replica", 7) == 0)
    {
        rd->replica = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\": \"primary\" or "
                           "\"replica\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (!rd->replica || value[2].len <= 8
        || ngx_strncmp(value[2].data, "max_lag=", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 8;
    s.len = value[2].len - 8;

    rd->max_lag = ngx_parse_time(&s, 0);

    if (rd->max_lag == (ngx_msec_t) NGX_ERROR || rd->max_lag == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid max_lag \"%V\"",
                           &s);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


void
ngx_http_users_redis_read_merge(ngx_http_users_redis_read_t *conf,
    ngx_http_users_redis_read_t *prev)
{
    if (conf->replica == NGX_CONF_UNSET_UINT) {
        *conf = *prev;
    }

    if (conf->replica == NGX_CONF_UNSET_UINT) {
        conf->replica = 0;
    }

    if (conf->max_lag == NGX_CONF_UNSET_MSEC) {
        conf->max_lag = 1000;
    }
}


ngx_int_t
ngx_http_users_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_users_redis_conf_t *rcf)
{
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    ngx_memzero(w, sizeof(ngx_http_users_redis_worker_t));

    w->conf = rcf;
    w->log = cycle->log;

    w->nodes = ngx_pcalloc(cycle->pool,
                           NGX_HTTP_USERS_REDIS_MAX_NODES
                           * sizeof(ngx_http_users_redis_node_t *));
    if (w->nodes == NULL) {
        return NGX_ERROR;
    }

    switch (rcf->mode) {

    case NGX_HTTP_USERS_REDIS_CLUSTER:
        return ngx_http_users_cluster_init(cycle);

    case NGX_HTTP_USERS_REDIS_SENTINEL:
        return ngx_http_users_sentinel_init(cycle);

    default:
        node = ngx_http_users_redis_node(rcf->addrs.elts,
                                         NGX_HTTP_USERS_REDIS_DATA);
        if (node == NULL) {
            return NGX_ERROR;
        }

        node->wanted = 1;
        node->role = NGX_HTTP_USERS_REDIS_PRIMARY;
        w->primary = node->index + 1;

        /* one Redis: its connections are opened at once */
        ngx_http_users_redis_node_open(node);

        return NGX_OK;
    }
}


void
ngx_http_users_redis_exit_worker(ngx_cycle_t *cycle)
{
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (w->nodes == NULL) {
        return;
    }

    w->closing = 1;

    ngx_http_users_cluster_exit();
    ngx_http_users_sentinel_exit();
    ngx_http_users_replica_exit();

    ngx_http_users_redis_conn_exit();

    w->nodes = NULL;
}


ngx_int_t
ngx_http_users_redis_send(ngx_http_users_redis_route_t *route,
    ngx_http_users_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_users_redis_handler_pt handler, void *data,
    ngx_http_users_redis_call_t **callp)
{
    ngx_uint_t                      slot;
    ngx_http_users_redis_call_t    *call;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_peer_t    *peer;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (w->nodes == NULL || w->closing) {
        return NGX_DECLINED;
    }

    slot = (w->conf->mode == NGX_HTTP_USERS_REDIS_CLUSTER)
           ? ngx_http_users_cluster_slot(route->key.data, route->key.len)
           : 0;

    node = ngx_http_users_redis_route(slot, route->flags, route->max_lag,
                                      route->node);
    if (node == NULL) {
        return NGX_DECLINED;
    }

    if ((route->flags & NGX_HTTP_USERS_REDIS_STAY)
        && route->node && route->node != node->index + 1)
    {
        route->node = node->index + 1;
        return NGX_BUSY;
    }

    peer = ngx_http_users_redis_node_peer(node);
    if (peer == NULL) {
        /* every connection is waiting out its backoff: fail fast */
        return NGX_DECLINED;
    }

    call = ngx_http_users_redis_call(cmds, n);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->handler = handler;
    call->data = data;
    call->flags = route->flags;
    call->max_lag = route->max_lag;
    call->slot = slot;
    call->node = node;

    if (!ngx_http_users_redis_peer_ready(peer)) {
        /* the primary's ROLE is not checked yet: in a moment */
        ngx_add_timer(&call->wait, NGX_HTTP_USERS_REDIS_PAUSE_MIN);

    } else if (ngx_http_users_redis_attempt(call, peer) != NGX_OK) {
        ngx_free(call);
        return NGX_DECLINED;
    }

    ngx_add_timer(&call->timer, w->conf->timeout);

    route->node = node->index + 1;
    *callp = call;

    return NGX_OK;
}


/* a command to one node, for this part's own needs (maps, lag, roles) */

ngx_int_t
ngx_http_users_redis_ask(ngx_http_users_redis_node_t *node, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_users_redis_ask_pt handler, void *data)
{
    ngx_http_users_redis_cmd_t      cmd;
    ngx_http_users_redis_call_t    *call;
    ngx_http_users_redis_peer_t    *peer;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (w->nodes == NULL || w->closing) {
        return NGX_DECLINED;
    }

    peer = ngx_http_users_redis_node_peer(node);
    if (peer == NULL) {
        return NGX_DECLINED;
    }

    cmd.argc = argc;
    cmd.argv = argv;
    cmd.argvlen = (size_t *) argvlen;

    call = ngx_http_users_redis_call(&cmd, 1);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->ask = handler;
    call->data = data;

    if (ngx_http_users_redis_attempt(call, peer) != NGX_OK) {
        ngx_free(call);
        return NGX_DECLINED;
    }

    ngx_add_timer(&call->timer, w->conf->timeout);

    return NGX_OK;
}


/*
 * Where a call goes: the primary of its slot (or the one Redis); with
 * NGX_HTTP_USERS_REDIS_REPLICA a replica of it that is up and fresh
 * enough, the one a request used before while it stays so.
 */

static ngx_http_users_redis_node_t *
ngx_http_users_redis_route(ngx_uint_t slot, ngx_uint_t flags,
    ngx_msec_t max_lag, ngx_uint_t pin)
{
    ngx_uint_t                      i, k;
    ngx_http_users_redis_node_t    *primary, *r;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    primary = ngx_http_users_redis_primary(slot);

    if (primary == NULL || !(flags & NGX_HTTP_USERS_REDIS_REPLICA)
        || !(flags & NGX_HTTP_USERS_REDIS_READ))
    {
        return primary;
    }

    if (primary->nreplicas == 0) {
        return primary;
    }

    ngx_http_users_replica_use();

    if (pin == primary->index + 1) {
        return primary;
    }

    if (pin) {
        r = w->nodes[pin - 1];

        if (r->primary == primary->index + 1
            && ngx_http_users_replica_fresh(r, max_lag)
            && ngx_http_users_redis_node_usable(r))
        {
            return r;
        }
    }

    for (i = 0; i < primary->nreplicas; i++) {
        k = primary->replicas[(primary->rr + i) % primary->nreplicas];
        r = w->nodes[k];

        if (ngx_http_users_replica_fresh(r, max_lag)
            && ngx_http_users_redis_node_usable(r))
        {
            primary->rr += i + 1;
            return r;
        }
    }

    return primary;
}


static ngx_http_users_redis_node_t *
ngx_http_users_redis_primary(ngx_uint_t slot)
{
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (w->conf->mode == NGX_HTTP_USERS_REDIS_CLUSTER) {
        return ngx_http_users_cluster_node(slot);
    }

    return w->primary ? w->nodes[w->primary - 1] : NULL;
}


/*
 * The call and its commands in RESP, in one allocation: they are sent
 * again as they are after a redirection.
 */

static ngx_http_users_redis_call_t *
ngx_http_users_redis_call(ngx_http_users_redis_cmd_t *cmds, ngx_uint_t n)
{
    int                           a;
    u_char                       *p, *start;
    size_t                        size;
    ngx_uint_t                    i;
    ngx_http_users_redis_call_t  *call;

    size = sizeof(ngx_http_users_redis_call_t) + n * sizeof(size_t);

    for (i = 0; i < n; i++) {
        size += 1 + NGX_INT_T_LEN + 2;

        for (a = 0; a < cmds[i].argc; a++) {
            size += 1 + NGX_SIZE_T_LEN + 2 + cmds[i].argvlen[a] + 2;
        }
    }

    call = ngx_alloc(size, ngx_cycle->log);
    if (call == NULL) {
        return NULL;
    }

    ngx_memzero(call, sizeof(ngx_http_users_redis_call_t));

    call->n = n;
    call->lens = (size_t *) (call + 1);
    call->buf = (u_char *) (call->lens + n);

    p = call->buf;

    for (i = 0; i < n; i++) {
        start = p;
        p = ngx_http_users_redis_header(p, '*', cmds[i].argc);

        for (a = 0; a < cmds[i].argc; a++) {
            p = ngx_http_users_redis_header(p, '$', cmds[i].argvlen[a]);
            p = ngx_cpymem(p, cmds[i].argv[a], cmds[i].argvlen[a]);
            *p++ = '\r';
            *p++ = '\n';
        }

        call->lens[i] = p - start;
    }

    call->timer.handler = ngx_http_users_redis_call_timeout;
    call->timer.data = call;
    call->timer.log = ngx_cycle->log;
    call->wait.handler = ngx_http_users_redis_wait_handler;
    call->wait.data = call;
    call->wait.log = ngx_cycle->log;

    return call;
}


/* "*3\r\n" or "$5\r\n", without ngx_sprintf's format parsing */

static u_char *
ngx_http_users_redis_header(u_char *p, u_char type, size_t n)
{
    u_char   digits[NGX_SIZE_T_LEN], *d;

    d = digits + NGX_SIZE_T_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    *p++ = type;
    p = ngx_cpymem(p, d, digits + NGX_SIZE_T_LEN - d);
    *p++ = '\r';
    *p++ = '\n';

    return p;
}


/*
 * Queues the call's commands on a connection: hiredis holds the call
 * (every command's callback has it) until the last command's reply.
 */

static ngx_int_t
ngx_http_users_redis_attempt(ngx_http_users_redis_call_t *call,
    ngx_http_users_redis_peer_t *peer)
{
    u_char             *p;
    ngx_uint_t          i;
    redisAsyncContext  *ac;

    ac = peer->ac;

    if (ac == NULL || (ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))) {
        return NGX_DECLINED;
    }

    call->peer = peer;
    call->node = peer->node;
    call->redirect = NGX_HTTP_USERS_REDIRECT_NONE;
    call->target = NULL;

    if (call->asking) {
        call->asking = 0;
        redisAsyncFormattedCommand(ac, NULL, NULL,
                                   (char *) ngx_http_users_redis_asking.data,
                                   ngx_http_users_redis_asking.len);
    }

    p = call->buf;

    for (i = 0; i < call->n; i++) {
        /* cannot fail: the context is neither disconnecting nor freeing */
        (void) redisAsyncFormattedCommand(ac,
                                          i == call->n - 1
                                          ? ngx_http_users_redis_reply
                                          : ngx_http_users_redis_part,
                                          call, (char *) p, call->lens[i]);
        p += call->lens[i];
    }

    return NGX_OK;
}


/*
 * A command before the last of a batch: inside MULTI a redirection is
 * the reply of the command it concerns, and EXEC then only says
 * EXECABORT.
 */

static void
ngx_http_users_redis_part(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                   *reply = r;
    ngx_http_users_redis_call_t  *call = privdata;

    ngx_str_t   addr;
    ngx_uint_t  slot;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR
        || call->redirect != NGX_HTTP_USERS_REDIRECT_NONE)
    {
        return;
    }

    call->redirect = ngx_http_users_cluster_redirect((u_char *) reply->str,
                                                     reply->len, &slot,
                                                     &addr);

    if (call->redirect == NGX_HTTP_USERS_REDIRECT_MOVED
        || call->redirect == NGX_HTTP_USERS_REDIRECT_ASK)
    {
        call->target = ngx_http_users_redis_node_by_name(addr.data,
                                                         addr.len);
    }
}


static void
ngx_http_users_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                   *reply = r;
    ngx_http_users_redis_call_t  *call = privdata;

    ngx_int_t                     status;
    ngx_http_users_redis_peer_t  *peer;
    ngx_http_users_redis_node_t  *node;

    peer = call->peer;
    node = call->node;
    call->peer = NULL;

    if (call->handler == NULL && call->ask == NULL) {
        /* cancelled, or timed out */
        ngx_free(call);
        return;
    }

    if (reply == NULL) {
        status = peer->fail_status;
        ngx_http_users_redis_lost(call, status);
        return;
    }

    if (node->failing) {
        ngx_http_users_redis_node_healthy(node);
    }

    if (call->ask) {
        ngx_http_users_redis_finish(call, reply, NGX_OK);
        return;
    }

    if (call->redirect == NGX_HTTP_USERS_REDIRECT_NONE
        && reply->type == REDIS_REPLY_ERROR)
    {
        ngx_http_users_redis_part(ac, reply, call);
    }

    if (!ngx_http_users_redis_retried(call)
        || ngx_http_users_redis_worker.closing)
    {
        ngx_http_users_redis_finish(call, reply, NGX_OK);
        return;
    }

    ngx_http_users_redis_redirected(call, call->redirect, reply);
}


/*
 * Whether a refusal is acted on or passed on as it is: what one Redis
 * says (LOADING, MASTERDOWN, READONLY) fails fast as it always did, unless
 * a replica said it (the primary is asked) or a cluster or Sentinel may
 * know another node.
 */

static ngx_uint_t
ngx_http_users_redis_retried(ngx_http_users_redis_call_t *call)
{
    switch (call->redirect) {

    case NGX_HTTP_USERS_REDIRECT_NONE:
        return 0;

    case NGX_HTTP_USERS_REDIRECT_LOADING:
    case NGX_HTTP_USERS_REDIRECT_MASTERDOWN:
        return call->node->role == NGX_HTTP_USERS_REDIS_REPLICA_ROLE;

    case NGX_HTTP_USERS_REDIRECT_READONLY:
        return ngx_http_users_redis_worker.conf->mode
               != NGX_HTTP_USERS_REDIS_SINGLE;

    default:
        return 1;
    }
}


/*
 * No reply: the connection was lost (or reset after a timeout: then
 * status is TIMEDOUT). A read is sent again, within its deadline.
 */

static void
ngx_http_users_redis_lost(ngx_http_users_redis_call_t *call,
    ngx_int_t status)
{
    if (status == NGX_HTTP_USERS_REDIS_UNAVAILABLE
        && (call->flags & NGX_HTTP_USERS_REDIS_READ)
        && call->handler
        && call->redirects++ < NGX_HTTP_USERS_REDIS_REDIRECTS
        && !ngx_http_users_redis_worker.closing)
    {
        if (call->node->role == NGX_HTTP_USERS_REDIS_REPLICA_ROLE) {
            call->flags &= ~NGX_HTTP_USERS_REDIS_REPLICA;
        }

        ngx_http_users_redis_again(call);
        return;
    }

    ngx_http_users_redis_finish(call, NULL, status);
}


/*
 * Every kind here was refused before it ran: sending it again never runs
 * a command twice.
 */

static void
ngx_http_users_redis_redirected(ngx_http_users_redis_call_t *call,
    ngx_uint_t kind, redisReply *reply)
{
    ngx_http_users_redis_node_t  *target;

    target = call->target;

    switch (kind) {

    case NGX_HTTP_USERS_REDIRECT_MOVED:
        if (target == NULL) {
            /* a name, not an address: the map will say */
            ngx_http_users_cluster_refresh();
            ngx_http_users_redis_later(call);
            return;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "users redis: MOVED slot %ui from %V to %V",
                       call->slot, &call->node->name, &target->name);

        ngx_http_users_cluster_moved(call->slot, target);
        break;

    case NGX_HTTP_USERS_REDIRECT_ASK:
        ngx_log_debug4(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "users redis: ASK slot %ui from %V to %V%s",
                       call->slot, &call->node->name,
                       target ? &target->name : &call->node->name,
                       (call->flags & NGX_HTTP_USERS_REDIS_SLOT)
                       ? ": waiting for the whole slot" : "");

        if (target == NULL || (call->flags & NGX_HTTP_USERS_REDIS_SLOT)) {
            /*
             * the slot is being migrated and the call reads keys it does
             * not name: neither node holds them all until it is done
             */
            call->target = NULL;
            ngx_http_users_redis_later(call);
            return;
        }

        call->asking = 1;
        break;

    case NGX_HTTP_USERS_REDIRECT_MASTERDOWN:
    case NGX_HTTP_USERS_REDIRECT_LOADING:
        /* a replica without its primary, or loading: read the primary */
        call->node->fresh = 0;
        call->flags &= ~NGX_HTTP_USERS_REDIS_REPLICA;
        break;

    case NGX_HTTP_USERS_REDIRECT_READONLY:
        ngx_http_users_cluster_refresh();
        ngx_http_users_sentinel_reask();
        ngx_http_users_redis_later(call);
        return;

    case NGX_HTTP_USERS_REDIRECT_CLUSTERDOWN:
        ngx_http_users_cluster_refresh();
        ngx_http_users_redis_later(call);
        return;

    default: /* TRYAGAIN */
        ngx_log_debug3(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "users redis: %V: %*s", &call->node->name,
                       (size_t) ngx_min(reply->len, 64), reply->str);
        ngx_http_users_redis_later(call);
        return;
    }

    if (call->redirects++ >= NGX_HTTP_USERS_REDIS_REDIRECTS) {
        ngx_http_users_redis_later(call);
        return;
    }

    ngx_http_users_redis_again(call);
}


/* sends the call again: to its target, or where it is routed now */

static void
ngx_http_users_redis_again(ngx_http_users_redis_call_t *call)
{
    ngx_http_users_redis_node_t  *node;
    ngx_http_users_redis_peer_t  *peer;

    node = call->target;
    call->target = NULL;

    if (node == NULL) {
        call->asking = 0;
        node = ngx_http_users_redis_route(call->slot, call->flags,
                                          call->max_lag, 0);
    }

    peer = node ? ngx_http_users_redis_node_peer(node) : NULL;

    if (peer != NULL && !ngx_http_users_redis_peer_ready(peer)) {
        call->node = node;
        ngx_http_users_redis_later(call);
        return;
    }

    if (peer == NULL
        || ngx_http_users_redis_attempt(call, peer) != NGX_OK)
    {
        ngx_http_users_redis_finish(call, NULL,
                                    NGX_HTTP_USERS_REDIS_UNAVAILABLE);
    }
}


/*
 * Again after a pause that doubles, jittered. A pause that would end past
 * the deadline ends the call now with 503: the node cannot answer in
 * time, which is not the same as a slow one (504).
 */

static void
ngx_http_users_redis_later(ngx_http_users_redis_call_t *call)
{
    ngx_msec_t  delay;

    call->pause = call->pause
                  ? ngx_min(call->pause * 2, NGX_HTTP_USERS_REDIS_PAUSE_MAX)
                  : NGX_HTTP_USERS_REDIS_PAUSE_MIN;

    delay = call->pause / 2 + ngx_random() % (call->pause + 1);

    if ((ngx_msec_int_t) (call->timer.timer.key - ngx_current_msec)
        <= (ngx_msec_int_t) delay)
    {
        ngx_http_users_redis_finish(call, NULL,
                                    NGX_HTTP_USERS_REDIS_UNAVAILABLE);
        return;
    }

    ngx_add_timer(&call->wait, delay);
}


static void
ngx_http_users_redis_wait_handler(ngx_event_t *ev)
{
    ngx_http_users_redis_call_t  *call = ev->data;

    if (ngx_http_users_redis_worker.closing) {
        ngx_http_users_redis_finish(call, NULL,
                                    NGX_HTTP_USERS_REDIS_UNAVAILABLE);
        return;
    }

    ngx_http_users_redis_again(call);
}


/* the call is in no connection: it ends here */

static void
ngx_http_users_redis_finish(ngx_http_users_redis_call_t *call,
    redisReply *reply, ngx_int_t status)
{
    void                             *data;
    ngx_http_users_redis_node_t      *node;
    ngx_http_users_redis_ask_pt       ask;
    ngx_http_users_redis_handler_pt   handler;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    if (call->wait.timer_set) {
        ngx_del_timer(&call->wait);
    }

    handler = call->handler;
    ask = call->ask;
    data = call->data;
    node = call->node;

    ngx_free(call);

    if (ask) {
        ask(node, reply, data);

    } else if (handler) {
        handler(data, reply, status);
    }
}


void
ngx_http_users_redis_cancel(ngx_http_users_redis_call_t *call)
{
    call->handler = NULL;
    call->ask = NULL;
    call->data = NULL;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    if (call->peer == NULL) {
        /* waiting to be sent again: nobody else holds it */

        if (call->wait.timer_set) {
            ngx_del_timer(&call->wait);
        }

        ngx_free(call);
    }

    /* else hiredis holds the call: its last callback frees it */
}


static void
ngx_http_users_redis_call_timeout(ngx_event_t *ev)
{
    ngx_http_users_redis_call_t      *call = ev->data;

    void                             *data;
    ngx_http_users_redis_node_t      *node;
    ngx_http_users_redis_peer_t      *peer;
    ngx_http_users_redis_ask_pt       ask;
    ngx_http_users_redis_handler_pt   handler;

    handler = call->handler;
    ask = call->ask;
    data = call->data;
    node = call->node;
    peer = call->peer;

    call->handler = NULL;
    call->ask = NULL;

    if (peer == NULL) {
        if (call->wait.timer_set) {
            ngx_del_timer(&call->wait);
        }

        ngx_free(call);
    }

    if (handler) {
        handler(data, NULL, NGX_HTTP_USERS_REDIS_TIMEDOUT);

    } else if (ask) {
        ask(node, NULL, data);
    }

    /*
     * replies on a connection come in order: all that wait behind this
     * one are late too; the reset frees the call through its callback
     */

    if (peer != NULL && peer->ac != NULL) {
        ngx_http_users_redis_peer_reset(peer, NGX_HTTP_USERS_REDIS_TIMEDOUT,
                                        "timed out");
    }
}
