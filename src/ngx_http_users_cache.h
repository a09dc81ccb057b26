
/*
 * ngx_http_users_module: a per-worker cache of rendered pages.
 *
 * An entry holds a response body and the workspace version (the "ver"
 * counter every write through redis/users.lua increments) it was built
 * from. It is served only after Redis confirms, in the request's first
 * round trip, that the version is still current: never stale, it saves
 * the second round trip and the rendering. Bounded in bytes, least
 * recently used entries go first.
 */


#ifndef _NGX_HTTP_USERS_CACHE_H_INCLUDED_
#define _NGX_HTTP_USERS_CACHE_H_INCLUDED_


#include "ngx_http_users.h"
#include "ngx_http_users_json.h"


typedef struct {
    ngx_str_t               version;
    ngx_str_t               body;
    ngx_http_users_page_t   page;      /* for headers: numbers and links */
} ngx_http_users_cached_t;


void ngx_http_users_cache_init(size_t max);
ngx_http_users_cached_t *ngx_http_users_cache_get(ngx_str_t *key);
void ngx_http_users_cache_put(ngx_str_t *key, ngx_str_t *version,
    ngx_http_users_page_t *page, ngx_chain_t *body, off_t len);


#endif /* _NGX_HTTP_USERS_CACHE_H_INCLUDED_ */
