
/*
 * ngx_http_users_module: what Redis Cluster says, read without I/O.
 *
 * The hash slot of a key (CRC16/XMODEM of its hash tag, modulo 16384),
 * the redirections and retryable errors of a reply, and the slot map of
 * CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS. Pure functions over memory:
 * the unit tests link them alone.
 */


#ifndef _NGX_HTTP_USERS_CLUSTER_PARSE_H_INCLUDED_
#define _NGX_HTTP_USERS_CLUSTER_PARSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/hiredis.h>


#define NGX_HTTP_USERS_CLUSTER_SLOTS   16384


/* what an error reply asks of a client */
typedef enum {
    NGX_HTTP_USERS_REDIRECT_NONE = 0,      /* an answer, to pass on */
    NGX_HTTP_USERS_REDIRECT_MOVED,         /* the slot lives elsewhere */
    NGX_HTTP_USERS_REDIRECT_ASK,           /* this once, ASKING there */
    NGX_HTTP_USERS_REDIRECT_TRYAGAIN,      /* keys split by a migration */
    NGX_HTTP_USERS_REDIRECT_CLUSTERDOWN,   /* a slot is not served */
    NGX_HTTP_USERS_REDIRECT_READONLY,      /* a write reached a replica */
    NGX_HTTP_USERS_REDIRECT_MASTERDOWN,    /* a replica lost its primary */
    NGX_HTTP_USERS_REDIRECT_LOADING        /* the node loads its data */
} ngx_http_users_redirect_e;


typedef struct {
    ngx_str_t            addr;             /* "ip:port", "[ip6]" without [] */
    ngx_uint_t           primary;          /* the shard's primary */
    ngx_uint_t           online;           /* health (SHARDS), else 1 */
} ngx_http_users_cluster_member_t;


typedef struct {
    ngx_array_t          ranges;           /* of ngx_uint_t: first, last */
    ngx_array_t          members;          /* the primary first */
} ngx_http_users_cluster_shard_t;


uint16_t ngx_http_users_cluster_crc16(u_char *p, size_t len);
ngx_uint_t ngx_http_users_cluster_slot(u_char *key, size_t len);
ngx_uint_t ngx_http_users_cluster_redirect(u_char *err, size_t len,
    ngx_uint_t *slot, ngx_str_t *addr);
ngx_int_t ngx_http_users_cluster_parse_shards(ngx_pool_t *pool,
    redisReply *reply, ngx_array_t *shards);
ngx_int_t ngx_http_users_cluster_parse_slots(ngx_pool_t *pool,
    redisReply *reply, ngx_array_t *shards);


#endif /* _NGX_HTTP_USERS_CLUSTER_PARSE_H_INCLUDED_ */
