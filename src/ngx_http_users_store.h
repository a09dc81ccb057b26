
/*
 * ngx_http_users_module: the store, i.e. queries -> Redis commands -> rows.
 *
 * Knows the key layout of docs/SCHEMA.md; knows nothing of HTTP
 * parameters or JSON. The planner picks one of two plans:
 *
 * indexed: one sort key and at most one single-valued filter on an
 *   indexed enum: O(log N + page), two round trips
 *   1. MULTI, HGET <meta> ver, ZCARD <index>,
 *      ZRANGE <index> <from> <to> [REV], EXEC
 *      -> the workspace version, the total and the page's ids from one
 *      snapshot (the version validates a cached page: then no step 2);
 *   2. FCALL_RO users_rows ... u <fields...> <ids...> -> the rows.
 *
 * scan: anything else: one FCALL_RO users_query (redis/users.lua) that
 *   filters, orders and pages in one atomic call, examining at most
 *   users_scan_limit users.
 *
 * expands, when asked for, take one more round trip: MULTI, FCALL_RO
 * users_rows for each kind of referenced object, EXEC.
 *
 * Rows come as users_rows sends them (docs/SCHEMA.md, "Rows"): a value
 * too large to send, and every value of a key that is not a hash, reads
 * as absent, and is logged once per key (and field) and worker.
 */


#ifndef _NGX_HTTP_USERS_STORE_H_INCLUDED_
#define _NGX_HTTP_USERS_STORE_H_INCLUDED_


#include "ngx_http_users.h"
#include "ngx_http_users_query.h"


typedef struct {
    ngx_str_t                     version;    /* meta ver; NULL: none */
    ngx_uint_t                    total;
    ngx_array_t                   ids;        /* of ngx_str_t */
    ngx_array_t                   rows;       /* of ngx_http_users_row_t */
} ngx_http_users_result_t;


typedef struct {
    ngx_http_users_redis_cmd_t   *cmds;
    ngx_uint_t                    n;
    ngx_uint_t                    scan;       /* the scan plan */
} ngx_http_users_batch_t;


/* what reading rows needs besides the reply */
typedef struct {
    ngx_pool_t                   *pool;
    ngx_log_t                    *log;       /* flaws are logged here */
    ngx_str_t                    *ws;
    ngx_array_t                  *sources;   /* of ngx_str_t: the fields */
} ngx_http_users_read_t;


ngx_int_t ngx_http_users_store_page(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *ws,
    ngx_http_users_query_t *q, ngx_http_users_batch_t *batch);
ngx_int_t ngx_http_users_store_page_reply(ngx_pool_t *pool,
    redisReply *reply, ngx_http_users_result_t *res);
ngx_int_t ngx_http_users_store_scan_reply(ngx_http_users_read_t *rd,
    redisReply *reply, ngx_http_users_result_t *res);

ngx_int_t ngx_http_users_store_user(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_str_t *id, ngx_array_t *sources, ngx_http_users_batch_t *batch);
ngx_int_t ngx_http_users_store_user_reply(ngx_http_users_read_t *rd,
    redisReply *reply, ngx_str_t *id, ngx_http_users_row_t *row);
ngx_int_t ngx_http_users_store_collect(ngx_pool_t *pool,
    ngx_array_t *sources, ngx_array_t *rows, ngx_array_t *expansions);
ngx_int_t ngx_http_users_store_refs(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_array_t *expansions, ngx_http_users_batch_t *batch);
ngx_int_t ngx_http_users_store_refs_reply(ngx_http_users_read_t *rd,
    redisReply *reply, ngx_array_t *expansions);
ngx_int_t ngx_http_users_store_rows(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_array_t *sources, ngx_http_users_result_t *res,
    ngx_http_users_batch_t *batch);
ngx_int_t ngx_http_users_store_rows_reply(ngx_http_users_read_t *rd,
    redisReply *reply, ngx_http_users_result_t *res);


#endif /* _NGX_HTTP_USERS_STORE_H_INCLUDED_ */
