
/*
 * ngx_http_users_module: the scheme, host and port of the links a page
 * sends (next_url, prev_url, the Link header).
 *
 * The request's host (the authority of an absolute request line, of
 * HTTP/2's and HTTP/3's :authority, else the Host header) is used only
 * when it is one of the server's server_name values; otherwise the first
 * server_name that is a plain host name, else the connection's local
 * address. The port is the one the client wrote with an accepted host;
 * with a host that was not accepted (or none), the connection's local
 * port. A scheme's default port is never written. No URL ever has an
 * empty host.
 */


#ifndef _NGX_HTTP_USERS_HOST_H_INCLUDED_
#define _NGX_HTTP_USERS_HOST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_str_t    host;        /* lower case, without a trailing dot */
    ngx_uint_t   port;        /* 0: none written */
} ngx_http_users_host_t;


extern ngx_module_t  ngx_http_users_host_module;


ngx_int_t ngx_http_users_host_base(ngx_http_request_t *r, ngx_str_t *base);
ngx_int_t ngx_http_users_host_parse(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_http_users_host_t *h);
ngx_uint_t ngx_http_users_host_match(ngx_str_t *name, ngx_str_t *host);
u_char *ngx_http_users_host_url(u_char *p, ngx_uint_t https,
    ngx_http_users_host_t *h);


#endif /* _NGX_HTTP_USERS_HOST_H_INCLUDED_ */
