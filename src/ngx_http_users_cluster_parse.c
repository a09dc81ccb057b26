
/*
 * ngx_http_users_module: what Redis Cluster says, read without I/O.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_users_cluster_parse.h"


static ngx_int_t ngx_http_users_cluster_shard(ngx_pool_t *pool,
    redisReply *r, ngx_http_users_cluster_shard_t *shard);
static ngx_int_t ngx_http_users_cluster_ranges(redisReply *r,
    ngx_http_users_cluster_shard_t *shard);
static ngx_int_t ngx_http_users_cluster_member(ngx_pool_t *pool,
    redisReply *r, ngx_http_users_cluster_shard_t *shard);
static ngx_int_t ngx_http_users_cluster_range(ngx_pool_t *pool,
    redisReply *r, ngx_http_users_cluster_shard_t *shard);
static ngx_int_t ngx_http_users_cluster_endpoint(ngx_pool_t *pool,
    redisReply *r, ngx_http_users_cluster_shard_t *shard,
    ngx_uint_t primary);
static ngx_int_t ngx_http_users_cluster_add(ngx_pool_t *pool,
    ngx_http_users_cluster_shard_t *shard, u_char *ip, size_t len,
    long long port, ngx_uint_t primary, ngx_uint_t online);
static ngx_int_t ngx_http_users_cluster_number(redisReply *r,
    long long *n);
static ngx_uint_t ngx_http_users_cluster_is(redisReply *r, char *s);
static ngx_uint_t ngx_http_users_cluster_word(u_char *err, size_t len,
    char *word);


static uint16_t  ngx_http_users_crc16_table[256];


/*
 * CRC16/XMODEM (polynomial 0x1021, initial 0, no reflection), as the
 * Redis Cluster specification defines it; the table is built once.
 */

uint16_t
ngx_http_users_cluster_crc16(u_char *p, size_t len)
{
    uint16_t    crc, c;
    ngx_uint_t  i, b;

    if (ngx_http_users_crc16_table[1] == 0) {
        for (i = 0; i < 256; i++) {
            c = (uint16_t) (i << 8);

            for (b = 0; b < 8; b++) {
                c = (c & 0x8000) ? (uint16_t) ((c << 1) ^ 0x1021)
                                 : (uint16_t) (c << 1);
            }

            ngx_http_users_crc16_table[i] = c;
        }
    }

    crc = 0;

    while (len--) {
        crc = (uint16_t) ((crc << 8)
                          ^ ngx_http_users_crc16_table[((crc >> 8) ^ *p++)
                                                       & 0xff]);
    }

    return crc;
}


/*
 * The hash tag: from the first "{" to the next "}", when something is in
 * between; else the whole key.
 */

ngx_uint_t
ngx_http_users_cluster_slot(u_char *key, size_t len)
{
    u_char  *open, *close;

    open = ngx_strlchr(key, key + len, '{');

    if (open != NULL) {
        close = ngx_strlchr(open + 1, key + len, '}');

        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = close - key;
        }
    }

    return ngx_http_users_cluster_crc16(key, len)
           & (NGX_HTTP_USERS_CLUSTER_SLOTS - 1);
}


/*
 * An error reply's first word: "MOVED 3999 127.0.0.1:6381" and "ASK ..."
 * give the slot and the node; the others say to try again later.
 */

ngx_uint_t
ngx_http_users_cluster_redirect(u_char *err, size_t len, ngx_uint_t *slot,
    ngx_str_t *addr)
{
    u_char      *p, *last, *sp;
    ngx_int_t    n;
    ngx_uint_t   kind;

    if (ngx_http_users_cluster_word(err, len, "MOVED")) {
        kind = NGX_HTTP_USERS_REDIRECT_MOVED;
        p = err + 6;

    } else if (ngx_http_users_cluster_word(err, len, "ASK")) {
        kind = NGX_HTTP_USERS_REDIRECT_ASK;
        p = err + 4;

    } else if (ngx_http_users_cluster_word(err, len, "TRYAGAIN")) {
        return NGX_HTTP_USERS_REDIRECT_TRYAGAIN;

    } else if (ngx_http_users_cluster_word(err, len, "CLUSTERDOWN")) {
        return NGX_HTTP_USERS_REDIRECT_CLUSTERDOWN;

    } else if (ngx_http_users_cluster_word(err, len, "READONLY")) {
        return NGX_HTTP_USERS_REDIRECT_READONLY;

    } else if (ngx_http_users_cluster_word(err, len, "MASTERDOWN")) {
        return NGX_HTTP_USERS_REDIRECT_MASTERDOWN;

    } else if (ngx_http_users_cluster_word(err, len, "LOADING")) {
        return NGX_HTTP_USERS_REDIRECT_LOADING;

    } else {
        return NGX_HTTP_USERS_REDIRECT_NONE;
    }

    /* <slot> <ip>:<port> */

    last = err + len;

    sp = ngx_strlchr(p, last, ' ');
    if (sp == NULL || sp == p || sp + 1 == last) {
        return NGX_HTTP_USERS_REDIRECT_NONE;
    }

    n = ngx_atoi(p, sp - p);
    if (n == NGX_ERROR || n >= NGX_HTTP_USERS_CLUSTER_SLOTS) {
        return NGX_HTTP_USERS_REDIRECT_NONE;
    }

    *slot = n;
    addr->data = sp + 1;
    addr->len = last - addr->data;

    return kind;
}


/* the word, then the end or a space */

static ngx_uint_t
ngx_http_users_cluster_word(u_char *err, size_t len, char *word)
{
    size_t  n;

    n = ngx_strlen(word);

    return len >= n && ngx_strncmp(err, word, n) == 0
           && (len == n || err[n] == ' ');
}


/*
 * CLUSTER SHARDS: [ shard ... ], a shard a map (a flat array in RESP2) of
 * "slots" => [first, last, ...] and "nodes" => [ node map ... ], a node
 * map holding "ip", "port", "role" ("master" or "replica") and "health"
 * ("online", "failed", "loading"). Shards without slots are left out.
 * NGX_DECLINED: not such a reply.
 */

ngx_int_t
ngx_http_users_cluster_parse_shards(ngx_pool_t *pool, redisReply *reply,
    ngx_array_t *shards)
{
    size_t                           i;
    ngx_int_t                        rc;
    ngx_http_users_cluster_shard_t  *shard;

    if (ngx_array_init(shards, pool, 4,
                       sizeof(ngx_http_users_cluster_shard_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        return NGX_DECLINED;
    }

    for (i = 0; i < reply->elements; i++) {
        shard = ngx_array_push(shards);
        if (shard == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_users_cluster_shard(pool, reply->element[i], shard);
        if (rc != NGX_OK) {
            return rc;
        }

        if (shard->ranges.nelts == 0
            || ((ngx_http_users_cluster_member_t *)
                shard->members.elts)[0].primary == 0)
        {
            /* no slots, or no primary (yet): not part of the map */
            shards->nelts--;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_shard(ngx_pool_t *pool, redisReply *r,
    ngx_http_users_cluster_shard_t *shard)
{
    size_t       i, k;
    ngx_int_t    rc;
    redisReply  *v;

    if (ngx_array_init(&shard->ranges, pool, 2, sizeof(ngx_uint_t))
        != NGX_OK
        || ngx_array_init(&shard->members, pool, 2,
                          sizeof(ngx_http_users_cluster_member_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        return NGX_DECLINED;
    }

    for (i = 0; i < r->elements; i += 2) {
        v = r->element[i + 1];

        if (ngx_http_users_cluster_is(r->element[i], "slots")) {
            rc = ngx_http_users_cluster_ranges(v, shard);

        } else if (ngx_http_users_cluster_is(r->element[i], "nodes")) {
            if (v->type != REDIS_REPLY_ARRAY) {
                return NGX_DECLINED;
            }

            rc = NGX_OK;

            for (k = 0; rc == NGX_OK && k < v->elements; k++) {
                rc = ngx_http_users_cluster_member(pool, v->element[k],
                                                   shard);
            }

        } else {
            rc = NGX_OK;
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_ranges(redisReply *r,
    ngx_http_users_cluster_shard_t *shard)
{
    size_t       i;
    long long    first, last;
    ngx_uint_t  *range;

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        return NGX_DECLINED;
    }

    for (i = 0; i < r->elements; i += 2) {
        if (ngx_http_users_cluster_number(r->element[i], &first) != NGX_OK
            || ngx_http_users_cluster_number(r->element[i + 1], &last)
               != NGX_OK
            || first > last || last >= NGX_HTTP_USERS_CLUSTER_SLOTS)
        {
            return NGX_DECLINED;
        }

        range = ngx_array_push_n(&shard->ranges, 2);
        if (range == NULL) {
            return NGX_ERROR;
        }

        range[0] = (ngx_uint_t) first;
        range[1] = (ngx_uint_t) last;
    }

    return NGX_OK;
}


/* one node map of a shard; the primary goes first */

static ngx_int_t
ngx_http_users_cluster_member(ngx_pool_t *pool, redisReply *r,
    ngx_http_users_cluster_shard_t *shard)
{
    size_t        i;
    long long     port;
    ngx_uint_t    primary, online;
    redisReply   *ip, *k, *v;

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        return NGX_DECLINED;
    }

    ip = NULL;
    port = 0;
    primary = 0;
    online = 0;

    for (i = 0; i < r->elements; i += 2) {
        k = r->element[i];
        v = r->element[i + 1];

        if (ngx_http_users_cluster_is(k, "ip")) {
            ip = v;

        } else if (ngx_http_users_cluster_is(k, "port")) {
            if (ngx_http_users_cluster_number(v, &port) != NGX_OK) {
                return NGX_DECLINED;
            }

        } else if (ngx_http_users_cluster_is(k, "role")) {
            primary = ngx_http_users_cluster_is(v, "master");

        } else if (ngx_http_users_cluster_is(k, "health")) {
            online = ngx_http_users_cluster_is(v, "online");
        }
    }

    if (ip == NULL || ip->type != REDIS_REPLY_STRING || ip->len == 0
        || port == 0)
    {
        /* no address to reach it at */
        return NGX_OK;
    }

    return ngx_http_users_cluster_add(pool, shard, (u_char *) ip->str,
                                      ip->len, port, primary, online);
}


/*
 * CLUSTER SLOTS: [ [first, last, [ip, port, id, ...], replica ...] ... ],
 * one entry a range; the ranges of one primary become one shard.
 */

ngx_int_t
ngx_http_users_cluster_parse_slots(ngx_pool_t *pool, redisReply *reply,
    ngx_array_t *shards)
{
    size_t                           i;
    ngx_int_t                        rc;
    ngx_http_users_cluster_shard_t  *shard;

    if (ngx_array_init(shards, pool, 4,
                       sizeof(ngx_http_users_cluster_shard_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        return NGX_DECLINED;
    }

    for (i = 0; i < reply->elements; i++) {
        shard = ngx_array_push(shards);
        if (shard == NULL
            || ngx_array_init(&shard->ranges, pool, 2, sizeof(ngx_uint_t))
               != NGX_OK
            || ngx_array_init(&shard->members, pool, 2,
                              sizeof(ngx_http_users_cluster_member_t))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = ngx_http_users_cluster_range(pool, reply->element[i], shard);
        if (rc != NGX_OK) {
            return rc;
        }

        if (shard->members.nelts == 0) {
            shards->nelts--;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_range(ngx_pool_t *pool, redisReply *r,
    ngx_http_users_cluster_shard_t *shard)
{
    size_t       i;
    ngx_int_t    rc;
    long long    first, last;
    ngx_uint_t  *range;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
        || ngx_http_users_cluster_number(r->element[0], &first) != NGX_OK
        || ngx_http_users_cluster_number(r->element[1], &last) != NGX_OK
        || first > last || last >= NGX_HTTP_USERS_CLUSTER_SLOTS)
    {
        return NGX_DECLINED;
    }

    range = ngx_array_push_n(&shard->ranges, 2);
    if (range == NULL) {
        return NGX_ERROR;
    }

    range[0] = (ngx_uint_t) first;
    range[1] = (ngx_uint_t) last;

    for (i = 2; i < r->elements; i++) {
        rc = ngx_http_users_cluster_endpoint(pool, r->element[i], shard,
                                             i == 2);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_endpoint(ngx_pool_t *pool, redisReply *r,
    ngx_http_users_cluster_shard_t *shard, ngx_uint_t primary)
{
    long long    port;
    redisReply  *ip;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || ngx_http_users_cluster_number(r->element[1], &port) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ip = r->element[0];

    if (ip->type != REDIS_REPLY_STRING || ip->len == 0) {
        /* NULL or "": an endpoint Redis does not know */
        return primary ? NGX_DECLINED : NGX_OK;
    }

    return ngx_http_users_cluster_add(pool, shard, (u_char *) ip->str,
                                      ip->len, port, primary, 1);
}


static ngx_int_t
ngx_http_users_cluster_add(ngx_pool_t *pool,
    ngx_http_users_cluster_shard_t *shard, u_char *ip, size_t len,
    long long port, ngx_uint_t primary, ngx_uint_t online)
{
    u_char                           *p;
    ngx_http_users_cluster_member_t  *m, *first;

    if (port < 1 || port > 65535 || len > NGX_SOCKADDR_STRLEN) {
        return NGX_DECLINED;
    }

    m = ngx_array_push(&shard->members);
    if (m == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(pool, len + sizeof(":65535"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    m->addr.data = p;
    m->addr.len = ngx_sprintf(p, "%*s:%i", len, ip, (ngx_int_t) port) - p;
    m->primary = primary;
    m->online = online;

    first = shard->members.elts;

    if (primary && m != first && !first->primary) {
        /* the primary goes first */
        ngx_http_users_cluster_member_t  t;

        t = *first;
        *first = *m;
        *m = t;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_cluster_number(redisReply *r, long long *n)
{
    ngx_int_t  v;

    if (r->type == REDIS_REPLY_INTEGER) {
        *n = r->integer;
        return NGX_OK;
    }

    if (r->type == REDIS_REPLY_STRING) {
        v = ngx_atoi((u_char *) r->str, r->len);
        if (v != NGX_ERROR) {
            *n = v;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_users_cluster_is(redisReply *r, char *s)
{
    size_t  n;

    n = ngx_strlen(s);

    return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
           && r->len == n && ngx_strncmp(r->str, s, n) == 0;
}
