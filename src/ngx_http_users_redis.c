
/*
 * ngx_http_users_module: Redis connections of a worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_redis.h"


#define NGX_HTTP_USERS_REDIS_BACKOFF_MIN   100
/* at most 1 s (with jitter) between Redis coming back and serving again */
#define NGX_HTTP_USERS_REDIS_BACKOFF_MAX   800


typedef enum {
    NGX_HTTP_USERS_REDIS_DOWN = 0,
    NGX_HTTP_USERS_REDIS_CONNECTING,
    NGX_HTTP_USERS_REDIS_UP
} ngx_http_users_redis_state_e;


typedef struct {
    redisAsyncContext             *ac;      /* NULL while down */
    ngx_event_t                    retry;      /* backoff, connect timeout */
    ngx_msec_t                     backoff;
    ngx_http_users_redis_state_e   state;
    ngx_int_t                      fail_status;
    ngx_uint_t                     flushing;   /* in the write handler */
} ngx_http_users_redis_peer_t;


struct ngx_http_users_redis_call_s {
    ngx_http_users_redis_handler_pt   handler;    /* NULL: detached */
    void                             *data;
    ngx_http_users_redis_peer_t      *peer;
    ngx_event_t                       timer;
};


static ngx_int_t ngx_http_users_redis_parse_option(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *opt);
static ngx_int_t ngx_http_users_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *addr);

static void ngx_http_users_redis_connect(ngx_http_users_redis_peer_t *peer);
static ngx_int_t ngx_http_users_redis_attach(
    ngx_http_users_redis_peer_t *peer, redisAsyncContext *ac);
static void ngx_http_users_redis_handshake(ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_reset(ngx_http_users_redis_peer_t *peer,
    ngx_int_t status, const char *why);
static void ngx_http_users_redis_schedule(ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_users_redis_incident(const char *what,
    ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_healthy(ngx_http_users_redis_peer_t *peer);

static void ngx_http_users_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_users_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_http_users_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_users_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_users_redis_call_timeout(ngx_event_t *ev);

static void ngx_http_users_redis_read_handler(ngx_event_t *ev);
static void ngx_http_users_redis_write_handler(ngx_event_t *ev);
static void ngx_http_users_redis_add_read(void *privdata);
static void ngx_http_users_redis_del_read(void *privdata);
static void ngx_http_users_redis_add_write(void *privdata);
static void ngx_http_users_redis_del_write(void *privdata);
static void ngx_http_users_redis_cleanup(void *privdata);
static void ngx_http_users_redis_event(ngx_event_t *ev, ngx_uint_t event,
    ngx_uint_t on);


/* per worker */
static ngx_http_users_redis_conf_t  *ngx_http_users_redis_conf;
static ngx_http_users_redis_peer_t  *ngx_http_users_redis_peers;
static ngx_uint_t                    ngx_http_users_redis_next;
static ngx_uint_t                    ngx_http_users_redis_failing;


char *
ngx_http_users_redis_parse(ngx_conf_t *cf, ngx_http_users_redis_conf_t *rcf)
{
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    rcf->name = value[1];
    rcf->db = 0;
    rcf->connections = 2;
    rcf->connect_timeout = 1000;
    rcf->timeout = 1000;

    if (ngx_http_users_redis_parse_addr(cf, rcf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_users_redis_parse_option(cf, rcf, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *addr)
{
    u_char     *p;
    ngx_url_t   u;

    if (addr->len > 5 && ngx_strncmp(addr->data, "unix:", 5) == 0) {
        rcf->unix_path.len = addr->len - 5;
        rcf->unix_path.data = ngx_pnalloc(cf->pool, addr->len - 4);
        if (rcf->unix_path.data == NULL) {
            return NGX_ERROR;
        }
        ngx_cpystrn(rcf->unix_path.data, addr->data + 5, addr->len - 4);
        return NGX_OK;
    }

    /* names are resolved here, once: hiredis would block on them */

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *addr;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\"%s%s", addr,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    rcf->host.data = p;
    rcf->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                  p, NGX_SOCKADDR_STRLEN, 0);
    p[rcf->host.len] = '\0';
    rcf->port = u.port;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_redis_parse_option(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf, ngx_str_t *opt)
{
    u_char     *eq;
    ngx_int_t   n;
    ngx_str_t   name, val;

    eq = ngx_strlchr(opt->data, opt->data + opt->len, '=');
    if (eq == NULL || eq == opt->data) {
        goto invalid;
    }

    name.data = opt->data;
    name.len = eq - opt->data;
    val.data = eq + 1;
    val.len = opt->data + opt->len - val.data;

    if (name.len == 8 && ngx_strncmp(name.data, "password", 8) == 0) {
        rcf->password = val;
        return NGX_OK;
    }

    if (name.len == 4 && ngx_strncmp(name.data, "user", 4) == 0) {
        rcf->user = val;
        return NGX_OK;
    }

    if (name.len == 2 && ngx_strncmp(name.data, "db", 2) == 0) {
        n = ngx_atoi(val.data, val.len);
        if (n == NGX_ERROR || n > 65535) {
            goto invalid;
        }
        rcf->db = n;
        return NGX_OK;
    }

    if (name.len == 11 && ngx_strncmp(name.data, "connections", 11) == 0) {
        n = ngx_atoi(val.data, val.len);
        if (n == NGX_ERROR || n < 1 || n > 64) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"connections\" must be from 1 to 64 in \"%V\"",
                               opt);
            return NGX_ERROR;
        }
        rcf->connections = n;
        return NGX_OK;
    }

    if (name.len == 15 && ngx_strncmp(name.data, "connect_timeout", 15) == 0) {
        rcf->connect_timeout = ngx_parse_time(&val, 0);
        if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
            || rcf->connect_timeout == 0)
        {
            goto invalid;
        }
        return NGX_OK;
    }

    if (name.len == 7 && ngx_strncmp(name.data, "timeout", 7) == 0) {
        rcf->timeout = ngx_parse_time(&val, 0);
        if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
            goto invalid;
        }
        return NGX_OK;
    }

invalid:

    /* the value may be a password: name only what was wrong */

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%*s\"",
                       eq ? (size_t) (eq - opt->data + 1) : opt->len,
                       opt->data);
    return NGX_ERROR;
}


ngx_int_t
ngx_http_users_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_users_redis_conf_t *rcf)
{
    ngx_uint_t                    i;
    ngx_http_users_redis_peer_t  *peer;

    ngx_http_users_redis_conf = rcf;
    ngx_http_users_redis_failing = 0;

    ngx_http_users_redis_peers = ngx_pcalloc(cycle->pool,
                                 rcf->connections * sizeof(*peer));
    if (ngx_http_users_redis_peers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < rcf->connections; i++) {
        peer = &ngx_http_users_redis_peers[i];

        peer->backoff = NGX_HTTP_USERS_REDIS_BACKOFF_MIN;
        peer->fail_status = NGX_HTTP_USERS_REDIS_UNAVAILABLE;
        peer->retry.handler = ngx_http_users_redis_retry_handler;
        peer->retry.data = peer;
        peer->retry.log = cycle->log;
        peer->retry.cancelable = 1;

        ngx_http_users_redis_connect(peer);
    }

    return NGX_OK;
}


void
ngx_http_users_redis_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    redisAsyncContext            *ac;
    ngx_http_users_redis_peer_t  *peer;

    if (ngx_http_users_redis_peers == NULL) {
        return;
    }

    for (i = 0; i < ngx_http_users_redis_conf->connections; i++) {
        peer = &ngx_http_users_redis_peers[i];

        if (peer->retry.timer_set) {
            ngx_del_timer(&peer->retry);
        }

        ac = peer->ac;
        if (ac != NULL) {
            peer->ac = NULL;
            peer->state = NGX_HTTP_USERS_REDIS_DOWN;
            redisAsyncFree(ac);
        }
    }

    ngx_http_users_redis_peers = NULL;
}


ngx_int_t
ngx_http_users_redis_send(ngx_http_users_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_users_redis_handler_pt handler, void *data,
    ngx_http_users_redis_call_t **callp)
{
    ngx_uint_t                    i, k, count;
    ngx_http_users_redis_call_t  *call;
    ngx_http_users_redis_peer_t  *peer, *p;

    if (ngx_http_users_redis_peers == NULL) {
        return NGX_DECLINED;
    }

    /* round robin over connections that are up, else one connecting */

    peer = NULL;
    count = ngx_http_users_redis_conf->connections;

    for (k = 0; k < count; k++) {
        p = &ngx_http_users_redis_peers[(ngx_http_users_redis_next + k)
                                        % count];

        if (p->state == NGX_HTTP_USERS_REDIS_UP) {
            peer = p;
            ngx_http_users_redis_next += k + 1;
            break;
        }

        if (p->state == NGX_HTTP_USERS_REDIS_CONNECTING && peer == NULL) {
            peer = p;
        }
    }

    if (peer == NULL) {
        /* every connection is waiting out its backoff: fail fast */
        return NGX_DECLINED;
    }

    call = ngx_alloc(sizeof(ngx_http_users_redis_call_t), ngx_cycle->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(call, sizeof(ngx_http_users_redis_call_t));
    call->handler = handler;
    call->data = data;
    call->peer = peer;
    call->timer.handler = ngx_http_users_redis_call_timeout;
    call->timer.data = call;
    call->timer.log = ngx_cycle->log;

    for (i = 0; i < n; i++) {
        if (redisAsyncCommandArgv(peer->ac,
                                  i == n - 1 ? ngx_http_users_redis_reply
                                             : NULL,
                                  i == n - 1 ? call : NULL,
                                  cmds[i].argc, cmds[i].argv,
                                  cmds[i].argvlen)
            != REDIS_OK)
        {
            /* only when the context is being torn down */
            ngx_free(call);
            return NGX_DECLINED;
        }
    }

    ngx_add_timer(&call->timer, ngx_http_users_redis_conf->timeout);

    *callp = call;

    return NGX_OK;
}


void
ngx_http_users_redis_cancel(ngx_http_users_redis_call_t *call)
{
    /* hiredis still owns the call: its callback frees it */

    call->handler = NULL;
    call->data = NULL;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }
}


static void
ngx_http_users_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                       *reply = r;
    ngx_int_t                         status;
    ngx_http_users_redis_call_t      *call = privdata;
    ngx_http_users_redis_peer_t      *peer;
    ngx_http_users_redis_handler_pt   handler;
    void                             *data;

    if (call->timer.timer_set) {
        ngx_del_timer(&call->timer);
    }

    handler = call->handler;
    data = call->data;
    peer = call->peer;

    ngx_free(call);

    if (reply == NULL) {
        status = peer->fail_status;

    } else {
        status = NGX_OK;

        if (ngx_http_users_redis_failing) {
            ngx_http_users_redis_healthy(peer);
        }
    }

    if (handler != NULL) {
        handler(data, reply, status);
    }
}


static void
ngx_http_users_redis_call_timeout(ngx_event_t *ev)
{
    ngx_http_users_redis_call_t      *call = ev->data;
    ngx_http_users_redis_peer_t      *peer;
    ngx_http_users_redis_handler_pt   handler;
    void                             *data;

    handler = call->handler;
    data = call->data;
    peer = call->peer;

    call->handler = NULL;

    if (handler != NULL) {
        handler(data, NULL, NGX_HTTP_USERS_REDIS_TIMEDOUT);
    }

    /*
     * replies on a connection come in order: all that wait behind this
     * one are late too; the reset frees the call through its callback
     */

    if (peer->ac != NULL) {
        ngx_http_users_redis_reset(peer, NGX_HTTP_USERS_REDIS_TIMEDOUT,
                                   "timed out");
    }
}


static void
ngx_http_users_redis_connect(ngx_http_users_redis_peer_t *peer)
{
    redisAsyncContext            *ac;
    ngx_http_users_redis_conf_t  *rcf;

    rcf = ngx_http_users_redis_conf;

    if (rcf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) rcf->unix_path.data);

    } else {
        ac = redisAsyncConnect((char *) rcf->host.data, rcf->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "redis %V: out of memory", &rcf->name);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    if (ac->err) {
        ngx_http_users_redis_incident(ac->errstr, peer);
        redisAsyncFree(ac);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    if (ngx_http_users_redis_attach(peer, ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    peer->ac = ac;
    peer->state = NGX_HTTP_USERS_REDIS_CONNECTING;

    redisAsyncSetConnectCallback(ac, ngx_http_users_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_http_users_redis_disconnected);

    /* queued now, written as soon as the socket connects */
    ngx_http_users_redis_handshake(peer);

    ngx_add_timer(&peer->retry, rcf->connect_timeout);
}


static ngx_int_t
ngx_http_users_redis_attach(ngx_http_users_redis_peer_t *peer,
    redisAsyncContext *ac)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, ngx_cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;
    c->log = ngx_cycle->log;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->read->handler = ngx_http_users_redis_read_handler;
    c->write->handler = ngx_http_users_redis_write_handler;

    ac->data = peer;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_users_redis_add_read;
    ac->ev.delRead = ngx_http_users_redis_del_read;
    ac->ev.addWrite = ngx_http_users_redis_add_write;
    ac->ev.delWrite = ngx_http_users_redis_del_write;
    ac->ev.cleanup = ngx_http_users_redis_cleanup;

    return NGX_OK;
}


static void
ngx_http_users_redis_handshake(ngx_http_users_redis_peer_t *peer)
{
    u_char                        db[NGX_INT_T_LEN];
    const char                   *argv[3];
    size_t                        argvlen[3];
    ngx_http_users_redis_conf_t  *rcf;

    rcf = ngx_http_users_redis_conf;

    if (rcf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;

        if (rcf->user.len) {
            argv[1] = (char *) rcf->user.data;
            argvlen[1] = rcf->user.len;
            argv[2] = (char *) rcf->password.data;
            argvlen[2] = rcf->password.len;

        } else {
            argv[1] = (char *) rcf->password.data;
            argvlen[1] = rcf->password.len;
        }

        redisAsyncCommandArgv(peer->ac, ngx_http_users_redis_setup_reply,
                              (void *) "AUTH", rcf->user.len ? 3 : 2,
                              argv, argvlen);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        redisAsyncCommandArgv(peer->ac, ngx_http_users_redis_setup_reply,
                              (void *) "SELECT", 2, argv, argvlen);
    }

    argv[0] = "PING";
    argvlen[0] = 4;

    redisAsyncCommandArgv(peer->ac, ngx_http_users_redis_setup_reply,
                          (void *) "PING", 1, argv, argvlen);
}


static void
ngx_http_users_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    char                         *cmd = privdata;
    u_char                        why[256];
    redisReply                   *reply = r;
    ngx_http_users_redis_peer_t  *peer;

    peer = ac->data;

    if (reply == NULL || peer == NULL || peer->ac != ac) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis's text names no secret: the password is not echoed */
        ngx_snprintf(why, sizeof(why) - 1, "%s failed: %*s%Z", cmd,
                     (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_users_redis_reset(peer, NGX_HTTP_USERS_REDIS_UNAVAILABLE,
                                   (char *) why);
        return;
    }

    if (cmd[0] == 'P') {
        peer->backoff = NGX_HTTP_USERS_REDIS_BACKOFF_MIN;

        if (ngx_http_users_redis_failing) {
            ngx_http_users_redis_healthy(peer);
        }
    }
}


static void
ngx_http_users_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_users_redis_peer_t  *peer;

    peer = ac->data;

    if (peer == NULL || peer->ac != ac) {
        return;
    }

    if (peer->retry.timer_set) {
        ngx_del_timer(&peer->retry);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback returns */
        ngx_http_users_redis_incident(ac->errstr, peer);
        peer->ac = NULL;
        peer->state = NGX_HTTP_USERS_REDIS_DOWN;
        ngx_http_users_redis_schedule(peer);
        return;
    }

    peer->state = NGX_HTTP_USERS_REDIS_UP;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "users redis: connection %p up", peer);
}


static void
ngx_http_users_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_http_users_redis_peer_t  *peer;

    peer = ac->data;

    if (peer == NULL || peer->ac != ac) {
        /* we reset it ourselves */
        return;
    }

    ngx_http_users_redis_incident(status == REDIS_OK ? "connection closed"
                                                     : ac->errstr, peer);

    peer->ac = NULL;
    peer->state = NGX_HTTP_USERS_REDIS_DOWN;

    ngx_http_users_redis_schedule(peer);
}


static void
ngx_http_users_redis_reset(ngx_http_users_redis_peer_t *peer,
    ngx_int_t status, const char *why)
{
    redisAsyncContext  *ac;

    if (why != NULL) {
        ngx_http_users_redis_incident(why, peer);
    }

    if (peer->retry.timer_set) {
        ngx_del_timer(&peer->retry);
    }

    ac = peer->ac;
    peer->ac = NULL;
    peer->state = NGX_HTTP_USERS_REDIS_DOWN;

    /* calls every pending callback with a NULL reply: they see status */

    peer->fail_status = status;
    redisAsyncFree(ac);
    peer->fail_status = NGX_HTTP_USERS_REDIS_UNAVAILABLE;

    ngx_http_users_redis_schedule(peer);
}


static void
ngx_http_users_redis_schedule(ngx_http_users_redis_peer_t *peer)
{
    ngx_msec_t  delay;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* exponential backoff with jitter: 75% to 125% of the step */

    delay = peer->backoff * 3 / 4 + (ngx_random() % (peer->backoff / 2 + 1));

    peer->backoff = ngx_min(peer->backoff * 2,
                            NGX_HTTP_USERS_REDIS_BACKOFF_MAX);

    if (peer->retry.timer_set) {
        ngx_del_timer(&peer->retry);
    }

    ngx_add_timer(&peer->retry, delay);
}


static void
ngx_http_users_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_users_redis_peer_t  *peer = ev->data;

    if (peer->state == NGX_HTTP_USERS_REDIS_CONNECTING) {
        ngx_http_users_redis_reset(peer, NGX_HTTP_USERS_REDIS_UNAVAILABLE,
                                   "connect timed out");
        return;
    }

    if (peer->state == NGX_HTTP_USERS_REDIS_DOWN) {
        ngx_http_users_redis_connect(peer);
    }
}


static void
ngx_http_users_redis_incident(const char *what,
    ngx_http_users_redis_peer_t *peer)
{
    /* one line per incident and worker, not one per request */

    if (ngx_http_users_redis_failing) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "users redis: connection %p: %s", peer, what);
        return;
    }

    ngx_http_users_redis_failing = 1;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "redis %V: %s; retrying with backoff",
                  &ngx_http_users_redis_conf->name, what);
}


static void
ngx_http_users_redis_healthy(ngx_http_users_redis_peer_t *peer)
{
    ngx_http_users_redis_failing = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "redis %V: answering again",
                  &ngx_http_users_redis_conf->name);
}


static void
ngx_http_users_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


static void
ngx_http_users_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c = ev->data;
    redisAsyncContext            *ac;
    ngx_http_users_redis_peer_t  *peer;

    ac = c->data;
    peer = ac->data;

    peer->flushing = 1;
    redisAsyncHandleWrite(ac);

    /* the context may be gone: the peer is not (it is per worker) */
    peer->flushing = 0;
}


/*
 * The hiredis event adapter: privdata is the ngx_connection_t wrapping
 * hiredis's socket. Level-triggered events: hiredis reads at most 16 KiB
 * a call, so an edge-triggered event could strand data in the socket.
 */

static void
ngx_http_users_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_users_redis_event(c->read, NGX_READ_EVENT, 1);
}


static void
ngx_http_users_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_users_redis_event(c->read, NGX_READ_EVENT, 0);
}


/*
 * Commands are not written at once: the write is posted to the end of
 * this event loop iteration, so the commands of every request handled in
 * it leave in one write(), with no epoll_ctl(). Only a write that would
 * block waits for a write event.
 */

static void
ngx_http_users_redis_add_write(void *privdata)
{
    ngx_connection_t             *c = privdata;
    redisAsyncContext            *ac;
    ngx_http_users_redis_peer_t  *peer;

    ac = c->data;
    peer = ac->data;

    if (peer->flushing || !(ac->c.flags & REDIS_CONNECTED)) {
        ngx_http_users_redis_event(c->write, NGX_WRITE_EVENT, 1);
        return;
    }

    if (!c->write->active && !c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_users_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_http_users_redis_event(c->write, NGX_WRITE_EVENT, 0);
}


static void
ngx_http_users_redis_cleanup(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_users_redis_event(c->read, NGX_READ_EVENT, 0);
    ngx_http_users_redis_event(c->write, NGX_WRITE_EVENT, 0);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* hiredis closes the descriptor itself: don't close it twice */
    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}


static void
ngx_http_users_redis_event(ngx_event_t *ev, ngx_uint_t event, ngx_uint_t on)
{
    if (on && !ev->active) {
        if (ngx_add_event(ev, event, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                          "users redis: adding an event failed");
        }

    } else if (!on && ev->active) {
        ngx_del_event(ev, event, 0);
    }
}
