
/*
 * ngx_http_users_module: client parameters -> a validated query.
 *
 * Pure functions over memory: no Redis, no JSON, no I/O.
 */


#ifndef _NGX_HTTP_USERS_QUERY_H_INCLUDED_
#define _NGX_HTTP_USERS_QUERY_H_INCLUDED_


#include "ngx_http_users.h"


#define NGX_HTTP_USERS_MAX_ARGS       4096
#define NGX_HTTP_USERS_MAX_OFFSET     1000000000


typedef struct {
    ngx_uint_t   offset;
    ngx_uint_t   limit;
    ngx_uint_t   page;          /* 1-based; offset / limit + 1 */
    ngx_str_t    sort;          /* the sort index */
    unsigned     desc:1;
} ngx_http_users_query_t;


typedef struct {
    ngx_uint_t   status;        /* 400 or 422 */
    ngx_str_t    param;         /* the parameter at fault */
    ngx_str_t    reason;
} ngx_http_users_query_err_t;


ngx_int_t ngx_http_users_query_parse(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *args,
    ngx_http_users_query_t *q, ngx_http_users_query_err_t *err);
ngx_int_t ngx_http_users_query_replace(ngx_pool_t *pool, ngx_str_t *args,
    ngx_str_t *name, ngx_str_t *value, ngx_str_t *out);


#endif /* _NGX_HTTP_USERS_QUERY_H_INCLUDED_ */
