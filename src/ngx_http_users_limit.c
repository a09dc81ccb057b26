
/*
 * ngx_http_users_module: rate limits with 429.
 */


#include <openssl/sha.h>

#include "ngx_http_users_limit.h"
#include "ngx_http_users_error.h"
#include "ngx_http_users_auth.h"


/* shared memory keeps shorter keys as they are, others as their SHA-256 */
#define NGX_HTTP_USERS_LIMIT_RAW       SHA256_DIGEST_LENGTH
/* Redis keys hold the key itself up to this length, else "#" + hex */
#define NGX_HTTP_USERS_LIMIT_RAW_REDIS 64
/* the nodes a full zone examines for ones without state */
#define NGX_HTTP_USERS_LIMIT_SCAN      64
/* ms between two probes of a failing Redis */
#define NGX_HTTP_USERS_LIMIT_PROBE     200
/* ms without a refused new key that end a full zone's incident */
#define NGX_HTTP_USERS_LIMIT_INCIDENT  60000


typedef struct {
    ngx_str_node_t                 sn;         /* crc32 and the stored key */
    ngx_queue_t                    queue;      /* most recently used first */
    uint64_t                       tat;        /* theoretical arrival, us */
    u_char                         data[1];
} ngx_http_users_limit_node_t;


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
    ngx_uint_t                     nodes;      /* in the tree */
    ngx_uint_t                     full;       /* a new key found no room */
    ngx_msec_t                     full_at;    /* ... last, ngx_current_msec */
} ngx_http_users_limit_shctx_t;


typedef struct {
    ngx_http_users_limit_shctx_t  *sh;
    ngx_slab_pool_t               *shpool;
    ngx_str_t                      name;       /* the zone's */
} ngx_http_users_limit_shm_t;


/* Redis failing: one state for every worker and zone */
typedef struct {
    ngx_atomic_t                   open;       /* 1: Redis is not asked */
    ngx_atomic_t                   probe_at;   /* ms: the next probe */
} ngx_http_users_limit_breaker_t;


typedef enum {
    NGX_HTTP_USERS_LIMIT_OK = 0,
    NGX_HTTP_USERS_LIMIT_UNAVAILABLE,          /* Redis, on_error=closed */
    NGX_HTTP_USERS_LIMIT_FULL                  /* shm, on_error=closed */
} ngx_http_users_limit_failure_e;


/* $users_limit_status, in the order a main request reports them */
typedef enum {
    NGX_HTTP_USERS_LIMIT_NONE = 0,
    NGX_HTTP_USERS_LIMIT_PASSED,
    NGX_HTTP_USERS_LIMIT_FAILED_OPEN,
    NGX_HTTP_USERS_LIMIT_REJECTED_DRY_RUN,
    NGX_HTTP_USERS_LIMIT_REJECTED
} ngx_http_users_limit_status_e;


typedef struct ngx_http_users_limit_ctx_s  ngx_http_users_limit_ctx_t;


/* one zone's decision */
typedef struct {
    ngx_http_users_limit_ctx_t    *ctx;
    ngx_http_users_limit_zone_t   *zone;
    ngx_str_t                      key;
    ngx_str_t                      skey;       /* as shared memory keeps it */
    uint32_t                       hash;       /* crc32 of skey */
    u_char                         md[SHA256_DIGEST_LENGTH];
    ngx_uint_t                     limited;    /* 0: empty key, or open */
    ngx_uint_t                     failed_open;
    ngx_uint_t                     local;      /* decided in shared memory */
    ngx_uint_t                     share;      /* ... with this divisor */
    ngx_uint_t                     allowed;
    ngx_uint_t                     remaining;
    uint64_t                       retry;      /* us */
    uint64_t                       reset;      /* us */
    ngx_http_users_limit_node_t   *node;       /* reserved for a new key */
    ngx_http_users_redis_call_t   *call;       /* asked of Redis */
    ngx_queue_t                    queue;      /* ... in the worker's wait */
} ngx_http_users_limit_result_t;


/* the decision of one request (main or sub) in one phase */
struct ngx_http_users_limit_ctx_s {
    ngx_http_request_t            *request;
    ngx_uint_t                     after_auth;
    ngx_array_t                    results;    /* of limit_result_t */
    ngx_uint_t                     pending;    /* Redis replies to come */
    ngx_uint_t                     failed;     /* limit_failure_e */
    ngx_event_t                    wake;       /* back to the phase */
    unsigned                       busy:1;     /* started, not answered */
    unsigned                       done:1;     /* every zone has said */
};


/* what a main request keeps across redirects and subrequests */
typedef struct {
    ngx_array_t                    paid;       /* of zone_t *: counted */
    ngx_array_t                    ctxs;       /* of limit_ctx_t * */
    ngx_uint_t                     status;     /* limit_status_e */
    ngx_http_request_t            *hr;         /* has the headers below */
    ngx_table_elt_t               *h[3];
    ngx_uint_t                     hremaining;
    uint64_t                       hreset;
} ngx_http_users_limit_state_t;


static ngx_int_t ngx_http_users_limit_preaccess(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_limit_phase(ngx_http_request_t *r,
    ngx_uint_t after_auth);
static ngx_http_users_limit_state_t *ngx_http_users_limit_state(
    ngx_http_request_t *r);
static ngx_http_users_limit_ctx_t *ngx_http_users_limit_ctx(
    ngx_http_request_t *r, ngx_http_users_limit_state_t *st,
    ngx_uint_t after_auth);
static ngx_uint_t ngx_http_users_limit_paid(ngx_http_users_limit_state_t *st,
    ngx_http_users_limit_zone_t *z);
static ngx_int_t ngx_http_users_limit_start(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx);
static ngx_int_t ngx_http_users_limit_key(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res);
static ngx_int_t ngx_http_users_limit_ask(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_reply(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_limit_redis_result(
    ngx_http_users_limit_result_t *res, redisReply *reply);
static void ngx_http_users_limit_ready(ngx_http_users_limit_ctx_t *ctx);
static void ngx_http_users_limit_wake(ngx_event_t *ev);
static void ngx_http_users_limit_failed(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_check(ngx_http_users_limit_result_t *res,
    ngx_uint_t share);
static void ngx_http_users_limit_full(ngx_http_users_limit_result_t *res,
    ngx_uint_t nodes, ngx_uint_t incident);
static void ngx_http_users_limit_charge(ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_release(ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_commit(ngx_http_users_limit_ctx_t *ctx,
    ngx_uint_t charge);
static ngx_int_t ngx_http_users_limit_decide(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx);
static ngx_int_t ngx_http_users_limit_pass(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *worst, ngx_uint_t status);
static ngx_uint_t ngx_http_users_limit_stricter(ngx_uint_t remaining,
    uint64_t reset, ngx_uint_t than_remaining, uint64_t than_reset);
static ngx_int_t ngx_http_users_limit_unavailable(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx);
static ngx_int_t ngx_http_users_limit_headers(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_result_t *res,
    ngx_uint_t rejected);
static ngx_table_elt_t *ngx_http_users_limit_header(ngx_http_request_t *r,
    char *name, u_char *value, size_t len);
static ngx_int_t ngx_http_users_limit_reject(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_result_t *res);
static void ngx_http_users_limit_cleanup(void *data);
static ngx_uint_t ngx_http_users_limit_breaker_open(ngx_http_request_t *r,
    ngx_http_users_limit_zone_t *z);
static void ngx_http_users_limit_trip(ngx_http_users_limit_zone_t *z);
static void ngx_http_users_limit_close(ngx_http_users_limit_zone_t *z);
static void ngx_http_users_limit_probe(ngx_http_users_limit_breaker_t *b,
    ngx_http_users_limit_zone_t *z);
static void ngx_http_users_limit_probed(void *data, redisReply *reply,
    ngx_int_t status);
static void ngx_http_users_limit_wake_all(void);
static ngx_int_t ngx_http_users_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_users_limit_init_breaker(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_users_limit_node_t *ngx_http_users_limit_alloc(
    ngx_http_users_limit_shm_t *shm, ngx_http_users_limit_result_t *res,
    uint64_t now);
static void ngx_http_users_limit_expire(ngx_http_users_limit_shm_t *shm,
    uint64_t now);
static ngx_uint_t ngx_http_users_limit_evict(ngx_http_users_limit_shm_t *shm,
    uint64_t now);
static void ngx_http_users_limit_free(ngx_http_users_limit_shm_t *shm,
    ngx_http_users_limit_node_t *node);
static uint64_t ngx_http_users_limit_now(void);
static ngx_int_t ngx_http_users_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_users_limit_defined(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *definition);
static char *ngx_http_users_limit_rate(ngx_conf_t *cf,
    ngx_http_users_limit_zone_t *z, ngx_str_t *value);
static char *ngx_http_users_limit_option(ngx_conf_t *cf,
    ngx_http_users_limit_zone_t *z, ngx_str_t *opt, ssize_t *size);
static char *ngx_http_users_limit_shm(ngx_conf_t *cf,
    ngx_http_users_limit_zone_t *z, ssize_t size);


static ngx_str_t  ngx_http_users_limit_statuses[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("FAILED_OPEN"),
    ngx_string("REJECTED_DRY_RUN"),
    ngx_string("REJECTED")
};


/* the results of this worker waiting for Redis */
static ngx_queue_t  ngx_http_users_limit_waiting;


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
 * NGX_DECLINED: passed, or nothing to decide; NGX_AGAIN: waiting for
 * Redis; NGX_DONE: answered (429 or 503) and finalized. Zones the main
 * request has paid already, here or in an earlier location or subrequest,
 * are not asked again.
 */

static ngx_int_t
ngx_http_users_limit_phase(ngx_http_request_t *r, ngx_uint_t after_auth)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_http_users_loc_conf_t     *lcf;
    ngx_http_users_limit_ctx_t    *ctx;
    ngx_http_users_limit_zone_t  **z;
    ngx_http_users_limit_state_t  *st;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (lcf->limits == NULL) {
        return NGX_DECLINED;
    }

    z = lcf->limits->elts;

    for (i = 0; i < lcf->limits->nelts; i++) {
        if (z[i]->after_auth == after_auth) {
            break;
        }
    }

    if (i == lcf->limits->nelts) {
        /* none of this location's zones is decided in this phase */
        return NGX_DECLINED;
    }

    st = ngx_http_users_limit_state(r);
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_users_limit_ctx(r, st, after_auth);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->busy) {
        return ctx->done ? ngx_http_users_limit_decide(r, st, ctx)
                         : NGX_AGAIN;
    }

    ctx->results.nelts = 0;
    ctx->pending = 0;
    ctx->failed = NGX_HTTP_USERS_LIMIT_OK;
    ctx->done = 0;

    rc = ngx_http_users_limit_start(r, st, ctx);
    if (rc != NGX_OK) {
        ngx_http_users_limit_commit(ctx, 0);
        return rc;
    }

    if (ctx->results.nelts == 0) {
        return NGX_DECLINED;
    }

    ctx->busy = 1;

    if (ctx->pending) {
        return NGX_AGAIN;
    }

    ctx->done = 1;

    return ngx_http_users_limit_decide(r, st, ctx);
}


static ngx_http_users_limit_state_t *
ngx_http_users_limit_state(ngx_http_request_t *r)
{
    ngx_http_users_req_ctx_t      *rctx;
    ngx_http_users_limit_state_t  *st;

    rctx = ngx_http_users_req_ctx(r);
    if (rctx == NULL) {
        return NULL;
    }

    if (rctx->limit[0]) {
        return rctx->limit[0];
    }

    st = ngx_pcalloc(r->main->pool, sizeof(ngx_http_users_limit_state_t));
    if (st == NULL) {
        return NULL;
    }

    if (ngx_array_init(&st->paid, r->main->pool, 4,
                       sizeof(ngx_http_users_limit_zone_t *))
        != NGX_OK
        || ngx_array_init(&st->ctxs, r->main->pool, 2,
                          sizeof(ngx_http_users_limit_ctx_t *))
           != NGX_OK)
    {
        return NULL;
    }

    rctx->limit[0] = st;

    return st;
}


/* the request's decision in this phase, kept across internal redirects */

static ngx_http_users_limit_ctx_t *
ngx_http_users_limit_ctx(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_uint_t after_auth)
{
    ngx_uint_t                    i;
    ngx_pool_cleanup_t           *cln;
    ngx_http_users_limit_ctx_t  **c, *ctx;

    c = st->ctxs.elts;

    for (i = 0; i < st->ctxs.nelts; i++) {
        if (c[i]->request == r && c[i]->after_auth == after_auth) {
            return c[i];
        }
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_users_limit_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    c = ngx_array_push(&st->ctxs);

    if (ctx == NULL || cln == NULL || c == NULL
        || ngx_array_init(&ctx->results, r->pool, 2,
                          sizeof(ngx_http_users_limit_result_t))
           != NGX_OK)
    {
        return NULL;
    }

    ctx->request = r;
    ctx->after_auth = after_auth;
    ctx->wake.handler = ngx_http_users_limit_wake;
    ctx->wake.data = ctx;
    ctx->wake.log = r->connection->log;

    cln->handler = ngx_http_users_limit_cleanup;
    cln->data = ctx;

    *c = ctx;

    return ctx;
}


static ngx_uint_t
ngx_http_users_limit_paid(ngx_http_users_limit_state_t *st,
    ngx_http_users_limit_zone_t *z)
{
    ngx_uint_t                     i;
    ngx_http_users_limit_zone_t  **paid;

    paid = st->paid.elts;

    for (i = 0; i < st->paid.nelts; i++) {
        if (paid[i] == z) {
            return 1;
        }
    }

    return 0;
}


/* each zone of this phase not paid yet: decided here, or asked of Redis */

static ngx_int_t
ngx_http_users_limit_start(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx)
{
    ngx_uint_t                      i, rejected;
    ngx_http_users_loc_conf_t      *lcf;
    ngx_http_users_limit_zone_t   **z;
    ngx_http_users_limit_result_t  *res;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
    z = lcf->limits->elts;
    rejected = 0;

    for (i = 0; i < lcf->limits->nelts; i++) {

        if (z[i]->after_auth != ctx->after_auth
            || ngx_http_users_limit_paid(st, z[i]))
        {
            continue;
        }

        res = ngx_array_push(&ctx->results);
        if (res == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memzero(res, sizeof(ngx_http_users_limit_result_t));
        res->ctx = ctx;
        res->zone = z[i];

        if (ngx_http_users_limit_key(r, res) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* an empty key is not limited */

        if (res->key.len == 0) {
            res->allowed = 1;
            continue;
        }

        res->limited = 1;

        if (!z[i]->redis) {
            ngx_http_users_limit_check(res, 1);

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

    for (i = 0; i < ctx->results.nelts; i++) {

        if (rejected || ctx->failed) {
            break;
        }

        if (!res[i].limited || !res[i].zone->redis) {
            continue;
        }

        if (ngx_http_users_limit_breaker_open(r, res[i].zone)) {
            ngx_http_users_limit_failed(ctx, &res[i]);
            continue;
        }

        if (ngx_http_users_limit_ask(ctx, &res[i]) != NGX_OK) {
            ngx_http_users_limit_trip(res[i].zone);
            ngx_http_users_limit_failed(ctx, &res[i]);
        }
    }

    return NGX_OK;
}


/* the key, and as shared memory keeps it: itself, or its SHA-256 */

static ngx_int_t
ngx_http_users_limit_key(ngx_http_request_t *r,
    ngx_http_users_limit_result_t *res)
{
    if (ngx_http_complex_value(r, &res->zone->key, &res->key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (res->key.len < NGX_HTTP_USERS_LIMIT_RAW) {
        res->skey = res->key;

    } else {
        SHA256(res->key.data, res->key.len, res->md);
        res->skey.data = res->md;
        res->skey.len = SHA256_DIGEST_LENGTH;
    }

    res->hash = ngx_crc32_short(res->skey.data, res->skey.len);

    return NGX_OK;
}


/*
 * FCALL users_limit 1 users:limit:{<zone>}:<key> <interval us> <burst>;
 * a key over 64 bytes is named by "#" and its SHA-256 in hex
 */

static ngx_int_t
ngx_http_users_limit_ask(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res)
{
    u_char                        *key, *p, interval[NGX_INT64_LEN],
                                   burst[NGX_INT_T_LEN];
    size_t                         len;
    ngx_int_t                      rc;
    const char                    *argv[6];
    size_t                         argvlen[6];
    ngx_http_users_redis_cmd_t     cmd;
    ngx_http_users_limit_zone_t   *z;
    ngx_http_users_redis_route_t   route;

    z = res->zone;

    len = sizeof("users:limit:{}:#") - 1 + z->name.len
          + ngx_max(res->key.len, 2 * SHA256_DIGEST_LENGTH);

    key = ngx_pnalloc(ctx->request->pool, len);
    if (key == NULL) {
        return NGX_ERROR;
    }

    if (res->key.len <= NGX_HTTP_USERS_LIMIT_RAW_REDIS) {
        p = ngx_sprintf(key, "users:limit:{%V}:%V", &z->name, &res->key);

    } else {
        p = ngx_sprintf(key, "users:limit:{%V}:#", &z->name);
        p = ngx_hex_dump(p, res->md, SHA256_DIGEST_LENGTH);
    }

    argv[0] = "FCALL";
    argv[1] = "users_limit";
    argv[2] = "1";
    argv[3] = (char *) key;
    argv[4] = (char *) interval;
    argv[5] = (char *) burst;

    argvlen[0] = 5;
    argvlen[1] = 11;
    argvlen[2] = 1;
    argvlen[3] = p - key;
    argvlen[4] = ngx_sprintf(interval, "%uL", z->interval) - interval;
    argvlen[5] = ngx_sprintf(burst, "%ui", z->burst) - burst;

    cmd.argc = 6;
    cmd.argv = argv;
    cmd.argvlen = argvlen;

    /* a write: its key's primary, never sent twice */

    ngx_memzero(&route, sizeof(ngx_http_users_redis_route_t));
    route.key.data = key;
    route.key.len = p - key;

    rc = ngx_http_users_redis_send(&route, &cmd, 1,
                                   ngx_http_users_limit_reply, res,
                                   &res->call);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_users_limit_waiting.next == NULL) {
        ngx_queue_init(&ngx_http_users_limit_waiting);
    }

    ngx_queue_insert_tail(&ngx_http_users_limit_waiting, &res->queue);

    ctx->pending++;

    return NGX_OK;
}


static void
ngx_http_users_limit_reply(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_limit_result_t  *res = data;

    ngx_http_users_limit_ctx_t  *ctx;

    ctx = res->ctx;

    res->call = NULL;
    ngx_queue_remove(&res->queue);

    if (status != NGX_OK) {
        /* Redis did not answer: the breaker opens for every worker */
        ngx_http_users_limit_trip(res->zone);
        ngx_http_users_limit_failed(ctx, res);

    } else {
        ngx_http_users_limit_close(res->zone);

        if (ngx_http_users_limit_redis_result(res, reply) != NGX_OK) {
            ngx_http_users_limit_failed(ctx, res);
        }
    }

    if (--ctx->pending == 0) {
        ngx_http_users_limit_ready(ctx);
    }
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

    return NGX_OK;
}


/* every zone has said: back to the phase, after this event */

static void
ngx_http_users_limit_ready(ngx_http_users_limit_ctx_t *ctx)
{
    ctx->done = 1;

    /* a decision still starting finds pending == 0 itself */

    if (ctx->busy && !ctx->wake.posted) {
        ngx_post_event(&ctx->wake, &ngx_posted_events);
    }
}


static void
ngx_http_users_limit_wake(ngx_event_t *ev)
{
    ngx_http_users_limit_ctx_t  *ctx = ev->data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* Redis failed, or its breaker is open: the zone's on_error says what */

static void
ngx_http_users_limit_failed(ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *res)
{
    ngx_http_users_limit_zone_t  *z;

    z = res->zone;

    switch (z->on_error) {

    case NGX_HTTP_USERS_LIMIT_LOCAL:
        ngx_http_users_limit_check(res, z->nodes);
        return;

    case NGX_HTTP_USERS_LIMIT_CLOSED:
        ctx->failed = NGX_HTTP_USERS_LIMIT_UNAVAILABLE;
        res->allowed = 0;
        return;

    default: /* NGX_HTTP_USERS_LIMIT_OPEN */
        res->allowed = 1;
        res->limited = 0;
        res->failed_open = 1;
        return;
    }
}


/*
 * GCRA in this node's shared memory, without counting the request yet;
 * share > 1 is a node's part of a limit that several nodes share (Redis
 * failing: on_error=local). A key not seen yet gets a node reserved, put
 * in the tree when the request is charged.
 */

static void
ngx_http_users_limit_check(ngx_http_users_limit_result_t *res,
    ngx_uint_t share)
{
    uint64_t                      now, tat, interval, burst;
    ngx_uint_t                    nodes, incident;
    ngx_http_users_limit_shm_t   *shm;
    ngx_http_users_limit_node_t  *node;
    ngx_http_users_limit_zone_t  *z;

    z = res->zone;
    shm = z->shm->data;

    interval = z->interval * share;
    burst = ngx_max(z->burst / share, 1);

    now = ngx_http_users_limit_now();
    nodes = 0;
    incident = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    ngx_http_users_limit_expire(shm, now);

    node = (ngx_http_users_limit_node_t *)
               ngx_str_rbtree_lookup(&shm->sh->rbtree, &res->skey, res->hash);

    if (node) {
        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&shm->sh->queue, &node->queue);
        tat = ngx_max(node->tat, now);

    } else {
        tat = now;

        if (res->node == NULL) {
            res->node = ngx_http_users_limit_alloc(shm, res, now);
        }

        if (res->node == NULL) {
            /* one log line an incident: refusals less than a minute apart */
            incident = !shm->sh->full
                       || ngx_current_msec - shm->sh->full_at
                          >= NGX_HTTP_USERS_LIMIT_INCIDENT;
            shm->sh->full = 1;
            shm->sh->full_at = ngx_current_msec;
            nodes = shm->sh->nodes;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    res->local = 1;
    res->share = share;

    if (node == NULL && res->node == NULL) {
        ngx_http_users_limit_full(res, nodes, incident);
        return;
    }

    /* allowed when now >= tat + interval - burst * interval */

    if (tat + interval > now + burst * interval) {
        res->allowed = 0;
        res->remaining = 0;
        res->retry = tat + interval - (now + burst * interval);
        res->reset = tat - now;

    } else {
        res->allowed = 1;
        res->remaining = (now + burst * interval - (tat + interval))
                         / interval;
        res->retry = 0;
        res->reset = tat + interval - now;
    }
}


/*
 * No room for a new key, even after the keys without state went: it is
 * not counted. on_error=closed refuses it (503); otherwise it passes.
 */

static void
ngx_http_users_limit_full(ngx_http_users_limit_result_t *res,
    ngx_uint_t nodes, ngx_uint_t incident)
{
    ngx_uint_t                    closed;
    ngx_http_users_limit_zone_t  *z;

    z = res->zone;
    closed = (z->on_error == NGX_HTTP_USERS_LIMIT_CLOSED);

    if (incident) {
        ngx_log_error(NGX_LOG_ERR, res->ctx->request->connection->log, 0,
                      "users_limit_zone \"%V\" is full: its %ui keys are "
                      "all still limited; new keys %s until some are idle "
                      "again (a larger shm= holds more)",
                      &z->name, nodes,
                      closed ? "are refused, 503 (on_error=closed),"
                             : "pass uncounted (on_error)");
    }

    res->local = 0;

    if (closed) {
        res->ctx->failed = NGX_HTTP_USERS_LIMIT_FULL;
        res->allowed = 0;
        return;
    }

    res->allowed = 1;
    res->limited = 0;
    res->failed_open = 1;
}


/* the request passes: the key's node counts it */

static void
ngx_http_users_limit_charge(ngx_http_users_limit_result_t *res)
{
    uint64_t                      now;
    ngx_http_users_limit_shm_t   *shm;
    ngx_http_users_limit_node_t  *node;
    ngx_http_users_limit_zone_t  *z;

    z = res->zone;
    shm = z->shm->data;
    now = ngx_http_users_limit_now();

    ngx_shmtx_lock(&shm->shpool->mutex);

    node = (ngx_http_users_limit_node_t *)
               ngx_str_rbtree_lookup(&shm->sh->rbtree, &res->skey, res->hash);

    if (node == NULL) {
        /* new, or idle and freed since the check */

        node = res->node;
        res->node = NULL;

        if (node == NULL) {
            node = ngx_http_users_limit_alloc(shm, res, now);
        }

        if (node) {
            ngx_rbtree_insert(&shm->sh->rbtree, &node->sn.node);
            ngx_queue_insert_head(&shm->sh->queue, &node->queue);
            shm->sh->nodes++;
        }

    } else if (res->node) {
        /* another request of this key came first */
        ngx_slab_free_locked(shm->shpool, res->node);
        res->node = NULL;
    }

    if (node) {
        node->tat = ngx_max(node->tat, now) + z->interval * res->share;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


static void
ngx_http_users_limit_release(ngx_http_users_limit_result_t *res)
{
    ngx_http_users_limit_shm_t  *shm;

    if (res->node == NULL) {
        return;
    }

    shm = res->zone->shm->data;

    ngx_shmtx_lock(&shm->shpool->mutex);
    ngx_slab_free_locked(shm->shpool, res->node);
    ngx_shmtx_unlock(&shm->shpool->mutex);

    res->node = NULL;
}


/* charge: the request passes, the local zones count it; else nothing */

static void
ngx_http_users_limit_commit(ngx_http_users_limit_ctx_t *ctx,
    ngx_uint_t charge)
{
    ngx_uint_t                      i;
    ngx_http_users_limit_result_t  *res;

    res = ctx->results.elts;

    for (i = 0; i < ctx->results.nelts; i++) {
        if (charge && res[i].limited && res[i].local) {
            ngx_http_users_limit_charge(&res[i]);
        }

        ngx_http_users_limit_release(&res[i]);
    }
}


/* every limit has said: pass (with headers), 429, or 503 */

static ngx_int_t
ngx_http_users_limit_decide(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx)
{
    ngx_uint_t                      i, status;
    ngx_http_users_loc_conf_t      *lcf;
    ngx_http_users_limit_result_t  *res, *worst, *rejected;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    ctx->busy = 0;

    if (ctx->failed) {
        ngx_http_users_limit_commit(ctx, 0);
        return ngx_http_users_limit_unavailable(r, ctx);
    }

    res = ctx->results.elts;
    worst = NULL;
    rejected = NULL;
    status = NGX_HTTP_USERS_LIMIT_NONE;

    for (i = 0; i < ctx->results.nelts; i++) {
        if (res[i].failed_open) {
            status = NGX_HTTP_USERS_LIMIT_FAILED_OPEN;
        }

        if (!res[i].limited) {
            continue;
        }

        if (!res[i].allowed && rejected == NULL) {
            rejected = &res[i];
        }

        if (worst == NULL
            || ngx_http_users_limit_stricter(res[i].remaining, res[i].reset,
                                             worst->remaining, worst->reset))
        {
            worst = &res[i];
        }
    }

    if (rejected == NULL) {
        return ngx_http_users_limit_pass(r, st, ctx, worst, status);
    }

    ngx_log_error(lcf->limit_log_level, r->connection->log, 0,
                  "limiting requests%s by zone \"%V\"",
                  lcf->limit_dry_run ? ", dry run," : "",
                  &rejected->zone->name);

    ngx_http_users_limit_commit(ctx, 0);

    if (lcf->limit_dry_run) {
        return ngx_http_users_limit_pass(r, st, ctx, NULL,
                                        NGX_HTTP_USERS_LIMIT_REJECTED_DRY_RUN);
    }

    st->status = NGX_HTTP_USERS_LIMIT_REJECTED;

    return ngx_http_users_limit_reject(r, st, rejected);
}


/* the zones decided are paid for the main request; headers of the worst */

static ngx_int_t
ngx_http_users_limit_pass(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_ctx_t *ctx,
    ngx_http_users_limit_result_t *worst, ngx_uint_t status)
{
    ngx_uint_t                      i;
    ngx_http_users_limit_zone_t   **paid;
    ngx_http_users_limit_result_t  *res;

    if (status == NGX_HTTP_USERS_LIMIT_NONE && worst) {
        status = NGX_HTTP_USERS_LIMIT_PASSED;
    }

    if (status != NGX_HTTP_USERS_LIMIT_REJECTED_DRY_RUN) {
        ngx_http_users_limit_commit(ctx, 1);
    }

    res = ctx->results.elts;

    for (i = 0; i < ctx->results.nelts; i++) {
        paid = ngx_array_push(&st->paid);
        if (paid == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *paid = res[i].zone;
    }

    st->status = ngx_max(st->status, status);

    if (worst && ngx_http_users_limit_headers(r, st, worst, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/* fewer requests left, or as many and longer until the bucket is full */

static ngx_uint_t
ngx_http_users_limit_stricter(ngx_uint_t remaining, uint64_t reset,
    ngx_uint_t than_remaining, uint64_t than_reset)
{
    return remaining < than_remaining
           || (remaining == than_remaining && reset > than_reset);
}


static ngx_int_t
ngx_http_users_limit_unavailable(ngx_http_request_t *r,
    ngx_http_users_limit_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  msg = ngx_string("too many clients to keep count of; "
                                "retry later");

    if (ctx->failed == NGX_HTTP_USERS_LIMIT_UNAVAILABLE) {
        rc = ngx_http_users_error_status(r, NGX_HTTP_SERVICE_UNAVAILABLE);

    } else if (ngx_http_users_limit_header(r, "Retry-After",
                                           (u_char *) "1", 1)
               == NULL)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_users_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "unavailable", NULL, &msg);
    }

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_users_limit_reject(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_result_t *res)
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

    if (ngx_http_users_limit_headers(r, st, res, 1) != NGX_OK
        || ngx_http_users_limit_header(r, "Retry-After", p,
                                       ngx_sprintf(p, "%T", retry) - p)
           == NULL)
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
 * -Reset (users_limit_headers legacy). One set a response: a stricter
 * zone decided later replaces it, a 429 always does. A subrequest's pass
 * shows on the main request's response, if that is still to be sent.
 */

static ngx_int_t
ngx_http_users_limit_headers(ngx_http_request_t *r,
    ngx_http_users_limit_state_t *st, ngx_http_users_limit_result_t *res,
    ngx_uint_t rejected)
{
    u_char                       *p, *q;
    time_t                        reset;
    ngx_uint_t                    i;
    ngx_http_request_t           *hr;
    ngx_http_users_loc_conf_t    *lcf;
    ngx_http_users_limit_zone_t  *z;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
    z = res->zone;
    hr = rejected ? r : r->main;

    if ((lcf->limit_headers == 0 && !rejected) || hr->header_sent) {
        return NGX_OK;
    }

    if (st->hr == hr) {
        if (!rejected
            && !ngx_http_users_limit_stricter(res->remaining, res->reset,
                                              st->hremaining, st->hreset))
        {
            return NGX_OK;
        }

        for (i = 0; i < 3; i++) {
            if (st->h[i]) {
                st->h[i]->hash = 0;
                st->h[i] = NULL;
            }
        }
    }

    st->hr = hr;
    st->hremaining = res->remaining;
    st->hreset = res->reset;

    reset = (time_t) ((res->reset + 999999) / 1000000);

    p = ngx_pnalloc(r->pool, 2 * z->name.len + 4 * NGX_INT_T_LEN + 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (lcf->limit_headers == 2) {
        q = ngx_sprintf(p, "%ui", z->count);
        st->h[0] = ngx_http_users_limit_header(hr, "RateLimit-Limit", p,
                                               q - p);
        p = q;
        q = ngx_sprintf(p, "%ui", res->remaining);
        st->h[1] = ngx_http_users_limit_header(hr, "RateLimit-Remaining", p,
                                               q - p);
        p = q;
        q = ngx_sprintf(p, "%T", reset);
        st->h[2] = ngx_http_users_limit_header(hr, "RateLimit-Reset", p,
                                               q - p);

        return (st->h[0] && st->h[1] && st->h[2]) ? NGX_OK : NGX_ERROR;
    }

    q = ngx_sprintf(p, "\"%V\";q=%ui;w=%ui", &z->name, z->count, z->window);
    st->h[0] = ngx_http_users_limit_header(hr, "RateLimit-Policy", p, q - p);

    p = q;
    q = ngx_sprintf(p, "\"%V\";r=%ui;t=%T", &z->name, res->remaining, reset);
    st->h[1] = ngx_http_users_limit_header(hr, "RateLimit", p, q - p);

    return (st->h[0] && st->h[1]) ? NGX_OK : NGX_ERROR;
}


static ngx_table_elt_t *
ngx_http_users_limit_header(ngx_http_request_t *r, char *name, u_char *value,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    return h;
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
            ngx_queue_remove(&res[i].queue);
            res[i].call = NULL;
        }

        ngx_http_users_limit_release(&res[i]);
    }

    if (ctx->wake.posted) {
        ngx_delete_posted_event(&ctx->wake);
    }
}


static ngx_int_t
ngx_http_users_limit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t                 status;
    ngx_http_users_req_ctx_t  *rctx;

    rctx = ngx_http_users_req_ctx(r);

    status = (rctx && rctx->limit[0])
             ? ((ngx_http_users_limit_state_t *) rctx->limit[0])->status
             : NGX_HTTP_USERS_LIMIT_NONE;

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


/*
 * The breaker: once Redis fails to answer a limit (down, refused, or no
 * reply within the timeout), no worker asks it for a limit until a probe
 * (PING, one at a time across workers, every 200 ms at most) is answered.
 * Requests never wait for a probe: on_error answers them meanwhile.
 */

static ngx_uint_t
ngx_http_users_limit_breaker_open(ngx_http_request_t *r,
    ngx_http_users_limit_zone_t *z)
{
    ngx_msec_t                       at, lease;
    ngx_http_users_main_conf_t      *umcf;
    ngx_http_users_limit_breaker_t  *b;

    b = z->breaker->data;

    if (!b->open) {
        return 0;
    }

    at = b->probe_at;

    if ((ngx_msec_int_t) (ngx_current_msec - at) >= 0) {

        /* the lease outlasts the probe's timeout: a worker that died */

        umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
        lease = (umcf->redis ? umcf->redis->timeout : 1000)
                + NGX_HTTP_USERS_LIMIT_PROBE;

        if (ngx_atomic_cmp_set(&b->probe_at, at, ngx_current_msec + lease)) {
            ngx_http_users_limit_probe(b, z);
        }
    }

    return 1;
}


static void
ngx_http_users_limit_trip(ngx_http_users_limit_zone_t *z)
{
    ngx_http_users_limit_breaker_t  *b;

    b = z->breaker->data;

    if (ngx_atomic_cmp_set(&b->open, 0, 1)) {
        b->probe_at = ngx_current_msec + NGX_HTTP_USERS_LIMIT_PROBE;

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "users_limit: Redis does not answer; zones decide by "
                      "on_error until it does again");
    }

    ngx_http_users_limit_wake_all();
}


static void
ngx_http_users_limit_close(ngx_http_users_limit_zone_t *z)
{
    ngx_http_users_limit_breaker_t  *b;

    b = z->breaker->data;

    if (b->open && ngx_atomic_cmp_set(&b->open, 1, 0)) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "users_limit: Redis answers again; zones are counted "
                      "there again");
    }
}


static void
ngx_http_users_limit_probe(ngx_http_users_limit_breaker_t *b,
    ngx_http_users_limit_zone_t *z)
{
    u_char                        key[256];
    const char                   *argv[1];
    size_t                        argvlen[1];
    ngx_http_users_redis_cmd_t    cmd;
    ngx_http_users_redis_call_t  *call;
    ngx_http_users_redis_route_t  route;

    argv[0] = "PING";
    argvlen[0] = 4;

    cmd.argc = 1;
    cmd.argv = argv;
    cmd.argvlen = argvlen;

    /* on a cluster, the node of the zone's keys (a long name: some node) */

    ngx_memzero(&route, sizeof(ngx_http_users_redis_route_t));
    route.key.data = key;
    route.key.len = ngx_snprintf(key, sizeof(key), "users:limit:{%V}:",
                                 &z->name)
                    - key;
    route.flags = NGX_HTTP_USERS_REDIS_READ;

    if (ngx_http_users_redis_send(&route, &cmd, 1,
                                  ngx_http_users_limit_probed, b, &call)
        != NGX_OK)
    {
        b->probe_at = ngx_current_msec + NGX_HTTP_USERS_LIMIT_PROBE;
    }
}


static void
ngx_http_users_limit_probed(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_limit_breaker_t  *b = data;

    if (status == NGX_OK && reply->type != REDIS_REPLY_ERROR) {
        if (ngx_atomic_cmp_set(&b->open, 1, 0)) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "users_limit: Redis answers again; zones are "
                          "counted there again");
        }

        return;
    }

    b->probe_at = ngx_current_msec + NGX_HTTP_USERS_LIMIT_PROBE;
}


/* the breaker opened: what waits for Redis in this worker is failed now */

static void
ngx_http_users_limit_wake_all(void)
{
    ngx_queue_t                    *q;
    ngx_http_users_limit_result_t  *res;

    if (ngx_http_users_limit_waiting.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_users_limit_waiting)) {
        q = ngx_queue_head(&ngx_http_users_limit_waiting);
        res = ngx_queue_data(q, ngx_http_users_limit_result_t, queue);

        ngx_queue_remove(q);
        ngx_http_users_redis_cancel(res->call);
        res->call = NULL;

        ngx_http_users_limit_failed(res->ctx, res);

        if (--res->ctx->pending == 0) {
            ngx_http_users_limit_ready(res->ctx);
        }
    }
}


/*
 * Shared memory: nginx's string rbtree of keys (the crc32 of the stored
 * key, then the key) and their TAT, least recently used last.
 */

static ngx_int_t
ngx_http_users_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_users_limit_shm_t  *octx = data;

    size_t                       len;
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

    shm->sh = ngx_slab_calloc(shm->shpool,
                              sizeof(ngx_http_users_limit_shctx_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    ngx_rbtree_init(&shm->sh->rbtree, &shm->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&shm->sh->queue);

    len = sizeof(" in users_limit_zone \"\"") + shm->name.len;

    shm->shpool->log_ctx = ngx_slab_alloc(shm->shpool, len);
    if (shm->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shm->shpool->log_ctx, " in users_limit_zone \"%V\"%Z",
                &shm->name);

    /* a full zone is this module's to report: once, not a line a key */
    shm->shpool->log_nomem = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_limit_init_breaker(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                 *shpool;
    ngx_http_users_limit_breaker_t  *b;

    if (data) {
        b = data;

    } else {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            b = shpool->data;

        } else {
            b = ngx_slab_calloc(shpool,
                                sizeof(ngx_http_users_limit_breaker_t));
            if (b == NULL) {
                return NGX_ERROR;
            }

            shpool->data = b;
        }
    }

    shm_zone->data = b;

    return NGX_OK;
}


/* a node for the result's key, not in the tree yet; NULL: no room */

static ngx_http_users_limit_node_t *
ngx_http_users_limit_alloc(ngx_http_users_limit_shm_t *shm,
    ngx_http_users_limit_result_t *res, uint64_t now)
{
    size_t                        size;
    ngx_http_users_limit_node_t  *node;

    size = offsetof(ngx_http_users_limit_node_t, data) + res->skey.len;

    node = ngx_slab_alloc_locked(shm->shpool, size);

    if (node == NULL && ngx_http_users_limit_evict(shm, now)) {
        node = ngx_slab_alloc_locked(shm->shpool, size);
    }

    if (node == NULL) {
        return NULL;
    }

    node->sn.node.key = res->hash;
    node->sn.str.len = res->skey.len;
    node->sn.str.data = node->data;
    node->tat = 0;

    ngx_memcpy(node->data, res->skey.data, res->skey.len);

    return node;
}


/*
 * A key whose bucket is full again (TAT in the past) carries no state:
 * it is the same as no node. At each decision up to two such go from the
 * least recently used end.
 */

static void
ngx_http_users_limit_expire(ngx_http_users_limit_shm_t *shm, uint64_t now)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_users_limit_node_t  *node;

    for (n = 0; n < 2 && !ngx_queue_empty(&shm->sh->queue); n++) {

        q = ngx_queue_last(&shm->sh->queue);
        node = ngx_queue_data(q, ngx_http_users_limit_node_t, queue);

        if (node->tat > now) {
            return;
        }

        ngx_http_users_limit_free(shm, node);
    }
}


/*
 * The zone is full: up to 64 nodes from the least recently used end are
 * examined; those without state go, those still limited move to the
 * other end (so that the next search examines others) and stay: dropping
 * one would let its client start over with a full bucket.
 */

static ngx_uint_t
ngx_http_users_limit_evict(ngx_http_users_limit_shm_t *shm, uint64_t now)
{
    ngx_uint_t                    n, freed;
    ngx_queue_t                  *q;
    ngx_http_users_limit_node_t  *node;

    freed = 0;
    n = ngx_min(shm->sh->nodes, NGX_HTTP_USERS_LIMIT_SCAN);

    while (n--) {
        q = ngx_queue_last(&shm->sh->queue);
        node = ngx_queue_data(q, ngx_http_users_limit_node_t, queue);

        if (node->tat <= now) {
            ngx_http_users_limit_free(shm, node);
            freed++;
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_insert_head(&shm->sh->queue, q);
    }

    return freed;
}


static void
ngx_http_users_limit_free(ngx_http_users_limit_shm_t *shm,
    ngx_http_users_limit_node_t *node)
{
    ngx_queue_remove(&node->queue);
    ngx_rbtree_delete(&shm->sh->rbtree, &node->sn.node);
    ngx_slab_free_locked(shm->shpool, node);
    shm->sh->nodes--;
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
 *
 * In http or server context; zones are global by name. The same name
 * again with the same arguments (a file included in two servers) is the
 * same zone; with others, an error.
 */

char *
ngx_http_users_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    char                              *rv;
    ssize_t                            size;
    ngx_int_t                          rc;
    ngx_str_t                         *value, definition;
    ngx_uint_t                         i;
    ngx_http_users_limit_zone_t       *z, **zp;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    rc = ngx_http_users_limit_defined(cf, umcf, &definition);
    if (rc != NGX_DECLINED) {
        return (rc == NGX_OK) ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_limit_zone_t));
    if (z == NULL) {
        return NGX_CONF_ERROR;
    }

    z->name = value[1];
    z->definition = definition;
    z->file = cf->conf_file->file.name;
    z->line = cf->conf_file->line;
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

    rv = ngx_http_users_limit_shm(cf, z, size);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    zp = ngx_array_push(umcf->limit_zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = z;

    return NGX_CONF_OK;
}


/*
 * The directive's arguments as one string, for a definition met again.
 * NGX_DECLINED: a new name; NGX_OK: defined so already; NGX_ERROR.
 */

static ngx_int_t
ngx_http_users_limit_defined(ngx_conf_t *cf,
    ngx_http_users_main_conf_t *umcf, ngx_str_t *definition)
{
    u_char                        *p, c;
    size_t                         len;
    ngx_uint_t                     i;
    ngx_str_t                     *value;
    ngx_http_users_limit_zone_t  **zp;

    value = cf->args->elts;

    /* the name goes into headers and Redis hash tags as it is */

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if ((c < 'a' || c > 'z') && (c < 'A' || c > 'Z')
            && (c < '0' || c > '9') && c != '_' && c != '-')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid zone name \"%V\" (letters, digits, "
                               "\"_\" and \"-\")", &value[1]);
            return NGX_ERROR;
        }
    }

    for (len = 0, i = 1; i < cf->args->nelts; i++) {
        len += value[i].len + 1;
    }

    definition->data = ngx_pnalloc(cf->pool, len);
    if (definition->data == NULL) {
        return NGX_ERROR;
    }

    for (p = definition->data, i = 1; i < cf->args->nelts; i++) {
        p = ngx_sprintf(p, i == 1 ? "%V" : " %V", &value[i]);
    }

    definition->len = p - definition->data;

    if (umcf->limit_zones == NULL) {
        umcf->limit_zones = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_users_limit_zone_t *));
        if (umcf->limit_zones == NULL) {
            return NGX_ERROR;
        }
    }

    zp = umcf->limit_zones->elts;

    for (i = 0; i < umcf->limit_zones->nelts; i++) {

        if (zp[i]->name.len != value[1].len
            || ngx_strncmp(zp[i]->name.data, value[1].data, value[1].len)
               != 0)
        {
            continue;
        }

        if (zp[i]->definition.len == definition->len
            && ngx_strncmp(zp[i]->definition.data, definition->data,
                           definition->len)
               == 0)
        {
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "users_limit_zone \"%V\" is already defined "
                           "differently in %V:%ui", &value[1],
                           &zp[i]->file, zp[i]->line);
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * The zone's shared memory (the store, or on_error=local's fallback) and
 * the breaker every Redis zone shares
 */

static char *
ngx_http_users_limit_shm(ngx_conf_t *cf, ngx_http_users_limit_zone_t *z,
    ssize_t size)
{
    ngx_str_t                    name;
    ngx_http_users_limit_shm_t  *shm;

    if (z->redis) {
        ngx_str_set(&name, "users_limit:breaker");

        z->breaker = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                           &ngx_http_users_module);
        if (z->breaker == NULL) {
            return NGX_CONF_ERROR;
        }

        z->breaker->init = ngx_http_users_limit_init_breaker;
    }

    if (z->redis && z->on_error != NGX_HTTP_USERS_LIMIT_LOCAL) {
        return NGX_CONF_OK;
    }

    shm = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_limit_shm_t));
    if (shm == NULL) {
        return NGX_CONF_ERROR;
    }

    shm->name = z->name;

    name.len = sizeof("users_limit_") - 1 + z->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(name.data, "users_limit_%V", &z->name);

    z->shm = ngx_shared_memory_add(cf, &name, size ? size : 1024 * 1024,
                                   &ngx_http_users_module);
    if (z->shm == NULL) {
        return NGX_CONF_ERROR;
    }

    z->shm->init = ngx_http_users_limit_init_zone;
    z->shm->data = shm;

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
