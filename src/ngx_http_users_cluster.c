
/*
 * ngx_http_users_module: a worker's view of a Redis Cluster.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_cluster.h"


#define NGX_HTTP_USERS_CLUSTER_MAX_SEEDS   64

/* ms: between two refreshes; after a failed one; while a primary is down */
#define NGX_HTTP_USERS_CLUSTER_THROTTLE    100
#define NGX_HTTP_USERS_CLUSTER_RETRY       300
#define NGX_HTTP_USERS_CLUSTER_DEGRADED    300
#define NGX_HTTP_USERS_CLUSTER_LOADING     5000
#define NGX_HTTP_USERS_CLUSTER_PERIOD      30000


typedef struct {
    ngx_event_t                    timer;      /* the next refresh */
    ngx_msec_t                     started;    /* the last one began */
    uint16_t                      *table;      /* the map being read */
    ngx_uint_t                     seeds[NGX_HTTP_USERS_CLUSTER_MAX_SEEDS];
    ngx_uint_t                     nseeds;
    unsigned                       inflight:1;
    unsigned                       slots_cmd:1; /* no CLUSTER SHARDS */
    unsigned                       failing:1;  /* a failure is logged */
    unsigned                       loaded:1;   /* a map was read */
    unsigned                       offline:1;  /* a replica not online */
} ngx_http_users_cluster_t;


static void ngx_http_users_cluster_start(void);
static ngx_http_users_redis_node_t *ngx_http_users_cluster_pick(void);
static void ngx_http_users_cluster_reply(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data);
static void ngx_http_users_cluster_failed(ngx_http_users_redis_node_t *node,
    const char *what, redisReply *reply);
static ngx_int_t ngx_http_users_cluster_install(
    ngx_http_users_redis_node_t *from, ngx_array_t *shards);
static ngx_int_t ngx_http_users_cluster_shard(
    ngx_http_users_cluster_shard_t *shard, ngx_uint_t *replicas);
static void ngx_http_users_cluster_next(void);
static void ngx_http_users_cluster_schedule(ngx_msec_t delay);
static void ngx_http_users_cluster_timer(ngx_event_t *ev);


static ngx_http_users_cluster_t  ngx_http_users_cluster;


ngx_int_t
ngx_http_users_cluster_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_users_cluster_t       *cl;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_addr_t    *addr;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;
    cl = &ngx_http_users_cluster;

    ngx_memzero(cl, sizeof(ngx_http_users_cluster_t));

    w->slots = ngx_pcalloc(cycle->pool, 2 * NGX_HTTP_USERS_CLUSTER_SLOTS
                                        * sizeof(uint16_t));
    if (w->slots == NULL) {
        return NGX_ERROR;
    }

    cl->table = w->slots + NGX_HTTP_USERS_CLUSTER_SLOTS;

    addr = w->conf->addrs.elts;

    for (i = 0; i < w->conf->addrs.nelts; i++) {
        node = ngx_http_users_redis_node(&addr[i], NGX_HTTP_USERS_REDIS_DATA);
        if (node == NULL) {
            return NGX_ERROR;
        }

        node->wanted = 1;

        if (cl->nseeds < NGX_HTTP_USERS_CLUSTER_MAX_SEEDS) {
            cl->seeds[cl->nseeds++] = node->index;
        }
    }

    /* the timers' debug lines read data as a connection: not NULL */
    cl->timer.handler = ngx_http_users_cluster_timer;
    cl->timer.data = cl;
    cl->timer.log = cycle->log;
    cl->timer.cancelable = 1;

    ngx_http_users_cluster_start();

    return NGX_OK;
}


void
ngx_http_users_cluster_exit(void)
{
    if (ngx_http_users_cluster.timer.timer_set) {
        ngx_del_timer(&ngx_http_users_cluster.timer);
    }
}


/*
 * The primary of a slot. Before the first map, and for a slot no primary
 * serves, a node that may know: its MOVED says where to go.
 */

ngx_http_users_redis_node_t *
ngx_http_users_cluster_node(ngx_uint_t slot)
{
    ngx_uint_t                      n;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    n = w->slots[slot];

    if (n) {
        return w->nodes[n - 1];
    }

    ngx_http_users_cluster_refresh();

    return ngx_http_users_cluster_pick();
}


/* MOVED: the slot's primary, until the next map says more */

void
ngx_http_users_cluster_moved(ngx_uint_t slot,
    ngx_http_users_redis_node_t *node)
{
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    if (w->slots[slot] != node->index + 1) {
        w->slots[slot] = (uint16_t) (node->index + 1);
        w->epoch++;
    }

    node->wanted = 1;

    if (node->role == NGX_HTTP_USERS_REDIS_UNKNOWN) {
        node->role = NGX_HTTP_USERS_REDIS_PRIMARY;
    }

    ngx_http_users_cluster_refresh();
}


void
ngx_http_users_cluster_node_failed(ngx_http_users_redis_node_t *node)
{
    if (ngx_http_users_redis_worker.conf->mode
        == NGX_HTTP_USERS_REDIS_CLUSTER)
    {
        ngx_http_users_cluster_refresh();
    }
}


/* single-flight, at least NGX_HTTP_USERS_CLUSTER_THROTTLE ms apart */

void
ngx_http_users_cluster_refresh(void)
{
    ngx_msec_t                 elapsed;
    ngx_http_users_cluster_t  *cl;

    cl = &ngx_http_users_cluster;

    if (ngx_http_users_redis_worker.slots == NULL || cl->inflight
        || ngx_http_users_redis_worker.closing)
    {
        return;
    }

    elapsed = ngx_current_msec - cl->started;

    if (elapsed < NGX_HTTP_USERS_CLUSTER_THROTTLE) {
        ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_THROTTLE
                                        - elapsed);
        return;
    }

    ngx_http_users_cluster_start();
}


static void
ngx_http_users_cluster_start(void)
{
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_users_cluster_t     *cl;
    ngx_http_users_redis_node_t  *node;

    cl = &ngx_http_users_cluster;

    node = ngx_http_users_cluster_pick();

    if (node == NULL) {
        ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_RETRY);
        return;
    }

    argv[0] = "CLUSTER";
    argvlen[0] = 7;
    argv[1] = cl->slots_cmd ? "SLOTS" : "SHARDS";
    argvlen[1] = cl->slots_cmd ? 5 : 6;

    cl->started = ngx_current_msec;

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                   "users redis: CLUSTER %s from %V", argv[1], &node->name);

    if (ngx_http_users_redis_ask(node, 2, argv, argvlen,
                                 ngx_http_users_cluster_reply, NULL)
        != NGX_OK)
    {
        ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_RETRY);
        return;
    }

    cl->inflight = 1;
}


/*
 * A node to ask: one of the map's that is up, from a random place on;
 * else a seed, from a random one on.
 */

static ngx_http_users_redis_node_t *
ngx_http_users_cluster_pick(void)
{
    ngx_uint_t                      i, k, n;
    ngx_http_users_cluster_t       *cl;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;
    cl = &ngx_http_users_cluster;

    n = w->nnodes;
    k = ngx_random();

    for (i = 0; cl->loaded && i < n; i++) {
        node = w->nodes[(k + i) % n];

        if (node->kind == NGX_HTTP_USERS_REDIS_DATA && node->wanted
            && !node->failing && ngx_http_users_redis_node_usable(node))
        {
            return node;
        }
    }

    for (i = 0; i < cl->nseeds; i++) {
        node = w->nodes[cl->seeds[(k + i) % cl->nseeds]];

        if (ngx_http_users_redis_node_usable(node)) {
            return node;
        }
    }

    return NULL;
}


static void
ngx_http_users_cluster_reply(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data)
{
    ngx_int_t                  rc;
    ngx_pool_t                *pool;
    ngx_array_t                shards;
    ngx_http_users_cluster_t  *cl;

    cl = &ngx_http_users_cluster;
    cl->inflight = 0;

    if (ngx_http_users_redis_worker.closing) {
        return;
    }

    if (reply == NULL) {
        ngx_http_users_cluster_failed(node, "no answer", NULL);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (!cl->slots_cmd
            && ngx_strlcasestrn((u_char *) reply->str,
                                (u_char *) reply->str + reply->len,
                                (u_char *) "unknown subcommand", 18 - 1)
               != NULL)
        {
            /* before Redis 7 */
            cl->slots_cmd = 1;
            ngx_http_users_cluster_start();
            return;
        }

        ngx_http_users_cluster_failed(node, "error", reply);
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_RETRY);
        return;
    }

    rc = cl->slots_cmd
         ? ngx_http_users_cluster_parse_slots(pool, reply, &shards)
         : ngx_http_users_cluster_parse_shards(pool, reply, &shards);

    if (rc == NGX_OK) {
        rc = ngx_http_users_cluster_install(node, &shards);
    }

    ngx_destroy_pool(pool);

    if (rc == NGX_DECLINED) {
        ngx_http_users_cluster_failed(node, "an unexpected reply", NULL);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_RETRY);
        return;
    }

    ngx_http_users_cluster_next();
}


static void
ngx_http_users_cluster_failed(ngx_http_users_redis_node_t *node,
    const char *what, redisReply *reply)
{
    ngx_http_users_cluster_t  *cl;

    cl = &ngx_http_users_cluster;

    /* one line per incident */

    if (!cl->failing) {
        cl->failing = 1;

        if (reply) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "redis cluster: slot map from %V: %*s; retrying",
                          &node->name, (size_t) ngx_min(reply->len, 200),
                          reply->str);
        } else {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "redis cluster: slot map from %V: %s; retrying",
                          &node->name, what);
        }
    }

    ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_RETRY);
}


/*
 * The map replaces the last one at once. The nodes it does not name are
 * no longer wanted: their connections are not opened again unless a
 * MOVED or a later map names them.
 */

static ngx_int_t
ngx_http_users_cluster_install(ngx_http_users_redis_node_t *from,
    ngx_array_t *shards)
{
    ngx_uint_t                       i, s, moved, unserved, replicas;
    ngx_http_users_cluster_t        *cl;
    ngx_http_users_redis_node_t     *node;
    ngx_http_users_redis_worker_t   *w;
    ngx_http_users_cluster_shard_t  *shard;

    w = &ngx_http_users_redis_worker;
    cl = &ngx_http_users_cluster;

    ngx_memzero(cl->table, NGX_HTTP_USERS_CLUSTER_SLOTS * sizeof(uint16_t));

    for (i = 0; i < w->nnodes; i++) {
        node = w->nodes[i];

        if (node->kind == NGX_HTTP_USERS_REDIS_DATA) {
            node->wanted = 0;
            node->role = NGX_HTTP_USERS_REDIS_UNKNOWN;
            node->primary = 0;
            node->nreplicas = 0;
        }
    }

    shard = shards->elts;
    replicas = 0;
    cl->offline = 0;

    for (i = 0; i < shards->nelts; i++) {
        if (ngx_http_users_cluster_shard(&shard[i], &replicas) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    moved = 0;
    unserved = 0;

    for (s = 0; s < NGX_HTTP_USERS_CLUSTER_SLOTS; s++) {
        moved += (w->slots[s] != cl->table[s]);
        unserved += (cl->table[s] == 0);
    }

    ngx_memcpy(w->slots, cl->table,
               NGX_HTTP_USERS_CLUSTER_SLOTS * sizeof(uint16_t));

    if (moved) {
        w->epoch++;
    }

    if (!cl->loaded || moved || cl->failing) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "redis cluster: slot map from %V: %ui primaries, "
                      "%ui replicas, %ui slots %s, %ui not served",
                      &from->name, shards->nelts, replicas,
                      cl->loaded ? moved : NGX_HTTP_USERS_CLUSTER_SLOTS
                                           - unserved,
                      cl->loaded ? "moved" : "served", unserved);
    }

    cl->loaded = 1;
    cl->failing = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_shard(ngx_http_users_cluster_shard_t *shard,
    ngx_uint_t *replicas)
{
    ngx_uint_t                        k, s, *range;
    ngx_http_users_cluster_t         *cl;
    ngx_http_users_redis_node_t      *primary, *node;
    ngx_http_users_cluster_member_t  *m;

    cl = &ngx_http_users_cluster;
    m = shard->members.elts;

    primary = ngx_http_users_redis_node_by_name(m[0].addr.data,
                                                m[0].addr.len);
    if (primary == NULL) {
        return NGX_OK;
    }

    primary->wanted = 1;
    primary->role = NGX_HTTP_USERS_REDIS_PRIMARY;

    for (k = 1; k < shard->members.nelts; k++) {
        if (m[k].primary) {
            continue;
        }

        if (!m[k].online) {
            /* failed, or loading: a new replica is read once online */
            cl->offline = 1;
            continue;
        }

        node = ngx_http_users_redis_node_by_name(m[k].addr.data,
                                                 m[k].addr.len);
        if (node == NULL || node == primary) {
            continue;
        }

        if (ngx_http_users_redis_replica_add(primary, node) != NGX_OK) {
            return NGX_ERROR;
        }

        (*replicas)++;
    }

    range = shard->ranges.elts;

    for (k = 0; k < shard->ranges.nelts; k += 2) {
        for (s = range[k]; s <= range[k + 1]; s++) {
            cl->table[s] = (uint16_t) (primary->index + 1);
        }
    }

    return NGX_OK;
}


/*
 * When to read the map again: soon while a primary of it is down (its
 * replica may take over), in about 5 s while a replica is not online
 * (a new one may be read once it is), else in about 30 s.
 */

static void
ngx_http_users_cluster_next(void)
{
    ngx_uint_t                      i;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;

    for (i = 0; i < w->nnodes; i++) {
        node = w->nodes[i];

        if (node->role == NGX_HTTP_USERS_REDIS_PRIMARY
            && (node->failing || !ngx_http_users_redis_node_usable(node)))
        {
            ngx_http_users_cluster_schedule(NGX_HTTP_USERS_CLUSTER_DEGRADED);
            return;
        }
    }

    ngx_http_users_cluster_schedule(ngx_http_users_cluster.offline
                                    ? NGX_HTTP_USERS_CLUSTER_LOADING
                                    : NGX_HTTP_USERS_CLUSTER_PERIOD);
}


/* in delay ms, -25%..+25%, unless a refresh is due sooner */

static void
ngx_http_users_cluster_schedule(ngx_msec_t delay)
{
    ngx_event_t  *ev;

    if (ngx_http_users_redis_worker.closing
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return;
    }

    delay = delay * 3 / 4 + ngx_random() % (delay / 2 + 1);

    ev = &ngx_http_users_cluster.timer;

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
ngx_http_users_cluster_timer(ngx_event_t *ev)
{
    if (!ngx_http_users_cluster.inflight) {
        ngx_http_users_cluster_start();
    }
}
