
/*
 * ngx_http_users_module: a per-worker cache of rendered pages.
 */


#include "ngx_http_users_cache.h"


typedef struct {
    ngx_str_node_t            sn;       /* crc32 and the cache key */
    ngx_queue_t               queue;    /* most recently used first */
    size_t                    size;     /* of the whole allocation */
    ngx_http_users_cached_t   data;
} ngx_http_users_cache_entry_t;


static ngx_http_users_cache_entry_t *ngx_http_users_cache_find(
    ngx_str_t *key, uint32_t hash);
static void ngx_http_users_cache_free(ngx_http_users_cache_entry_t *e);
static u_char *ngx_http_users_cache_copy(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);


/* per worker */
static ngx_rbtree_t       ngx_http_users_cache_tree;
static ngx_rbtree_node_t  ngx_http_users_cache_sentinel;
static ngx_queue_t        ngx_http_users_cache_lru;
static size_t             ngx_http_users_cache_used;
static size_t             ngx_http_users_cache_max;


void
ngx_http_users_cache_init(size_t max)
{
    ngx_rbtree_init(&ngx_http_users_cache_tree,
                    &ngx_http_users_cache_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_http_users_cache_lru);

    ngx_http_users_cache_used = 0;
    ngx_http_users_cache_max = max;
}


ngx_http_users_cached_t *
ngx_http_users_cache_get(ngx_str_t *key)
{
    ngx_http_users_cache_entry_t  *e;

    if (ngx_http_users_cache_max == 0) {
        return NULL;
    }

    e = ngx_http_users_cache_find(key, ngx_crc32_short(key->data, key->len));
    if (e == NULL) {
        return NULL;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&ngx_http_users_cache_lru, &e->queue);

    return &e->data;
}


/*
 * One allocation holds the entry, the key, the body and the URLs; the
 * entry it replaces, and the least recently used ones past the bound,
 * are freed.
 */

void
ngx_http_users_cache_put(ngx_str_t *key, ngx_str_t *version,
    ngx_http_users_page_t *page, ngx_chain_t *body, off_t len)
{
    u_char                        *p;
    size_t                         size;
    uint32_t                       hash;
    ngx_queue_t                   *q;
    ngx_http_users_cache_entry_t  *e;

    size = sizeof(ngx_http_users_cache_entry_t) + key->len + version->len
           + len + page->next_url.len + page->prev_url.len
           + page->perms.len;

    if (size > ngx_http_users_cache_max / 4) {
        return;
    }

    hash = ngx_crc32_short(key->data, key->len);

    e = ngx_http_users_cache_find(key, hash);
    if (e) {
        ngx_http_users_cache_free(e);
    }

    while (ngx_http_users_cache_used + size > ngx_http_users_cache_max) {
        q = ngx_queue_last(&ngx_http_users_cache_lru);
        ngx_http_users_cache_free(ngx_queue_data(q,
                                  ngx_http_users_cache_entry_t, queue));
    }

    e = ngx_alloc(size, ngx_cycle->log);
    if (e == NULL) {
        return;
    }

    e->size = size;
    e->sn.node.key = hash;
    e->data.page = *page;

    p = (u_char *) e + sizeof(ngx_http_users_cache_entry_t);

    e->sn.str.data = p;
    e->sn.str.len = key->len;
    p = ngx_cpymem(p, key->data, key->len);

    e->data.version.data = p;
    e->data.version.len = version->len;
    p = ngx_cpymem(p, version->data, version->len);

    p = ngx_http_users_cache_copy(p, &e->data.page.next_url,
                                  &page->next_url);
    p = ngx_http_users_cache_copy(p, &e->data.page.prev_url,
                                  &page->prev_url);
    p = ngx_http_users_cache_copy(p, &e->data.page.perms, &page->perms);

    e->data.body.data = p;
    e->data.body.len = len;

    for ( /* void */ ; body; body = body->next) {
        p = ngx_cpymem(p, body->buf->pos, body->buf->last - body->buf->pos);
    }

    ngx_rbtree_insert(&ngx_http_users_cache_tree, &e->sn.node);
    ngx_queue_insert_head(&ngx_http_users_cache_lru, &e->queue);

    ngx_http_users_cache_used += size;
}


static ngx_http_users_cache_entry_t *
ngx_http_users_cache_find(ngx_str_t *key, uint32_t hash)
{
    ngx_str_node_t  *sn;

    sn = ngx_str_rbtree_lookup(&ngx_http_users_cache_tree, key, hash);

    return (ngx_http_users_cache_entry_t *) sn;
}


static void
ngx_http_users_cache_free(ngx_http_users_cache_entry_t *e)
{
    ngx_rbtree_delete(&ngx_http_users_cache_tree, &e->sn.node);
    ngx_queue_remove(&e->queue);

    ngx_http_users_cache_used -= e->size;

    ngx_free(e);
}


/* a string that may be null (data == NULL) into the entry at p */

static u_char *
ngx_http_users_cache_copy(u_char *p, ngx_str_t *dst, ngx_str_t *src)
{
    dst->len = src->len;

    if (src->data == NULL) {
        dst->data = NULL;
        return p;
    }

    dst->data = p;

    return ngx_cpymem(p, src->data, src->len);
}
