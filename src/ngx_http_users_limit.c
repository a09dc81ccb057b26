
/*
 * ngx_http_users_module: rate limits with 429.
 */


#include "ngx_http_users_limit.h"
#include "ngx_http_users_error.h"
#include "ngx_http_users_auth.h"


#define NGX_HTTP_USERS_LIMIT_BREAKER   1000     /* ms without Redis */
#define NGX_HTTP_USERS_LIMIT_MAX_KEY   512


typedef struct {
    ngx_rbtree_node_t              node;       /* key: crc32 of the key */
    ngx_queue_t                    queue;      /* most recently used first */
    uint64_t                       tat;        /* theoretical arrival, us */
    u_short                        len;
    u_char                         data[1];
} ngx_http_users_limit_node_t;


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
} ngx_http_users_limit_shctx_t;


typedef struct {
    ngx_http_users_limit_shctx_t  *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_users_limit_shm_t;


typedef struct ngx_http_users_limit_ctx_s  ngx_http_users_limit_ctx_t;


/* one zone's decision */
typedef struct {
    ngx_http_users_limit_ctx_t    *ctx;
    ngx_http_users_limit_zone_t   *zone;
    ngx_str_t                      key;
    ngx_uint_t                     limited;    /* 0: empty key, no limit */
    ngx_uint_t                     local;      /* decided in shared memory */
    ngx_uint_t                     share;      /* ... with this divisor */
    ngx_uint_t                     allowed;
    ngx_uint_t                     remaining;
    uint64_t                       retry;      /* us */
    uint64_t                       reset;      /* us */
    ngx_http_users_redis_call_t   *call;       /* asked of Redis */
} ngx_http_users_limit_result_t;


struct ngx_http_users_limit_ctx_s {
    ngx_http_request_t            *request;
    ngx_array_t                    results;    /* of limit_result_t */
    ngx_uint_t                     pending;    /* Redis replies to come */
    ngx_uint_t                     done;
    ngx_uint_t                     failed;     /* CLOSED and Redis failed */
    ngx_uint_t                     answered;   /* passed: once a request */
    ngx_uint_t                     status;     /* limit_status_e */
};


typedef enum {
    NGX_HTTP_USERS_LIMIT_NONE = 0,
    NGX_HTTP_USERS_LIMIT_PASSED,
    NGX_HTTP_USERS_LIMIT_REJECTED,
    NGX_HTTP_USERS_LIMIT_REJECTED_DRY_RUN,
    NGX_HTTP_USERS_LIMIT_FAILED_OPEN
} ngx_http_users_limit_status_e;


static ngx_int_t ngx_http_users_limit_preaccess(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_limit_phase(ngx_http_request_t *r,
    ngx_uint_t after_auth);
static ngx_int_t ngx_http_users_limit_start(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx, ngx_uint_t after_auth);
static ngx_int_t ngx_http_users_limit_ask(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_reply(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_limit_redis_result(
    ngx_http_users_limit_result_t *res, redisReply *reply);
static void ngx_http_users_limit_failed(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_local(ngx_http_users_limit_result_t *res,
    ngx_uint_t share, ngx_uint_t commit);
static void ngx_http_users_limit_commit(ngx_http_users_limit_ctx_t *ctx);
static ngx_int_t ngx_http_users_limit_decide(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx);
static ngx_int_t ngx_http_users_limit_headers(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res, ngx_uint_t rejected);
static ngx_int_t ngx_http_users_limit_header(ngx_http_request_t *r,
    char *name, u_char *value, size_t len);
static ngx_int_t ngx_http_users_limit_reject(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res);
static ngx_http_users_limit_ctx_t **ngx_http_users_limit_slot(
    ngx_http_request_t *r, ngx_uint_t after_auth);
static void ngx_http_users_limit_cleanup(void *data);
static ngx_int_t ngx_http_users_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_users_limit_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_users_limit_node_t *ngx_http_users_limit_lookup(
    ngx_http_users_limit_shm_t *shm, ngx_str_t *key, uint32_t hash);
static void ngx_http_users_limit_expire(ngx_http_users_limit_shm_t *shm,
    uint64_t now, ngx_uint_t force);
static uint64_t ngx_http_users_limit_now(void);
static ngx_int_t ngx_http_users_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_users_limit_rate(ngx_conf_t *cf,
    ngx_http_users_limit_zone_t *z, ngx_str_t *value);
static char *ngx_http_users_limit_option(ngx_conf_t *cf,
    ngx_http_users_limit_zone_t *z, ngx_str_t *opt, ssize_t *size);


static ngx_str_t  ngx_http_users_limit_statuses[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("REJECTED"),
    ngx_string("REJECTED_DRY_RUN"),
    ngx_string("FAILED_OPEN")
};


ngx_int_t
ngx_http_users_limit_variables(ngx_conf_t *cf)
{
    ngx_str_t             name = ngx_string("users_limit_status");
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_users_limit_variable;

    return NGX_OK;
}


/* a preaccess handler when some limit is keyed by anything but the caller */

ngx_int_t
ngx_http_users_limit_init(ngx_conf_t *cf)
{
    ngx_uint_t                     i;
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_users_main_conf_t    *umcf;
    ngx_http_users_limit_zone_t  **z;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);

    if (umcf->limit_zones == NULL) {
        return NGX_OK;
    }

    z = umcf->limit_zones->elts;

    for (i = 0; i < umcf->limit_zones->nelts; i++) {
        if (!z[i]->after_auth) {
            break;
        }
    }

    if (i == umcf->limit_zones->nelts) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_users_limit_preaccess;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_limit_preaccess(ngx_http_request_t *r)
{
    /* a request refused here is logged before users_auth sees its token */

    if (ngx_http_users_auth_hide(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_limit_phase(r, 0);
}


ngx_int_t
ngx_http_users_limit_access(ngx_http_request_t *r)
{
    return ngx_http_users_limit_phase(r, 1);
}


/*
 * NGX_DECLINED: no limit here; NGX_AGAIN: waiting for Redis; NGX_OK:
 * within every limit; NGX_DONE: answered (429 or 503) and finalized.
 */

static ngx_int_t
ngx_http_users_limit_phase(ngx_http_request_t *r, ngx_uint_t after_auth)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_users_loc_conf_t    *lcf;
    ngx_http_users_limit_ctx_t  **slot, *ctx;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (lcf->limits == NULL || r != r->main) {
        return NGX_DECLINED;
    }

    slot = ngx_http_users_limit_slot(r, after_auth);
    if (slot == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = *slot;

    if (ctx) {
        if (ctx->answered) {
            /* passed already, before an internal redirect */
            return NGX_DECLINED;
        }

        return ctx->done ? ngx_http_users_limit_decide(r, ctx) : NGX_AGAIN;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_users_limit_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || cln == NULL
        || ngx_array_init(&ctx->results, r->pool, lcf->limits->nelts,
                          sizeof(ngx_http_users_limit_result_t))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    *slot = ctx;

    cln->handler = ngx_http_users_limit_cleanup;
    cln->data = ctx;

    rc = ngx_http_users_limit_start(r, ctx, after_auth);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->pending) {
        return NGX_AGAIN;
    }

    ctx->done = 1;

    return ngx_http_users_limit_decide(r, ctx);
}


/* each limit of this phase: decided here, or asked of Redis */

static ngx_int_t
ngx_http_users_limit_start(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx, ngx_uint_t after_auth)
{
    ngx_uint_t                      i, rejected;
    ngx_http_users_loc_conf_t      *lcf;
    ngx_http_users_limit_zone_t   **z;
    ngx_http_users_limit_result_t  *res;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
    z = lcf->limits->elts;
    rejected = 0;

    for (i = 0; i < lcf->limits->nelts; i++) {

        if (z[i]->after_auth != after_auth) {
            continue;
        }

        res = ngx_array_push(&ctx->results);
        if (res == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memzero(res, sizeof(ngx_http_users_limit_result_t));
        res->ctx = ctx;
        res->zone = z[i];

        if (ngx_http_complex_value(r, &z[i]->key, &res->key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* an empty key is not limited; an absurd one is cut */

        if (res->key.len == 0) {
            res->allowed = 1;
            continue;
        }

        res->key.len = ngx_min(res->key.len, NGX_HTTP_USERS_LIMIT_MAX_KEY);
        res->limited = 1;

        if (!z[i]->redis) {
            ngx_http_users_limit_local(res, 1, 0);

            if (!res->allowed) {
                rejected = 1;
            }
        }
    }

    /*
     * Redis is asked only when every local zone would pass: a request
     * refused anyway spends no one's quota (local zones are charged once
     * all have said yes, in ngx_http_users_limit_commit())
     */

    res = ctx->results.elts;

    for (i = 0; !rejected && i < ctx->results.nelts; i++) {

        if (!res[i].limited || !res[i].zone->redis) {
            continue;
        }

        if (res[i].zone->breaker > ngx_current_msec
            || ngx_http_users_limit_ask(ctx, &res[i]) != NGX_OK)
        {
            ngx_http_users_limit_failed(ctx, &res[i]);
        }
    }

    return NGX_OK;
}


/* FCALL users_limit 1 users:limit:{<zone>}:<key> <interval us> <burst> */

static ngx_int_t
ngx_http_users_limit_ask(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res)
{
    u_char                        *key, interval[NGX_INT64_LEN],
                                   burst[NGX_INT_T_LEN];
    size_t                         len;
    ngx_int_t                      rc;
    const char                    *argv[6];
    size_t                         argvlen[6];
    ngx_http_users_redis_cmd_t     cmd;
    ngx_http_users_limit_zone_t   *z;
    ngx_http_users_redis_route_t   route;

    z = res->zone;

    len = sizeof("users:limit:{}:") - 1 + z->name.len + res->key.len;

    key = ngx_pnalloc(ctx->request->pool, len);
    if (key == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(key, "users:limit:{%V}:%V", &z->name, &res->key);

    argv[0] = "FCALL";
    argv[1] = "users_limit";
    argv[2] = "1";
    argv[3] = (char *) key;
    argv[4] = (char *) interval;
    argv[5] = (char *) burst;

    argvlen[0] = 5;
    argvlen[1] = 11;
    argvlen[2] = 1;
    argvlen[3] = len;
    argvlen[4] = ngx_sprintf(interval, "%uL", z->interval) - interval;
    argvlen[5] = ngx_sprintf(burst, "%ui", z->burst) - burst;

    cmd.argc = 6;
    cmd.argv = argv;
    cmd.argvlen = argvlen;

    /* a write: its key's primary, never sent twice */

    ngx_memzero(&route, sizeof(ngx_http_users_redis_route_t));
    route.key.data = key;
    route.key.len = len;

    rc = ngx_http_users_redis_send(&route, &cmd, 1,
                                   ngx_http_users_limit_reply, res,
                                   &res->call);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->pending++;

    return NGX_OK;
}


static void
ngx_http_users_limit_reply(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_limit_result_t  *res = data;

    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_users_limit_ctx_t  *ctx;

    ctx = res->ctx;
    r = ctx->request;
    c = r->connection;

    res->call = NULL;

    if (status != NGX_OK
        || ngx_http_users_limit_redis_result(res, reply) != NGX_OK)
    {
        ngx_http_users_limit_failed(ctx, res);
    }

    if (--ctx->pending) {
        return;
    }

    /* every limit is decided: back to the phase, which now answers */

    ctx->done = 1;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* users_limit's { allowed, remaining, retry us, reset us } */

static ngx_int_t
ngx_http_users_limit_redis_result(ngx_http_users_limit_result_t *res,
    redisReply *reply)
{
    size_t  i;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
        ngx_log_error(NGX_LOG_ERR, res->ctx->request->connection->log, 0,
                      "users: unexpected reply to users_limit (type %d)%s",
                      reply->type,
                      reply->type == REDIS_REPLY_ERROR
                      ? ": is redis/users.lua loaded?" : "");
        return NGX_ERROR;
    }

    for (i = 0; i < 4; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER
            || reply->element[i]->integer < 0)
        {
            return NGX_ERROR;
        }
    }

    res->allowed = reply->element[0]->integer;
    res->remaining = reply->element[1]->integer;
    res->retry = reply->element[2]->integer;
    res->reset = reply->element[3]->integer;

    res->zone->breaker = 0;

    return NGX_OK;
}


/*
 * Redis failed or its breaker is open: the zone's on_error says what
 * then. The breaker spares the next requests of this worker the wait.
 */

static void
ngx_http_users_limit_failed(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res)
{
    ngx_http_users_limit_zone_t  *z;

    z = res->zone;

    if (z->breaker <= ngx_current_msec) {
        z->breaker = ngx_current_msec + NGX_HTTP_USERS_LIMIT_BREAKER;
    }

    switch (z->on_error) {

    case NGX_HTTP_USERS_LIMIT_LOCAL:
        ngx_http_users_limit_local(res, z->nodes, 0);
        return;

    case NGX_HTTP_USERS_LIMIT_CLOSED:
        ctx->failed = 1;
        res->allowed = 0;
        return;

    default: /* NGX_HTTP_USERS_LIMIT_OPEN */
        res->allowed = 1;
        res->limited = 0;
        ctx->status = NGX_HTTP_USERS_LIMIT_FAILED_OPEN;
        return;
    }
}


/*
 * GCRA in this node's shared memory; share > 1 is a node's part of a
 * limit that several nodes share (Redis failing: on_error=local). Without
 * commit, only says whether the request would pass.
 */

static void
ngx_http_users_limit_local(ngx_http_users_limit_result_t *res,
    ngx_uint_t share, ngx_uint_t commit)
{
    size_t                         size;
    uint32_t                       hash;
    uint64_t                       now, tat, interval, burst, allow_at;
    ngx_http_users_limit_node_t   *node;
    ngx_http_users_limit_shm_t    *shm;
    ngx_http_users_limit_zone_t   *z;

    z = res->zone;
    shm = z->shm->data;

    interval = z->interval * share;
    burst = ngx_max(z->burst / share, 1);

    now = ngx_http_users_limit_now();
    hash = ngx_crc32_short(res->key.data, res->key.len);

    ngx_shmtx_lock(&shm->shpool->mutex);

    ngx_http_users_limit_expire(shm, now, 0);

    node = ngx_http_users_limit_lookup(shm, &res->key, hash);

    if (node == NULL) {
        size = offsetof(ngx_http_users_limit_node_t, data) + res->key.len;

        node = ngx_slab_alloc_locked(shm->shpool, size);

        if (node == NULL) {
            /* the zone is full: the least recently used keys go */
            ngx_http_users_limit_expire(shm, now, 1);
            node = ngx_slab_alloc_locked(shm->shpool, size);
        }

        if (node == NULL) {
            ngx_shmtx_unlock(&shm->shpool->mutex);
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "users_limit_zone \"%V\" is out of memory",
                          &z->name);
            res->allowed = 1;
            res->limited = 0;
            return;
        }

        node->node.key = hash;
        node->len = (u_short) res->key.len;
        node->tat = 0;
        ngx_memcpy(node->data, res->key.data, res->key.len);

        ngx_rbtree_insert(&shm->sh->rbtree, &node->node);

    } else {
        ngx_queue_remove(&node->queue);
    }

    ngx_queue_insert_head(&shm->sh->queue, &node->queue);

    tat = ngx_max(node->tat, now);
    allow_at = tat + interval - burst * interval;

    if (now < allow_at) {
        res->allowed = 0;
        res->remaining = 0;
        res->retry = allow_at - now;
        res->reset = tat - now;

    } else {
        res->allowed = 1;
        res->remaining = (now - allow_at) / interval;
        res->retry = 0;
        res->reset = tat + interval - now;

        if (commit) {
            node->tat = tat + interval;
        }
    }

    res->local = 1;
    res->share = share;

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/* the request passes: the local zones count it now */

static void
ngx_http_users_limit_commit(ngx_http_users_limit_ctx_t *ctx)
{
    ngx_uint_t                      i;
    ngx_http_users_limit_result_t  *res;

    res = ctx->results.elts;

    for (i = 0; i < ctx->results.nelts; i++) {
        if (res[i].limited && res[i].local) {
            ngx_http_users_limit_local(&res[i], res[i].share, 1);
        }
    }
}


/* every limit has said: pass (with headers), 429, or 503 */

static ngx_int_t
ngx_http_users_limit_decide(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx)
{
    ngx_uint_t                      i;
    ngx_http_users_loc_conf_t      *lcf;
    ngx_http_users_limit_result_t  *res, *worst, *rejected;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (ctx->failed) {
        ngx_http_finalize_request(r, ngx_http_users_error_status(r,
                                            NGX_HTTP_SERVICE_UNAVAILABLE));
        return NGX_DONE;
    }

    res = ctx->results.elts;
    worst = NULL;
    rejected = NULL;

    for (i = 0; i < ctx->results.nelts; i++) {
        if (!res[i].limited) {
            continue;
        }

        if (!res[i].allowed && rejected == NULL) {
            rejected = &res[i];
        }

        if (worst == NULL || res[i].remaining < worst->remaining) {
            worst = &res[i];
        }
    }

    if (rejected == NULL) {
        ngx_http_users_limit_commit(ctx);
        ctx->answered = 1;

        if (ctx->status == NGX_HTTP_USERS_LIMIT_NONE) {
            ctx->status = worst ? NGX_HTTP_USERS_LIMIT_PASSED
                                : NGX_HTTP_USERS_LIMIT_NONE;
        }

        if (worst && ngx_http_users_limit_headers(r, worst, 0) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_OK;
    }

    ngx_log_error(lcf->limit_log_level, r->connection->log, 0,
                  "limiting requests%s by zone \"%V\"",
                  lcf->limit_dry_run ? ", dry run," : "",
                  &rejected->zone->name);

    if (lcf->limit_dry_run) {
        ctx->answered = 1;
        ctx->status = NGX_HTTP_USERS_LIMIT_REJECTED_DRY_RUN;
        return NGX_OK;
    }

    ctx->status = NGX_HTTP_USERS_LIMIT_REJECTED;

    return ngx_http_users_limit_reject(r, rejected);
}


static ngx_int_t
ngx_http_users_limit_reject(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res)
{
    u_char     *p;
    time_t      retry;
    ngx_str_t   msg;

    retry = (time_t) ((res->retry + 999999) / 1000000);
    retry = ngx_max(retry, 1);

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 48);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_users_limit_headers(r, res, 1) != NGX_OK
        || ngx_http_users_limit_header(r, "Retry-After", p,
                                       ngx_sprintf(p, "%T", retry) - p)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p += NGX_TIME_T_LEN;

    msg.data = p;
    msg.len = ngx_sprintf(p, "too many requests; retry in %T s", retry) - p;

    ngx_http_finalize_request(r, ngx_http_users_error(r,
                                                  NGX_HTTP_TOO_MANY_REQUESTS,
                                                  "rate_limited", NULL,
                                                  &msg));
    return NGX_DONE;
}


/*
 * draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy: "z";q=300;w=60
 * and RateLimit: "z";r=299;t=1; or the older RateLimit-Limit/-Remaining/
 * -Reset (users_limit_headers legacy).
 */

static ngx_int_t
ngx_http_users_limit_headers(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res, ngx_uint_t rejected)
{
    u_char                       *p, *q;
    time_t                        reset;
    ngx_http_users_loc_conf_t    *lcf;
    ngx_http_users_limit_zone_t  *z;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
    z = res->zone;

    if (lcf->limit_headers == 0 && !rejected) {
        return NGX_OK;
    }

    reset = (time_t) ((res->reset + 999999) / 1000000);

    p = ngx_pnalloc(r->pool, 2 * z->name.len + 4 * NGX_INT_T_LEN + 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (lcf->limit_headers == 2) {
        q = ngx_sprintf(p, "%ui", z->count);
        if (ngx_http_users_limit_header(r, "RateLimit-Limit", p, q - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = q;
        q = ngx_sprintf(p, "%ui", res->remaining);
        if (ngx_http_users_limit_header(r, "RateLimit-Remaining", p, q - p)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = q;
        q = ngx_sprintf(p, "%T", reset);
        return ngx_http_users_limit_header(r, "RateLimit-Reset", p, q - p);
    }

    q = ngx_sprintf(p, "\"%V\";q=%ui;w=%ui", &z->name, z->count, z->window);
    if (ngx_http_users_limit_header(r, "RateLimit-Policy", p, q - p)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = q;
    q = ngx_sprintf(p, "\"%V\";r=%ui;t=%T", &z->name, res->remaining, reset);

    return ngx_http_users_limit_header(r, "RateLimit", p, q - p);
}


static ngx_int_t
ngx_http_users_limit_header(ngx_http_request_t *r, char *name, u_char *value,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}


static ngx_http_users_limit_ctx_t **
ngx_http_users_limit_slot(ngx_http_request_t *r, ngx_uint_t after_auth)
{
    ngx_http_users_req_ctx_t  *rctx;

    rctx = ngx_http_users_req_ctx(r);
    if (rctx == NULL) {
        return NULL;
    }

    return (ngx_http_users_limit_ctx_t **) &rctx->limit[after_auth];
}


static void
ngx_http_users_limit_cleanup(void *data)
{
    ngx_http_users_limit_ctx_t  *ctx = data;

    ngx_uint_t                      i;
    ngx_http_users_limit_result_t  *res;

    res = ctx->results.elts;

    for (i = 0; i < ctx->results.nelts; i++) {
        if (res[i].call) {
            ngx_http_users_redis_cancel(res[i].call);
            res[i].call = NULL;
        }
    }
}


static ngx_int_t
ngx_http_users_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t                   i, status;
    ngx_http_users_req_ctx_t    *rctx;
    ngx_http_users_limit_ctx_t  *ctx;

    rctx = ngx_http_users_req_ctx(r);
    status = NGX_HTTP_USERS_LIMIT_NONE;

    for (i = 0; rctx && i < 2; i++) {
        ctx = rctx->limit[i];

        if (ctx && ctx->status > status) {
            status = ctx->status;
        }
    }

    if (status == NGX_HTTP_USERS_LIMIT_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_http_users_limit_statuses[status].data;
    v->len = ngx_http_users_limit_statuses[status].len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* shared memory: an rbtree of keys and their TAT, least recently used last */

static ngx_int_t
ngx_http_users_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_users_limit_shm_t  *octx = data;

    ngx_http_users_limit_shm_t  *shm;

    shm = shm_zone->data;

    if (octx) {
        shm->sh = octx->sh;
        shm->shpool = octx->shpool;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
        return NGX_OK;
    }

    shm->sh = ngx_slab_alloc(shm->shpool,
                             sizeof(ngx_http_users_limit_shctx_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    ngx_rbtree_init(&shm->sh->rbtree, &shm->sh->sentinel,
                    ngx_http_users_limit_insert);
    ngx_queue_init(&shm->sh->queue);

    return NGX_OK;
}


/* ordered by hash, then by key: the order the lookup walks */

static void
ngx_http_users_limit_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_users_limit_node_t   *n, *t;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            n = (ngx_http_users_limit_node_t *) node;
            t = (ngx_http_users_limit_node_t *) temp;

            p = (ngx_memn2cmp(n->data, t->data, n->len, t->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_users_limit_node_t *
ngx_http_users_limit_lookup(ngx_http_users_limit_shm_t *shm, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                     rc;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_users_limit_node_t  *n;

    node = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        n = (ngx_http_users_limit_node_t *) node;

        rc = ngx_memn2cmp(key->data, n->data, key->len, (size_t) n->len);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Keys whose bucket is full again carry no state: up to two go at each
 * decision, and with force the least recently used goes whatever it is.
 */

static void
ngx_http_users_limit_expire(ngx_http_users_limit_shm_t *shm, uint64_t now,
    ngx_uint_t force)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_users_limit_node_t  *node;

    for (n = 0; n < 3; n++) {

        if (ngx_queue_empty(&shm->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&shm->sh->queue);
        node = ngx_queue_data(q, ngx_http_users_limit_node_t, queue);

        if (node->tat > now && !(force && n == 0)) {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&shm->sh->rbtree, &node->node);
        ngx_slab_free_locked(shm->shpool, node);
    }
}


static uint64_t
ngx_http_users_limit_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000000 + (uint64_t) tp->msec * 1000;
}


/*
 * users_limit_zone name key=$key rate=300r/m [burst=N] [shm=size]
 *                  [redis] [on_error=open|closed|local] [nodes=N];
 */

char *
ngx_http_users_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    char                              *rv;
    ssize_t                            size;
    ngx_str_t                         *value, shm_name;
    ngx_uint_t                         i;
    ngx_http_users_limit_zone_t       *z, **zp;
    ngx_http_users_limit_shm_t        *shm;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (umcf->limit_zones == NULL) {
        umcf->limit_zones = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_users_limit_zone_t *));
        if (umcf->limit_zones == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    zp = umcf->limit_zones->elts;

    for (i = 0; i < umcf->limit_zones->nelts; i++) {
        if (zp[i]->name.len == value[1].len
            && ngx_strncmp(zp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            return "is duplicate";
        }
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_limit_zone_t));
    if (z == NULL) {
        return NGX_CONF_ERROR;
    }

    z->name = value[1];
    z->nodes = 1;
    size = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            value[i].data += 4;
            value[i].len -= 4;

            ccv.cf = cf;
            ccv.value = &value[i];
            ccv.complex_value = &z->key;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            /* keyed by the caller: decided after users_auth */
            z->after_auth = (ngx_strstrn(value[i].data, "$users_", 7 - 1)
                             != NULL);
            continue;
        }

        rv = ngx_http_users_limit_option(cf, z, &value[i], &size);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (z->interval == 0 || z->key.value.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"key\" and \"rate\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (z->burst == 0) {
        /* "300r/m": 300 at once, then one every 200 ms */
        z->burst = z->count;
    }

    if (!z->redis || z->on_error == NGX_HTTP_USERS_LIMIT_LOCAL) {

        shm = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_limit_shm_t));
        if (shm == NULL) {
            return NGX_CONF_ERROR;
        }

        shm_name.len = sizeof("users_limit_") - 1 + z->name.len;
        shm_name.data = ngx_pnalloc(cf->pool, shm_name.len);
        if (shm_name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(shm_name.data, "users_limit_%V", &z->name);

        z->shm = ngx_shared_memory_add(cf, &shm_name,
                                       size ? size : 1024 * 1024,
                                       &ngx_http_users_module);
        if (z->shm == NULL) {
            return NGX_CONF_ERROR;
        }

        z->shm->init = ngx_http_users_limit_init_zone;
        z->shm->data = shm;
    }

    zp = ngx_array_push(umcf->limit_zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = z;

    return NGX_CONF_OK;
}


static char *
ngx_http_users_limit_option(ngx_conf_t *cf, ngx_http_users_limit_zone_t *z,
    ngx_str_t *opt, ssize_t *size)
{
    ngx_int_t  n;
    ngx_str_t  v;

    v.data = ngx_strlchr(opt->data, opt->data + opt->len, '=');
    v.data = v.data ? v.data + 1 : opt->data + opt->len;
    v.len = opt->data + opt->len - v.data;

    if (ngx_strncmp(opt->data, "rate=", 5) == 0) {
        return ngx_http_users_limit_rate(cf, z, &v);
    }

    if (ngx_strcmp(opt->data, "redis") == 0) {
        z->redis = 1;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "burst=", 6) == 0
        || ngx_strncmp(opt->data, "nodes=", 6) == 0)
    {
        n = ngx_atoi(v.data, v.len);
        if (n != NGX_ERROR && n >= 1 && n <= 100000000) {
            if (opt->data[0] == 'b') {
                z->burst = n;
            } else {
                z->nodes = n;
            }
            return NGX_CONF_OK;
        }
    }

    if (ngx_strncmp(opt->data, "shm=", 4) == 0) {
        *size = ngx_parse_size(&v);
        if (*size != NGX_ERROR && *size >= (ssize_t) (8 * ngx_pagesize)) {
            return NGX_CONF_OK;
        }
    }

    if (ngx_strncmp(opt->data, "on_error=", 9) == 0) {
        if (ngx_strcmp(v.data, "open") == 0) {
            z->on_error = NGX_HTTP_USERS_LIMIT_OPEN;
            return NGX_CONF_OK;
        }

        if (ngx_strcmp(v.data, "closed") == 0) {
            z->on_error = NGX_HTTP_USERS_LIMIT_CLOSED;
            return NGX_CONF_OK;
        }

        if (ngx_strcmp(v.data, "local") == 0) {
            z->on_error = NGX_HTTP_USERS_LIMIT_LOCAL;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", opt);
    return NGX_CONF_ERROR;
}


/* "300r/m": 300 a minute; also r/s and r/h */

static char *
ngx_http_users_limit_rate(ngx_conf_t *cf, ngx_http_users_limit_zone_t *z,
    ngx_str_t *value)
{
    size_t     len;
    ngx_int_t  n;

    len = value->len;

    if (len > 3 && ngx_strncmp(value->data + len - 3, "r/s", 3) == 0) {
        z->window = 1;

    } else if (len > 3 && ngx_strncmp(value->data + len - 3, "r/m", 3) == 0) {
        z->window = 60;

    } else if (len > 3 && ngx_strncmp(value->data + len - 3, "r/h", 3) == 0) {
        z->window = 3600;

    } else {
        goto invalid;
    }

    n = ngx_atoi(value->data, len - 3);

    if (n == NGX_ERROR || n < 1 || n > 1000000) {
        goto invalid;
    }

    z->count = n;
    z->interval = (uint64_t) z->window * 1000000 / n;

    if (z->interval == 0) {
        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid rate \"%V\", it must be like 300r/m "
                       "(r/s, r/m or r/h, at most 1000000)", value);
    return NGX_CONF_ERROR;
}


/* users_limit zone ...; */

char *
ngx_http_users_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t                     *value;
    ngx_uint_t                     i, j;
    ngx_array_t                   *zones;
    ngx_http_users_main_conf_t    *umcf;
    ngx_http_users_limit_zone_t  **z, **slot;

    if (lcf->limits != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);
    zones = umcf->limit_zones;

    value = cf->args->elts;

    lcf->limits = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(ngx_http_users_limit_zone_t *));
    if (lcf->limits == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        z = zones ? zones->elts : NULL;

        for (j = 0; z && j < zones->nelts; j++) {
            if (z[j]->name.len == value[i].len
                && ngx_strncmp(z[j]->name.data, value[i].data, value[i].len)
                   == 0)
            {
                break;
            }
        }

        if (z == NULL || j == zones->nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown users_limit_zone \"%V\" "
                               "(define it before its use)", &value[i]);
            return NGX_CONF_ERROR;
        }

        slot = ngx_array_push(lcf->limits);
        if (slot == NULL) {
            return NGX_CONF_ERROR;
        }

        *slot = z[j];
    }

    return NGX_CONF_OK;
}
