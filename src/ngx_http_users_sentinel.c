
/*
 * ngx_http_users_module: the primary Sentinel names.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_sentinel.h"


#define NGX_HTTP_USERS_SENTINEL_MAX        16

/* ms: between two asks; after a failed one; while the primary is down */
#define NGX_HTTP_USERS_SENTINEL_THROTTLE   100
#define NGX_HTTP_USERS_SENTINEL_RETRY      300
#define NGX_HTTP_USERS_SENTINEL_PERIOD     30000
#define NGX_HTTP_USERS_SENTINEL_BACKOFF    800


typedef struct {
    ngx_event_t                    timer;      /* the next ask */
    ngx_http_users_redis_peer_t    sub;        /* subscribed on a sentinel */
    ngx_uint_t                     sentinels[NGX_HTTP_USERS_SENTINEL_MAX];
    ngx_uint_t                     nsentinels;
    ngx_uint_t                     next;       /* to ask */
    ngx_uint_t                     subnext;    /* to subscribe on */
    ngx_msec_t                     asked;
    unsigned                       running:1;
    unsigned                       inflight:1;
    unsigned                       failing:1;  /* a failure is logged */
} ngx_http_users_sentinel_t;


static void ngx_http_users_sentinel_ask(void);
static ngx_http_users_redis_node_t *ngx_http_users_sentinel_pick(
    ngx_uint_t *next);
static void ngx_http_users_sentinel_master(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data);
static void ngx_http_users_sentinel_failed(ngx_http_users_redis_node_t *node,
    const char *what, redisReply *reply);
static void ngx_http_users_sentinel_switch(ngx_http_users_redis_node_t *to,
    ngx_http_users_redis_node_t *sentinel);
static void ngx_http_users_sentinel_ask_replicas(
    ngx_http_users_redis_node_t *sentinel);
static void ngx_http_users_sentinel_replicas(
    ngx_http_users_redis_node_t *node, redisReply *reply, void *data);
static ngx_int_t ngx_http_users_sentinel_replica(
    ngx_http_users_redis_node_t *primary, redisReply *r);
static redisReply *ngx_http_users_sentinel_get(redisReply *map,
    const char *name);
static void ngx_http_users_sentinel_schedule(ngx_msec_t delay);
static void ngx_http_users_sentinel_timer(ngx_event_t *ev);

static void ngx_http_users_sentinel_subscribe(void);
static void ngx_http_users_sentinel_sub_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_users_sentinel_sub_disconnected(
    const redisAsyncContext *ac, int status);
static void ngx_http_users_sentinel_sub_lost(const char *why);
static void ngx_http_users_sentinel_sub_retry(ngx_event_t *ev);
static void ngx_http_users_sentinel_message(redisAsyncContext *ac, void *r,
    void *privdata);


static ngx_http_users_sentinel_t  ngx_http_users_sentinel;


ngx_int_t
ngx_http_users_sentinel_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_users_sentinel_t      *st;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_addr_t    *addr;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;
    st = &ngx_http_users_sentinel;

    ngx_memzero(st, sizeof(ngx_http_users_sentinel_t));

    addr = w->conf->addrs.elts;

    for (i = 0; i < w->conf->addrs.nelts
                && i < NGX_HTTP_USERS_SENTINEL_MAX; i++)
    {
        node = ngx_http_users_redis_node(&addr[i],
                                         NGX_HTTP_USERS_REDIS_SENTINEL_NODE);
        if (node == NULL) {
            return NGX_ERROR;
        }

        node->wanted = 1;
        st->sentinels[st->nsentinels++] = node->index;
    }

    st->next = ngx_random() % st->nsentinels;
    st->subnext = st->next;

    /* the timers' debug lines read data as a connection: not NULL */
    st->timer.handler = ngx_http_users_sentinel_timer;
    st->timer.data = st;
    st->timer.log = cycle->log;
    st->timer.cancelable = 1;

    st->sub.backoff = 100;
    st->sub.retry.handler = ngx_http_users_sentinel_sub_retry;
    st->sub.retry.data = &st->sub;
    st->sub.retry.log = cycle->log;
    st->sub.retry.cancelable = 1;

    st->running = 1;

    ngx_http_users_sentinel_ask();
    ngx_http_users_sentinel_subscribe();

    return NGX_OK;
}


void
ngx_http_users_sentinel_exit(void)
{
    redisAsyncContext          *ac;
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (!st->running) {
        return;
    }

    st->running = 0;

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    if (st->sub.retry.timer_set) {
        ngx_del_timer(&st->sub.retry);
    }

    ac = st->sub.ac;

    if (ac != NULL) {
        st->sub.ac = NULL;
        redisAsyncFree(ac);
    }
}


/* single-flight, at least NGX_HTTP_USERS_SENTINEL_THROTTLE ms apart */

void
ngx_http_users_sentinel_reask(void)
{
    ngx_msec_t                  elapsed;
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (!st->running || st->inflight) {
        return;
    }

    elapsed = ngx_current_msec - st->asked;

    if (elapsed < NGX_HTTP_USERS_SENTINEL_THROTTLE) {
        ngx_http_users_sentinel_schedule(NGX_HTTP_USERS_SENTINEL_THROTTLE
                                         - elapsed);
        return;
    }

    ngx_http_users_sentinel_ask();
}


void
ngx_http_users_sentinel_node_failed(ngx_http_users_redis_node_t *node)
{
    if (ngx_http_users_redis_worker.primary == node->index + 1) {
        ngx_http_users_sentinel_reask();
    }
}


static void
ngx_http_users_sentinel_ask(void)
{
    const char                   *argv[3];
    size_t                        argvlen[3];
    ngx_http_users_sentinel_t    *st;
    ngx_http_users_redis_node_t  *node;

    st = &ngx_http_users_sentinel;

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    node = ngx_http_users_sentinel_pick(&st->next);

    if (node == NULL) {
        ngx_http_users_sentinel_schedule(NGX_HTTP_USERS_SENTINEL_RETRY);
        return;
    }

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = 23;
    argv[2] = (char *) ngx_http_users_redis_worker.conf->master.data;
    argvlen[2] = ngx_http_users_redis_worker.conf->master.len;

    st->asked = ngx_current_msec;

    if (ngx_http_users_redis_ask(node, 3, argv, argvlen,
                                 ngx_http_users_sentinel_master, NULL)
        != NGX_OK)
    {
        ngx_http_users_sentinel_schedule(NGX_HTTP_USERS_SENTINEL_RETRY);
        return;
    }

    st->inflight = 1;
}


/* the next sentinel, in turn, whose connections are not all in backoff */

static ngx_http_users_redis_node_t *
ngx_http_users_sentinel_pick(ngx_uint_t *next)
{
    ngx_uint_t                     i;
    ngx_http_users_sentinel_t     *st;
    ngx_http_users_redis_node_t   *node;

    st = &ngx_http_users_sentinel;

    for (i = 0; i < st->nsentinels; i++) {
        node = ngx_http_users_redis_worker.nodes[st->sentinels[*next
                                                 % st->nsentinels]];
        (*next)++;

        if (ngx_http_users_redis_node_usable(node)) {
            return node;
        }
    }

    return NULL;
}


static void
ngx_http_users_sentinel_master(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data)
{
    u_char                         addr[NGX_SOCKADDR_STRLEN + 8], *p;
    redisReply                    *ip, *port;
    ngx_http_users_sentinel_t     *st;
    ngx_http_users_redis_node_t   *primary;

    st = &ngx_http_users_sentinel;
    st->inflight = 0;

    if (!st->running) {
        return;
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_users_sentinel_failed(node, "no answer", reply);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        ngx_http_users_sentinel_failed(node, "no such master", NULL);
        return;
    }

    ip = reply->element[0];
    port = reply->element[1];

    if (ip->type != REDIS_REPLY_STRING || port->type != REDIS_REPLY_STRING
        || ip->len > NGX_SOCKADDR_STRLEN || port->len > 5)
    {
        ngx_http_users_sentinel_failed(node, "an unexpected reply", NULL);
        return;
    }

    p = ngx_sprintf(addr, "%*s:%*s", ip->len, ip->str, port->len, port->str);

    primary = ngx_http_users_redis_node_by_name(addr, p - addr);

    if (primary == NULL) {
        ngx_http_users_sentinel_failed(node, "not an IP address", NULL);
        return;
    }

    st->failing = 0;
    st->next--;                     /* the same sentinel next time */

    ngx_http_users_sentinel_switch(primary, node);
    ngx_http_users_sentinel_ask_replicas(node);

    ngx_http_users_sentinel_schedule(primary->failing
                                     ? NGX_HTTP_USERS_SENTINEL_RETRY
                                     : NGX_HTTP_USERS_SENTINEL_PERIOD);
}


static void
ngx_http_users_sentinel_failed(ngx_http_users_redis_node_t *node,
    const char *what, redisReply *reply)
{
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (!st->failing) {
        st->failing = 1;

        if (reply) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "redis sentinel %V: master \"%V\": %*s; retrying",
                          &node->name,
                          &ngx_http_users_redis_worker.conf->master,
                          (size_t) ngx_min(reply->len, 200), reply->str);
        } else {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "redis sentinel %V: master \"%V\": %s; retrying",
                          &node->name,
                          &ngx_http_users_redis_worker.conf->master, what);
        }
    }

    ngx_http_users_sentinel_schedule(NGX_HTTP_USERS_SENTINEL_RETRY);
}


/*
 * The node writes go to from now on. The last primary's connections are
 * closed: what was in flight on them is sent again (reads) or fails
 * (writes), never written to a demoted node.
 */

static void
ngx_http_users_sentinel_switch(ngx_http_users_redis_node_t *to,
    ngx_http_users_redis_node_t *sentinel)
{
    ngx_http_users_redis_node_t    *old;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (!to->verify) {
        /* connections opened to read a replica: through ROLE again */
        to->verify = 1;
        ngx_http_users_redis_node_close(to);
    }

    to->wanted = 1;

    if (w->primary == to->index + 1) {
        return;
    }

    old = w->primary ? w->nodes[w->primary - 1] : NULL;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "redis sentinel %V: master \"%V\" is %V",
                  &sentinel->name, &w->conf->master, &to->name);

    to->role = NGX_HTTP_USERS_REDIS_PRIMARY;
    to->primary = 0;
    to->nreplicas = 0;
    w->primary = to->index + 1;
    w->epoch++;

    if (old != NULL) {
        old->role = NGX_HTTP_USERS_REDIS_UNKNOWN;
        old->wanted = 0;
        old->verify = 0;
        old->nreplicas = 0;
        ngx_http_users_redis_node_close(old);
    }

    ngx_http_users_redis_node_open(to);
}


static void
ngx_http_users_sentinel_ask_replicas(ngx_http_users_redis_node_t *sentinel)
{
    const char  *argv[3];
    size_t       argvlen[3];

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "replicas";
    argvlen[1] = 8;
    argv[2] = (char *) ngx_http_users_redis_worker.conf->master.data;
    argvlen[2] = ngx_http_users_redis_worker.conf->master.len;

    (void) ngx_http_users_redis_ask(sentinel, 3, argv, argvlen,
                                    ngx_http_users_sentinel_replicas, NULL);
}


/* the replicas that are up and linked to the master: reads may go there */

static void
ngx_http_users_sentinel_replicas(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data)
{
    size_t                          i;
    ngx_http_users_redis_node_t    *primary, *r;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || w->closing
        || w->primary == 0)
    {
        return;
    }

    primary = w->nodes[w->primary - 1];

    for (i = 0; i < w->nnodes; i++) {
        r = w->nodes[i];

        if (r->role == NGX_HTTP_USERS_REDIS_REPLICA_ROLE) {
            r->role = NGX_HTTP_USERS_REDIS_UNKNOWN;
            r->primary = 0;
            r->wanted = 0;
        }
    }

    primary->nreplicas = 0;

    for (i = 0; i < reply->elements; i++) {
        if (ngx_http_users_sentinel_replica(primary, reply->element[i])
            != NGX_OK)
        {
            return;
        }
    }
}


static ngx_int_t
ngx_http_users_sentinel_replica(ngx_http_users_redis_node_t *primary,
    redisReply *r)
{
    u_char                        addr[NGX_SOCKADDR_STRLEN + 8], *p;
    redisReply                   *ip, *port, *flags, *link;
    ngx_http_users_redis_node_t  *node;

    ip = ngx_http_users_sentinel_get(r, "ip");
    port = ngx_http_users_sentinel_get(r, "port");
    flags = ngx_http_users_sentinel_get(r, "flags");
    link = ngx_http_users_sentinel_get(r, "master-link-status");

    if (ip == NULL || port == NULL || flags == NULL || link == NULL
        || ip->len > NGX_SOCKADDR_STRLEN || port->len > 5)
    {
        return NGX_OK;
    }

    /* "slave", not "s_down,slave" or "slave,disconnected" */

    if (flags->len != 5 || ngx_strncmp(flags->str, "slave", 5) != 0
        || link->len != 2 || ngx_strncmp(link->str, "ok", 2) != 0)
    {
        return NGX_OK;
    }

    p = ngx_sprintf(addr, "%*s:%*s", ip->len, ip->str, port->len, port->str);

    node = ngx_http_users_redis_node_by_name(addr, p - addr);

    if (node == NULL || node == primary) {
        return NGX_OK;
    }

    return ngx_http_users_redis_replica_add(primary, node);
}


/* a string value of a flat map */

static redisReply *
ngx_http_users_sentinel_get(redisReply *map, const char *name)
{
    size_t       i, n;
    redisReply  *k, *v;

    if (map->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    n = ngx_strlen(name);

    for (i = 0; i + 1 < map->elements; i += 2) {
        k = map->element[i];
        v = map->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && k->len == n
            && ngx_strncmp(k->str, name, n) == 0)
        {
            return v->type == REDIS_REPLY_STRING ? v : NULL;
        }
    }

    return NULL;
}


static void
ngx_http_users_sentinel_schedule(ngx_msec_t delay)
{
    ngx_event_t  *ev;

    if (!ngx_http_users_sentinel.running
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return;
    }

    delay = delay * 3 / 4 + ngx_random() % (delay / 2 + 1);

    ev = &ngx_http_users_sentinel.timer;

    if (ev->timer_set) {
        if ((ngx_msec_int_t) (ev->timer.key - ngx_current_msec)
            <= (ngx_msec_int_t) delay)
        {
            return;
        }

        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, delay);
}


static void
ngx_http_users_sentinel_timer(ngx_event_t *ev)
{
    if (!ngx_http_users_sentinel.inflight) {
        ngx_http_users_sentinel_ask();
    }
}


/*
 * The subscription: its own connection (a subscribed connection takes no
 * other command), to the sentinels in turn.
 */

static void
ngx_http_users_sentinel_subscribe(void)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    redisAsyncContext            *ac;
    ngx_http_users_sentinel_t    *st;
    ngx_http_users_redis_node_t  *node;
    ngx_http_users_redis_conf_t  *rcf;

    st = &ngx_http_users_sentinel;
    rcf = ngx_http_users_redis_worker.conf;

    node = ngx_http_users_redis_worker.nodes[st->sentinels[st->subnext++
                                             % st->nsentinels]];
    st->sub.node = node;

    ac = node->addr.unix_path.len
         ? redisAsyncConnectUnix((char *) node->addr.unix_path.data)
         : redisAsyncConnect((char *) node->addr.host.data, node->addr.port);

    if (ac == NULL || ac->err
        || ngx_http_users_redis_attach(ac, &st->sub) != NGX_OK)
    {
        if (ac) {
            redisAsyncFree(ac);
        }

        ngx_http_users_sentinel_sub_lost(NULL);
        return;
    }

    st->sub.ac = ac;
    st->sub.state = NGX_HTTP_USERS_REDIS_CONNECTING;

    redisAsyncSetConnectCallback(ac, ngx_http_users_sentinel_sub_connected);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_users_sentinel_sub_disconnected);

    if (rcf->sentinel_password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) rcf->sentinel_password.data;
        argvlen[1] = rcf->sentinel_password.len;

        redisAsyncCommandArgv(ac, NULL, NULL, 2, argv, argvlen);
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = "+switch-master";
    argvlen[1] = 14;

    redisAsyncCommandArgv(ac, ngx_http_users_sentinel_message, NULL, 2, argv,
                          argvlen);

    ngx_add_timer(&st->sub.retry, rcf->connect_timeout);
}


static void
ngx_http_users_sentinel_sub_connected(const redisAsyncContext *ac,
    int status)
{
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (st->sub.ac != ac) {
        return;
    }

    if (st->sub.retry.timer_set) {
        ngx_del_timer(&st->sub.retry);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback returns */
        st->sub.ac = NULL;
        ngx_http_users_sentinel_sub_lost(ac->errstr);
        return;
    }

    st->sub.state = NGX_HTTP_USERS_REDIS_UP;
}


static void
ngx_http_users_sentinel_sub_disconnected(const redisAsyncContext *ac,
    int status)
{
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (st->sub.ac != ac) {
        return;
    }

    st->sub.ac = NULL;

    ngx_http_users_sentinel_sub_lost(status == REDIS_OK ? "connection closed"
                                                        : ac->errstr);

    /* a switch may have gone unheard */
    ngx_http_users_sentinel_reask();
}


/* reconnects with backoff; logs once until the subscription holds again */

static void
ngx_http_users_sentinel_sub_lost(const char *why)
{
    ngx_msec_t                  delay;
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (why && st->sub.state == NGX_HTTP_USERS_REDIS_UP) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "redis sentinel %V: +switch-master subscription: %s; "
                      "subscribing again", &st->sub.node->name, why);
    }

    st->sub.state = NGX_HTTP_USERS_REDIS_DOWN;

    if (!st->running || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    delay = st->sub.backoff * 3 / 4 + ngx_random() % (st->sub.backoff / 2 + 1);
    st->sub.backoff = ngx_min(st->sub.backoff * 2,
                              NGX_HTTP_USERS_SENTINEL_BACKOFF);

    if (st->sub.retry.timer_set) {
        ngx_del_timer(&st->sub.retry);
    }

    ngx_add_timer(&st->sub.retry, delay);
}


static void
ngx_http_users_sentinel_sub_retry(ngx_event_t *ev)
{
    redisAsyncContext          *ac;
    ngx_http_users_sentinel_t  *st;

    st = &ngx_http_users_sentinel;

    if (st->sub.state == NGX_HTTP_USERS_REDIS_CONNECTING) {
        ac = st->sub.ac;
        st->sub.ac = NULL;

        if (ac) {
            redisAsyncFree(ac);
        }

        ngx_http_users_sentinel_sub_lost("connect timed out");
        return;
    }

    ngx_http_users_sentinel_subscribe();
}


/* ["message", "+switch-master", "<name> <old ip> <port> <new ip> <port>"] */

static void
ngx_http_users_sentinel_message(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                       *p, *last, *word[5], addr[NGX_SOCKADDR_STRLEN
                                                           + 8];
    size_t                        len[5];
    ngx_uint_t                    n;
    redisReply                   *reply = r, *m;
    ngx_http_users_sentinel_t    *st;
    ngx_http_users_redis_node_t  *node;

    st = &ngx_http_users_sentinel;

    if (reply == NULL || !st->running || st->sub.ac != ac
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[0]->len != 7
        || ngx_strncmp(reply->element[0]->str, "message", 7) != 0)
    {
        return;
    }

    st->sub.backoff = 100;

    m = reply->element[2];
    p = (u_char *) m->str;
    last = p + m->len;

    for (n = 0; n < 5 && p < last; n++) {
        word[n] = p;
        p = ngx_strlchr(p, last, ' ');
        p = p ? p : last;
        len[n] = p - word[n];
        p++;
    }

    if (n != 5 || len[3] > NGX_SOCKADDR_STRLEN || len[4] > 5
        || len[0] != ngx_http_users_redis_worker.conf->master.len
        || ngx_strncmp(word[0], ngx_http_users_redis_worker.conf->master.data,
                       len[0]) != 0)
    {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "redis sentinel %V: +switch-master %*s",
                  &st->sub.node->name, (size_t) ngx_min(m->len, 300), m->str);

    p = ngx_sprintf(addr, "%*s:%*s", len[3], word[3], len[4], word[4]);

    node = ngx_http_users_redis_node_by_name(addr, p - addr);

    if (node == NULL) {
        ngx_http_users_sentinel_reask();
        return;
    }

    ngx_http_users_sentinel_switch(node, st->sub.node);
    ngx_http_users_sentinel_ask_replicas(st->sub.node);
}
