
/*
 * ngx_http_users_module: the content handler that ties the parts
 * together: query -> store (Redis) -> JSON.
 */


#ifndef _NGX_HTTP_USERS_HANDLER_H_INCLUDED_
#define _NGX_HTTP_USERS_HANDLER_H_INCLUDED_


#include "ngx_http_users.h"


ngx_int_t ngx_http_users_list_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_users_get_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_USERS_HANDLER_H_INCLUDED_ */
