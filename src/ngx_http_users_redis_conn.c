
/*
 * ngx_http_users_module: the Redis nodes of a worker and their
 * connections.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_redis_conn.h"
#include "ngx_http_users_cluster.h"
#include "ngx_http_users_sentinel.h"


#define NGX_HTTP_USERS_REDIS_BACKOFF_MIN   100
/* at most 1 s (with jitter) between Redis coming back and serving again */
#define NGX_HTTP_USERS_REDIS_BACKOFF_MAX   800


static u_char *ngx_http_users_redis_copy(ngx_str_t *dst, ngx_str_t *src,
    u_char *p);
static ngx_http_users_redis_node_t *ngx_http_users_redis_node_find(
    ngx_http_users_redis_addr_t *addr, ngx_uint_t kind);
static ngx_int_t ngx_http_users_redis_peers(ngx_http_users_redis_node_t *node);
static void ngx_http_users_redis_connect(ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_handshake(ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_auth(ngx_http_users_redis_peer_t *peer,
    ngx_str_t *user, ngx_str_t *password);
static void ngx_http_users_redis_setup(ngx_http_users_redis_peer_t *peer,
    const char *what, int argc, const char **argv, const size_t *argvlen);
static void ngx_http_users_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_int_t ngx_http_users_redis_role(redisReply *reply);
static void ngx_http_users_redis_schedule(ngx_http_users_redis_peer_t *peer);
static void ngx_http_users_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_users_redis_incident(const char *what,
    ngx_http_users_redis_peer_t *peer);

static void ngx_http_users_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_users_redis_disconnected(const redisAsyncContext *ac,
    int status);

static void ngx_http_users_redis_read_handler(ngx_event_t *ev);
static void ngx_http_users_redis_write_handler(ngx_event_t *ev);
static void ngx_http_users_redis_add_read(void *privdata);
static void ngx_http_users_redis_del_read(void *privdata);
static void ngx_http_users_redis_add_write(void *privdata);
static void ngx_http_users_redis_del_write(void *privdata);
static void ngx_http_users_redis_cleanup(void *privdata);
static void ngx_http_users_redis_event(ngx_event_t *ev, ngx_uint_t event,
    ngx_uint_t on);


ngx_http_users_redis_worker_t  ngx_http_users_redis_worker;


/*
 * The node at this address, made on first sight. Nodes live as long as
 * the worker: calls and requests refer to them by index, and a cluster
 * has few.
 */

ngx_http_users_redis_node_t *
ngx_http_users_redis_node(ngx_http_users_redis_addr_t *addr, ngx_uint_t kind)
{
    u_char                         *p;
    size_t                          len;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    node = ngx_http_users_redis_node_find(addr, kind);
    if (node != NULL || w->nodes == NULL) {
        return node;
    }

    if (w->nnodes == NGX_HTTP_USERS_REDIS_MAX_NODES) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "redis: more than %d nodes: %V ignored",
                      NGX_HTTP_USERS_REDIS_MAX_NODES, &addr->name);
        return NULL;
    }

    len = addr->name.len + 1 + addr->host.len + 1 + addr->unix_path.len + 1;

    node = ngx_pcalloc(ngx_cycle->pool, sizeof(*node) + len);
    if (node == NULL) {
        return NULL;
    }

    p = (u_char *) (node + 1);

    /* each NUL-terminated; an empty one (host or path) has no data */

    p = ngx_http_users_redis_copy(&node->name, &addr->name, p);
    node->addr.name = node->name;
    p = ngx_http_users_redis_copy(&node->addr.host, &addr->host, p);
    (void) ngx_http_users_redis_copy(&node->addr.unix_path,
                                     &addr->unix_path, p);

    node->addr.port = addr->port;
    node->kind = kind;
    node->index = w->nnodes;

    w->nodes[w->nnodes++] = node;

    return node;
}


static u_char *
ngx_http_users_redis_copy(ngx_str_t *dst, ngx_str_t *src, u_char *p)
{
    dst->data = p;
    dst->len = src->len;

    if (src->len) {
        p = ngx_cpymem(p, src->data, src->len);
    }

    *p++ = '\0';

    return p;
}


static ngx_http_users_redis_node_t *
ngx_http_users_redis_node_find(ngx_http_users_redis_addr_t *addr,
    ngx_uint_t kind)
{
    ngx_uint_t                      i;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    for (i = 0; i < w->nnodes; i++) {
        node = w->nodes[i];

        if (node->kind == kind
            && node->addr.port == addr->port
            && node->addr.host.len == addr->host.len
            && node->addr.unix_path.len == addr->unix_path.len
            && (addr->host.len == 0
                || ngx_strncmp(node->addr.host.data, addr->host.data,
                               addr->host.len) == 0)
            && (addr->unix_path.len == 0
                || ngx_strncmp(node->addr.unix_path.data,
                               addr->unix_path.data, addr->unix_path.len)
                   == 0))
        {
            return node;
        }
    }

    return NULL;
}


/*
 * "ip:port" as Redis names a node (MOVED, ASK, slot maps, Sentinel): IP
 * literals only, nothing is resolved at run time. NULL otherwise.
 */

ngx_http_users_redis_node_t *
ngx_http_users_redis_node_by_name(u_char *name, size_t len)
{
    u_char                       host[NGX_SOCKADDR_STRLEN + 1], *colon;
    size_t                       hlen;
    ngx_int_t                    port;
    ngx_http_users_redis_addr_t  addr;

    for (colon = name + len; colon > name; colon--) {
        if (colon[-1] == ':') {
            break;
        }
    }

    if (colon == name || colon == name + len) {
        return NULL;
    }

    port = ngx_atoi(colon, name + len - colon);
    hlen = colon - 1 - name;

    if (port < 1 || port > 65535 || hlen == 0 || hlen > NGX_SOCKADDR_STRLEN) {
        return NULL;
    }

    ngx_memcpy(host, name, hlen);
    host[hlen] = '\0';

    if (ngx_inet_addr(host, hlen) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr(host, hlen, NULL) != NGX_OK
#endif
        )
    {
        return NULL;
    }

    ngx_memzero(&addr, sizeof(ngx_http_users_redis_addr_t));

    addr.name.data = name;
    addr.name.len = len;
    addr.host.data = host;
    addr.host.len = hlen;
    addr.port = (int) port;

    return ngx_http_users_redis_node(&addr, NGX_HTTP_USERS_REDIS_DATA);
}


/* 1: a call could be sent now; 0: every connection waits out a backoff */

ngx_int_t
ngx_http_users_redis_node_usable(ngx_http_users_redis_node_t *node)
{
    ngx_uint_t                    i, n;
    ngx_http_users_redis_peer_t  *peer;

    if (node->peers == NULL) {
        return 1;
    }

    n = ngx_http_users_redis_worker.conf->connections;

    for (i = 0; i < n; i++) {
        peer = &node->peers[i];

        if (peer->state != NGX_HTTP_USERS_REDIS_DOWN || !peer->waiting) {
            return 1;
        }
    }

    return 0;
}


/*
 * A connection to send on: a ready one (round robin), else one on its way
 * (connecting, or up and not yet through ROLE): the caller checks
 * ngx_http_users_redis_peer_ready() before it sends a command there.
 */

ngx_http_users_redis_peer_t *
ngx_http_users_redis_node_peer(ngx_http_users_redis_node_t *node)
{
    ngx_uint_t                    k, n;
    ngx_http_users_redis_peer_t  *peer, *p;

    if (node->peers == NULL && ngx_http_users_redis_peers(node) != NGX_OK) {
        return NULL;
    }

    n = ngx_http_users_redis_worker.conf->connections;

    for (k = 0; k < n; k++) {
        p = &node->peers[(node->next + k) % n];

        if (ngx_http_users_redis_peer_ready(p)) {
            node->next += k + 1;
            return p;
        }
    }

    for ( ;; ) {
        peer = NULL;

        for (k = 0; k < n; k++) {
            p = &node->peers[k];

            if (p->state != NGX_HTTP_USERS_REDIS_DOWN) {
                return p;
            }

            if (p->state == NGX_HTTP_USERS_REDIS_DOWN && !p->waiting) {
                peer = p;
            }
        }

        if (peer == NULL) {
            return NULL;
        }

        /* opened on first use, or again once wanted */
        ngx_http_users_redis_node_open(node);
    }
}


/*
 * A primary named by Sentinel is sent nothing before its ROLE said
 * master: a command pipelined behind the check would reach a replica.
 * Otherwise commands may queue on a connection still connecting.
 */

ngx_uint_t
ngx_http_users_redis_peer_ready(ngx_http_users_redis_peer_t *peer)
{
    if (peer->node->verify) {
        return peer->state == NGX_HTTP_USERS_REDIS_UP && peer->verified;
    }

    return peer->state != NGX_HTTP_USERS_REDIS_DOWN;
}


static ngx_int_t
ngx_http_users_redis_peers(ngx_http_users_redis_node_t *node)
{
    ngx_uint_t                    i, n;
    ngx_http_users_redis_peer_t  *peer;

    n = ngx_http_users_redis_worker.conf->connections;

    node->peers = ngx_pcalloc(ngx_cycle->pool,
                              n * sizeof(ngx_http_users_redis_peer_t));
    if (node->peers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        peer = &node->peers[i];

        peer->node = node;
        peer->backoff = NGX_HTTP_USERS_REDIS_BACKOFF_MIN;
        peer->fail_status = NGX_HTTP_USERS_REDIS_UNAVAILABLE;
        peer->retry.handler = ngx_http_users_redis_retry_handler;
        peer->retry.data = peer;
        peer->retry.log = ngx_http_users_redis_worker.log;
        peer->retry.cancelable = 1;
    }

    return NGX_OK;
}


/* connects every connection that is idle (not waiting out a backoff) */

void
ngx_http_users_redis_node_open(ngx_http_users_redis_node_t *node)
{
    ngx_uint_t                    i, n;
    ngx_http_users_redis_peer_t  *peer;

    if (node->peers == NULL && ngx_http_users_redis_peers(node) != NGX_OK) {
        return;
    }

    n = ngx_http_users_redis_worker.conf->connections;

    for (i = 0; i < n; i++) {
        peer = &node->peers[i];

        if (peer->state == NGX_HTTP_USERS_REDIS_DOWN && !peer->waiting) {
            ngx_http_users_redis_connect(peer);
        }
    }
}


void
ngx_http_users_redis_node_close(ngx_http_users_redis_node_t *node)
{
    ngx_uint_t                    i, n;
    redisAsyncContext            *ac;
    ngx_http_users_redis_peer_t  *peer;

    if (node->peers == NULL) {
        return;
    }

    n = ngx_http_users_redis_worker.conf->connections;

    for (i = 0; i < n; i++) {
        peer = &node->peers[i];

        if (peer->retry.timer_set) {
            ngx_del_timer(&peer->retry);
        }

        peer->waiting = 0;

        ac = peer->ac;
        if (ac != NULL) {
            peer->ac = NULL;
            peer->state = NGX_HTTP_USERS_REDIS_DOWN;
            redisAsyncFree(ac);
        }
    }
}


void
ngx_http_users_redis_conn_exit(void)
{
    ngx_uint_t                      i;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    for (i = 0; i < w->nnodes; i++) {
        ngx_http_users_redis_node_close(w->nodes[i]);
    }
}


static void
ngx_http_users_redis_connect(ngx_http_users_redis_peer_t *peer)
{
    redisAsyncContext            *ac;
    ngx_http_users_redis_addr_t  *addr;

    addr = &peer->node->addr;

    if (addr->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) addr->unix_path.data);

    } else {
        ac = redisAsyncConnect((char *) addr->host.data, addr->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "redis %V: out of memory", &peer->node->name);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    if (ac->err) {
        ngx_http_users_redis_incident(ac->errstr, peer);
        redisAsyncFree(ac);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    if (ngx_http_users_redis_attach(ac, peer) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_users_redis_schedule(peer);
        return;
    }

    peer->ac = ac;
    peer->state = NGX_HTTP_USERS_REDIS_CONNECTING;
    peer->verified = 0;

    redisAsyncSetConnectCallback(ac, ngx_http_users_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_http_users_redis_disconnected);

    /* queued now, written as soon as the socket connects */
    ngx_http_users_redis_handshake(peer);

    ngx_add_timer(&peer->retry, ngx_http_users_redis_worker.conf
                                ->connect_timeout);
}


/* wraps hiredis's socket in an ngx_connection_t; data is a peer */

ngx_int_t
ngx_http_users_redis_attach(redisAsyncContext *ac, void *data)
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

    ac->data = data;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_users_redis_add_read;
    ac->ev.delRead = ngx_http_users_redis_del_read;
    ac->ev.addWrite = ngx_http_users_redis_add_write;
    ac->ev.delWrite = ngx_http_users_redis_del_write;
    ac->ev.cleanup = ngx_http_users_redis_cleanup;

    return NGX_OK;
}


/*
 * AUTH, SELECT (one Redis), READONLY (a cluster: replicas then answer
 * reads of their primary's slots; harmless on a primary), ROLE (the
 * primary Sentinel named must say so), then PING, whose answer makes the
 * node healthy.
 */

static void
ngx_http_users_redis_handshake(ngx_http_users_redis_peer_t *peer)
{
    u_char                        db[NGX_INT_T_LEN];
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_users_redis_node_t  *node;
    ngx_http_users_redis_conf_t  *rcf;

    rcf = ngx_http_users_redis_worker.conf;
    node = peer->node;

    if (node->kind == NGX_HTTP_USERS_REDIS_SENTINEL_NODE) {
        ngx_http_users_redis_auth(peer, NULL, &rcf->sentinel_password);

    } else {
        ngx_http_users_redis_auth(peer, &rcf->user, &rcf->password);

        if (rcf->db) {
            argv[0] = "SELECT";
            argvlen[0] = 6;
            argv[1] = (char *) db;
            argvlen[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

            ngx_http_users_redis_setup(peer, "SELECT", 2, argv, argvlen);
        }

        if (rcf->mode == NGX_HTTP_USERS_REDIS_CLUSTER) {
            argv[0] = "READONLY";
            argvlen[0] = 8;
            ngx_http_users_redis_setup(peer, "READONLY", 1, argv, argvlen);
        }

        if (node->verify) {
            argv[0] = "ROLE";
            argvlen[0] = 4;
            ngx_http_users_redis_setup(peer, "ROLE", 1, argv, argvlen);
        }
    }

    argv[0] = "PING";
    argvlen[0] = 4;

    ngx_http_users_redis_setup(peer, "PING", 1, argv, argvlen);
}


static void
ngx_http_users_redis_auth(ngx_http_users_redis_peer_t *peer, ngx_str_t *user,
    ngx_str_t *password)
{
    int          argc;
    const char  *argv[3];
    size_t       argvlen[3];

    if (password->len == 0) {
        return;
    }

    argc = 0;
    argv[argc] = "AUTH";
    argvlen[argc++] = 4;

    if (user && user->len) {
        argv[argc] = (char *) user->data;
        argvlen[argc++] = user->len;
    }

    argv[argc] = (char *) password->data;
    argvlen[argc++] = password->len;

    ngx_http_users_redis_setup(peer, "AUTH", argc, argv, argvlen);
}


static void
ngx_http_users_redis_setup(ngx_http_users_redis_peer_t *peer,
    const char *what, int argc, const char **argv, const size_t *argvlen)
{
    redisAsyncCommandArgv(peer->ac, ngx_http_users_redis_setup_reply,
                          (void *) what, argc, argv, argvlen);
}


static void
ngx_http_users_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    char                         *what = privdata;
    u_char                        why[256];
    redisReply                   *reply = r;
    ngx_http_users_redis_peer_t  *peer;

    peer = ac->data;

    if (reply == NULL || peer == NULL || peer->ac != ac) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis's text names no secret: the password is not echoed */
        ngx_snprintf(why, sizeof(why) - 1, "%s failed: %*s%Z", what,
                     (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_users_redis_peer_reset(peer,
                                        NGX_HTTP_USERS_REDIS_UNAVAILABLE,
                                        (char *) why);
        return;
    }

    if (ngx_strcmp(what, "ROLE") == 0) {
        if (ngx_http_users_redis_role(reply) != NGX_HTTP_USERS_REDIS_PRIMARY) {
            ngx_http_users_redis_peer_reset(peer,
                                            NGX_HTTP_USERS_REDIS_UNAVAILABLE,
                                            "ROLE is not master");
            ngx_http_users_sentinel_reask();
            return;
        }

        peer->verified = 1;
    }

    if (ngx_strcmp(what, "PING") == 0) {
        peer->backoff = NGX_HTTP_USERS_REDIS_BACKOFF_MIN;

        if (peer->node->failing) {
            ngx_http_users_redis_node_healthy(peer->node);
        }
    }
}


static ngx_int_t
ngx_http_users_redis_role(redisReply *reply)
{
    redisReply  *e;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        return NGX_HTTP_USERS_REDIS_UNKNOWN;
    }

    e = reply->element[0];

    if ((e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
        && e->len == 6 && ngx_strncmp(e->str, "master", 6) == 0)
    {
        return NGX_HTTP_USERS_REDIS_PRIMARY;
    }

    return NGX_HTTP_USERS_REDIS_REPLICA_ROLE;
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

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                   "users redis: %V: connection %p up", &peer->node->name,
                   peer);
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


void
ngx_http_users_redis_peer_reset(ngx_http_users_redis_peer_t *peer,
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

    if (ac != NULL) {
        peer->fail_status = status;
        redisAsyncFree(ac);
        peer->fail_status = NGX_HTTP_USERS_REDIS_UNAVAILABLE;
    }

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

    peer->waiting = 1;

    ngx_add_timer(&peer->retry, delay);
}


static void
ngx_http_users_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_users_redis_peer_t  *peer = ev->data;

    if (peer->state == NGX_HTTP_USERS_REDIS_CONNECTING) {
        ngx_http_users_redis_peer_reset(peer,
                                        NGX_HTTP_USERS_REDIS_UNAVAILABLE,
                                        "connect timed out");
        return;
    }

    peer->waiting = 0;

    /* a node no map or Sentinel names any more is opened again on use */

    if (peer->state == NGX_HTTP_USERS_REDIS_DOWN && peer->node->wanted) {
        ngx_http_users_redis_connect(peer);
    }
}


static void
ngx_http_users_redis_incident(const char *what,
    ngx_http_users_redis_peer_t *peer)
{
    ngx_http_users_redis_node_t  *node;

    node = peer->node;

    /* one line per incident and node, not one per request */

    if (node->failing) {
        ngx_log_debug3(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "users redis: %V: connection %p: %s", &node->name,
                       peer, what);
        return;
    }

    node->failing = 1;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "redis %s%V: %s; retrying with backoff",
                  node->kind == NGX_HTTP_USERS_REDIS_SENTINEL_NODE
                  ? "sentinel " : "", &node->name, what);

    if (node->kind == NGX_HTTP_USERS_REDIS_DATA) {
        ngx_http_users_cluster_node_failed(node);
        ngx_http_users_sentinel_node_failed(node);
    }
}


void
ngx_http_users_redis_node_healthy(ngx_http_users_redis_node_t *node)
{
    node->failing = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "redis %s%V: answering again",
                  node->kind == NGX_HTTP_USERS_REDIS_SENTINEL_NODE
                  ? "sentinel " : "", &node->name);
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

    /* the context may be gone: the peer is not (it lives with its node) */
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


/* the replica reads of a primary may go to */

ngx_int_t
ngx_http_users_redis_replica_add(ngx_http_users_redis_node_t *primary,
    ngx_http_users_redis_node_t *replica)
{
    ngx_uint_t  *r, n;

    if (primary->nreplicas == primary->areplicas) {
        n = primary->areplicas ? 2 * primary->areplicas : 2;

        r = ngx_palloc(ngx_cycle->pool, n * sizeof(ngx_uint_t));
        if (r == NULL) {
            return NGX_ERROR;
        }

        if (primary->nreplicas) {
            ngx_memcpy(r, primary->replicas,
                       primary->nreplicas * sizeof(ngx_uint_t));
        }

        primary->replicas = r;
        primary->areplicas = n;
    }

    primary->replicas[primary->nreplicas++] = replica->index;

    replica->role = NGX_HTTP_USERS_REDIS_REPLICA_ROLE;
    replica->primary = primary->index + 1;
    replica->wanted = 1;

    return NGX_OK;
}
