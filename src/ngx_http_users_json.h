
/*
 * ngx_http_users_module: rows + envelope + field types -> JSON.
 *
 * yajl writes straight into buffers of the request's pool. Knows nothing
 * of Redis or of HTTP beyond the URLs it is handed.
 */


#ifndef _NGX_HTTP_USERS_JSON_H_INCLUDED_
#define _NGX_HTTP_USERS_JSON_H_INCLUDED_


#include "ngx_http_users.h"


typedef struct {
    ngx_uint_t   total;
    ngx_uint_t   count;
    ngx_uint_t   offset;
    ngx_uint_t   limit;
    ngx_uint_t   page;
    ngx_uint_t   last_page;
    ngx_uint_t   next_page;     /* 0: null */
    ngx_uint_t   prev_page;     /* 0: null */
    ngx_str_t    next_url;      /* data == NULL: null */
    ngx_str_t    prev_url;
    ngx_str_t    perms;         /* the caller's: fields needing others hide */
    ngx_array_t *expansions;    /* of ngx_http_users_expansion_t, or NULL */
} ngx_http_users_page_t;


ngx_int_t ngx_http_users_json_list(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_http_users_page_t *page,
    ngx_array_t *rows, ngx_chain_t **out, off_t *len);
ngx_int_t ngx_http_users_json_item(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *perms,
    ngx_http_users_row_t *row, ngx_array_t *expansions, ngx_chain_t **out,
    off_t *len);
ngx_int_t ngx_http_users_json_error(ngx_pool_t *pool, const char *code,
    ngx_str_t *param, ngx_str_t *message, ngx_chain_t **out, off_t *len);

ngx_uint_t ngx_http_users_page_number(ngx_http_users_page_t *page,
    ngx_uint_t kind);
size_t ngx_http_users_utf8_fix(u_char *dst, u_char *src, size_t len);
ngx_int_t ngx_http_users_utf8_valid(u_char *p, size_t len);


#endif /* _NGX_HTTP_USERS_JSON_H_INCLUDED_ */
