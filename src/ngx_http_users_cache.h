
/*
 * ngx_http_users_module: per-worker caches.
 *
 * A bounded least-recently-used map from a string key to a block of
 * bytes, in a worker's own memory: no locks, nothing shared. Two uses:
 *
 * pages: a rendered page and the workspace version (the "ver" counter
 *   every write through redis/users.lua increments) it was built from,
 *   served only after Redis confirms in the request's first round trip
 *   that the version is still current: never stale;
 * tokens: the principal of a bearer token's digest, for a bounded time
 *   (users_auth_cache), and digests Redis does not know, for less.
 */


#ifndef _NGX_HTTP_USERS_CACHE_H_INCLUDED_
#define _NGX_HTTP_USERS_CACHE_H_INCLUDED_


#include "ngx_http_users.h"
#include "ngx_http_users_json.h"


typedef struct {
    ngx_rbtree_t            tree;
    ngx_rbtree_node_t       sentinel;
    ngx_queue_t             lru;       /* most recently used first */
    size_t                  used;
    size_t                  max;       /* 0: off */
} ngx_http_users_lru_t;


typedef struct {
    ngx_str_t               version;
    ngx_str_t               body;
    ngx_http_users_page_t   page;      /* for headers: numbers and links */
} ngx_http_users_cached_t;


void ngx_http_users_lru_init(ngx_http_users_lru_t *lru, size_t max);
void *ngx_http_users_lru_get(ngx_http_users_lru_t *lru, ngx_str_t *key);
void *ngx_http_users_lru_put(ngx_http_users_lru_t *lru, ngx_str_t *key,
    size_t size);
void ngx_http_users_lru_delete(ngx_http_users_lru_t *lru, ngx_str_t *key);

void ngx_http_users_cache_init(size_t max);
ngx_http_users_cached_t *ngx_http_users_cache_get(ngx_str_t *key);
void ngx_http_users_cache_put(ngx_str_t *key, ngx_str_t *version,
    ngx_http_users_page_t *page, ngx_chain_t *body, off_t len);


#endif /* _NGX_HTTP_USERS_CACHE_H_INCLUDED_ */
