
/*
 * ngx_http_users_module: the Redis nodes of a worker and their
 * connections (hiredis on nginx events, handshake, backoff, one log line
 * an incident). Shared by the parts below ngx_http_users_redis.h: calls
 * and routing (redis.c), the cluster's slot map (cluster.c), Sentinel
 * (sentinel.c) and replication lag (replica.c). Nothing above them sees
 * these types.
 */


#ifndef _NGX_HTTP_USERS_REDIS_CONN_H_INCLUDED_
#define _NGX_HTTP_USERS_REDIS_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_redis.h"


#define NGX_HTTP_USERS_REDIS_MAX_NODES     1024

/* node kinds */
#define NGX_HTTP_USERS_REDIS_DATA          0
#define NGX_HTTP_USERS_REDIS_SENTINEL_NODE 1

/* node roles, as the slot map or Sentinel last said */
#define NGX_HTTP_USERS_REDIS_UNKNOWN       0
#define NGX_HTTP_USERS_REDIS_PRIMARY       1
#define NGX_HTTP_USERS_REDIS_REPLICA_ROLE  2


typedef enum {
    NGX_HTTP_USERS_REDIS_DOWN = 0,
    NGX_HTTP_USERS_REDIS_CONNECTING,
    NGX_HTTP_USERS_REDIS_UP
} ngx_http_users_redis_state_e;


typedef struct ngx_http_users_redis_node_s  ngx_http_users_redis_node_t;


typedef struct {
    redisAsyncContext             *ac;         /* NULL while down */
    ngx_http_users_redis_node_t   *node;
    ngx_event_t                    retry;      /* backoff, connect timeout */
    ngx_msec_t                     backoff;
    ngx_http_users_redis_state_e   state;
    ngx_int_t                      fail_status;
    unsigned                       flushing:1; /* in the write handler */
    unsigned                       waiting:1;  /* backoff before connecting */
    unsigned                       verified:1; /* ROLE said master */
} ngx_http_users_redis_peer_t;


struct ngx_http_users_redis_node_s {
    ngx_str_t                      name;       /* for logs: "ip:port" */
    ngx_http_users_redis_addr_t    addr;
    ngx_uint_t                     index;      /* in the worker's table */
    ngx_uint_t                     kind;
    ngx_uint_t                     role;
    ngx_uint_t                     primary;    /* a replica's: index + 1 */
    ngx_uint_t                    *replicas;   /* a primary's: indexes */
    ngx_uint_t                     nreplicas;
    ngx_uint_t                     areplicas;  /* allocated */
    ngx_uint_t                     rr;         /* next replica to read */
    ngx_uint_t                     next;       /* next connection */
    ngx_http_users_redis_peer_t   *peers;      /* NULL until first used */
    ngx_msec_t                     fresh;      /* replica: had every write
                                                  of its primary as of */
    ngx_msec_t                     offset_at;  /* when the primary was
                                                  asked for offset */
    long long                      offset;     /* the primary's offset */
    u_char                         replid[41]; /* the primary's, or "" */
    unsigned                       wanted:1;   /* in the map, or a seed */
    unsigned                       failing:1;  /* an incident is logged */
    unsigned                       checking:1; /* a lag check in flight */
    unsigned                       verify:1;   /* ROLE must say master */
};


typedef struct {
    ngx_http_users_redis_conf_t   *conf;
    ngx_log_t                     *log;
    ngx_http_users_redis_node_t  **nodes;
    ngx_uint_t                     nnodes;
    uint16_t                      *slots;      /* cluster: node index + 1 */
    ngx_uint_t                     primary;    /* otherwise: index + 1 */
    ngx_uint_t                     epoch;      /* map changes */
    ngx_uint_t                     closing;    /* the worker exits */
} ngx_http_users_redis_worker_t;


/* called with the reply of an internal call to one node */
typedef void (*ngx_http_users_redis_ask_pt)(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data);


extern ngx_http_users_redis_worker_t  ngx_http_users_redis_worker;


ngx_http_users_redis_node_t *ngx_http_users_redis_node(
    ngx_http_users_redis_addr_t *addr, ngx_uint_t kind);
ngx_http_users_redis_node_t *ngx_http_users_redis_node_by_name(
    u_char *name, size_t len);
ngx_int_t ngx_http_users_redis_node_usable(ngx_http_users_redis_node_t *node);
ngx_http_users_redis_peer_t *ngx_http_users_redis_node_peer(
    ngx_http_users_redis_node_t *node);
ngx_uint_t ngx_http_users_redis_peer_ready(ngx_http_users_redis_peer_t *peer);
void ngx_http_users_redis_node_open(ngx_http_users_redis_node_t *node);
void ngx_http_users_redis_node_close(ngx_http_users_redis_node_t *node);
void ngx_http_users_redis_peer_reset(ngx_http_users_redis_peer_t *peer,
    ngx_int_t status, const char *why);
void ngx_http_users_redis_node_healthy(ngx_http_users_redis_node_t *node);
ngx_int_t ngx_http_users_redis_attach(redisAsyncContext *ac, void *data);
void ngx_http_users_redis_conn_exit(void);

ngx_int_t ngx_http_users_redis_ask(ngx_http_users_redis_node_t *node,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_users_redis_ask_pt handler, void *data);

ngx_int_t ngx_http_users_redis_replica_add(
    ngx_http_users_redis_node_t *primary,
    ngx_http_users_redis_node_t *replica);


#endif /* _NGX_HTTP_USERS_REDIS_CONN_H_INCLUDED_ */
