
/*
 * ngx_http_users_module: per-worker caches.
 */


#include "ngx_http_users_cache.h"


typedef struct {
    ngx_str_node_t          sn;        /* crc32 and the key */
    ngx_queue_t             queue;
    size_t                  size;      /* of the whole allocation */
    /* the key, then the value */
} ngx_http_users_lru_entry_t;


static ngx_http_users_lru_entry_t *ngx_http_users_lru_find(
    ngx_http_users_lru_t *lru, ngx_str_t *key);
static void ngx_http_users_lru_free(ngx_http_users_lru_t *lru,
    ngx_http_users_lru_entry_t *e);
static u_char *ngx_http_users_cache_copy(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);


/* the pages of this worker */
static ngx_http_users_lru_t  ngx_http_users_pages;


void
ngx_http_users_lru_init(ngx_http_users_lru_t *lru, size_t max)
{
    ngx_rbtree_init(&lru->tree, &lru->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&lru->lru);

    lru->used = 0;
    lru->max = max;
}


void *
ngx_http_users_lru_get(ngx_http_users_lru_t *lru, ngx_str_t *key)
{
    ngx_http_users_lru_entry_t  *e;

    e = ngx_http_users_lru_find(lru, key);
    if (e == NULL) {
        return NULL;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&lru->lru, &e->queue);

    return (u_char *) e + sizeof(ngx_http_users_lru_entry_t)
           + ngx_align(key->len, sizeof(void *));
}


/*
 * size bytes for the value of key, aligned, for the caller to fill; the
 * entry it replaces, and the least recently used past the bound, go.
 * NULL when the cache is off, the value too large, or memory short.
 */

void *
ngx_http_users_lru_put(ngx_http_users_lru_t *lru, ngx_str_t *key,
    size_t size)
{
    u_char                      *p;
    size_t                       klen;
    ngx_queue_t                 *q;
    ngx_http_users_lru_entry_t  *e;

    klen = ngx_align(key->len, sizeof(void *));
    size += sizeof(ngx_http_users_lru_entry_t) + klen;

    if (size > lru->max / 4) {
        return NULL;
    }

    ngx_http_users_lru_delete(lru, key);

    while (lru->used + size > lru->max) {
        q = ngx_queue_last(&lru->lru);
        ngx_http_users_lru_free(lru, ngx_queue_data(q,
                                     ngx_http_users_lru_entry_t, queue));
    }

    e = ngx_alloc(size, ngx_cycle->log);
    if (e == NULL) {
        return NULL;
    }

    p = (u_char *) e + sizeof(ngx_http_users_lru_entry_t);

    e->size = size;
    e->sn.node.key = ngx_crc32_short(key->data, key->len);
    e->sn.str.data = p;
    e->sn.str.len = key->len;

    ngx_memcpy(p, key->data, key->len);

    ngx_rbtree_insert(&lru->tree, &e->sn.node);
    ngx_queue_insert_head(&lru->lru, &e->queue);

    lru->used += size;

    return p + klen;
}


void
ngx_http_users_lru_delete(ngx_http_users_lru_t *lru, ngx_str_t *key)
{
    ngx_http_users_lru_entry_t  *e;

    e = ngx_http_users_lru_find(lru, key);

    if (e) {
        ngx_http_users_lru_free(lru, e);
    }
}


static ngx_http_users_lru_entry_t *
ngx_http_users_lru_find(ngx_http_users_lru_t *lru, ngx_str_t *key)
{
    if (lru->max == 0) {
        return NULL;
    }

    return (ngx_http_users_lru_entry_t *)
           ngx_str_rbtree_lookup(&lru->tree, key,
                                 ngx_crc32_short(key->data, key->len));
}


static void
ngx_http_users_lru_free(ngx_http_users_lru_t *lru,
    ngx_http_users_lru_entry_t *e)
{
    ngx_rbtree_delete(&lru->tree, &e->sn.node);
    ngx_queue_remove(&e->queue);

    lru->used -= e->size;

    ngx_free(e);
}


void
ngx_http_users_cache_init(size_t max)
{
    ngx_http_users_lru_init(&ngx_http_users_pages, max);
}


ngx_http_users_cached_t *
ngx_http_users_cache_get(ngx_str_t *key)
{
    return ngx_http_users_lru_get(&ngx_http_users_pages, key);
}


/* the page, its version and its URLs in one value */

void
ngx_http_users_cache_put(ngx_str_t *key, ngx_str_t *version,
    ngx_http_users_page_t *page, ngx_chain_t *body, off_t len)
{
    u_char                   *p;
    ngx_http_users_cached_t  *c;

    c = ngx_http_users_lru_put(&ngx_http_users_pages, key,
                               sizeof(ngx_http_users_cached_t)
                               + version->len + len + page->next_url.len
                               + page->prev_url.len + page->perms.len);
    if (c == NULL) {
        return;
    }

    c->page = *page;

    p = (u_char *) c + sizeof(ngx_http_users_cached_t);

    p = ngx_http_users_cache_copy(p, &c->version, version);
    p = ngx_http_users_cache_copy(p, &c->page.next_url, &page->next_url);
    p = ngx_http_users_cache_copy(p, &c->page.prev_url, &page->prev_url);
    p = ngx_http_users_cache_copy(p, &c->page.perms, &page->perms);

    c->body.data = p;
    c->body.len = len;

    for ( /* void */ ; body; body = body->next) {
        p = ngx_cpymem(p, body->buf->pos, body->buf->last - body->buf->pos);
    }
}


/* a string that may be null (data == NULL) into the value at p */

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
