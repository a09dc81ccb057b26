
/*
 * ngx_http_users_module: one way to answer with a JSON error.
 */


#ifndef _NGX_HTTP_USERS_ERROR_H_INCLUDED_
#define _NGX_HTTP_USERS_ERROR_H_INCLUDED_


#include "ngx_http_users.h"


/*
 * Sends {"error":code,"parameter":param,"message":message} with status
 * and returns what the content handler should finalize the request with.
 * param may be NULL.
 */
ngx_int_t ngx_http_users_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *param, ngx_str_t *message);

/* the body of a status the module answers with, code and message chosen */
ngx_int_t ngx_http_users_error_status(ngx_http_request_t *r,
    ngx_uint_t status);

ngx_int_t ngx_http_users_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, off_t len);


#endif /* _NGX_HTTP_USERS_ERROR_H_INCLUDED_ */
