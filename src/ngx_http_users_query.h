
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
#define NGX_HTTP_USERS_MAX_PAGE       9007199254740991   /* 2^53 - 1 */
#define NGX_HTTP_USERS_MAX_VALUES     100
#define NGX_HTTP_USERS_MAX_VALUE      256


/* one filter as the client used it */
typedef struct {
    ngx_http_users_filter_t     *filter;
    ngx_array_t                  values;       /* of ngx_str_t */
    ngx_array_t                 *tokens;       /* odata: the program */
} ngx_http_users_pred_t;


typedef struct {
    ngx_uint_t                   offset;
    ngx_uint_t                   limit;
    ngx_uint_t                   page;         /* 1-based */
    ngx_array_t                  sort;         /* of sort_key_t */
    ngx_array_t                  preds;        /* of pred_t: all must hold */
} ngx_http_users_query_t;


typedef struct {
    ngx_uint_t                   status;       /* 400, 403 or 422 */
    ngx_str_t                    param;        /* the parameter at fault */
    ngx_str_t                    reason;
} ngx_http_users_query_err_t;


/* perms: the caller's permissions, comma-separated (may be empty) */
ngx_int_t ngx_http_users_query_parse(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *args, ngx_str_t *perms,
    ngx_http_users_query_t *q, ngx_http_users_query_err_t *err);
ngx_int_t ngx_http_users_query_expands(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *args, ngx_array_t **out,
    ngx_http_users_query_err_t *err);
ngx_int_t ngx_http_users_query_replace(ngx_pool_t *pool, ngx_str_t *args,
    ngx_str_t *name, ngx_str_t *value, ngx_str_t *out);
ngx_int_t ngx_http_users_has_perm(ngx_str_t *perms, ngx_str_t *perm);


#endif /* _NGX_HTTP_USERS_QUERY_H_INCLUDED_ */
