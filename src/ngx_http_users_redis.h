
/*
 * ngx_http_users_module: Redis connections of a worker.
 *
 * hiredis's async API driven by nginx's event loop. Each worker keeps a
 * few persistent connections per Redis node; the commands of all requests
 * are pipelined on them. Every call has a timeout (an nginx timer: hiredis
 * 0.14 has none). One Redis, a Redis Cluster (calls routed by the hash
 * slot of the key they name, redirections followed) or a primary found
 * through Sentinel, with optional reads from replicas. This part knows
 * Redis and sockets, nothing of users or HTTP beyond the status a failure
 * maps to.
 */


#ifndef _NGX_HTTP_USERS_REDIS_H_INCLUDED_
#define _NGX_HTTP_USERS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/* failures, numbered as the HTTP statuses they become */
#define NGX_HTTP_USERS_REDIS_UNAVAILABLE   503     /* refused, lost, down */
#define NGX_HTTP_USERS_REDIS_TIMEDOUT      504

/* what a call may be routed to and retried on (route.flags) */
#define NGX_HTTP_USERS_REDIS_READ      0x01  /* no writes: may be sent again
                                                after a lost connection */
#define NGX_HTTP_USERS_REDIS_REPLICA   0x02  /* may be answered by a fresh
                                                replica (with _READ) */
#define NGX_HTTP_USERS_REDIS_SLOT      0x04  /* a function reading keys of
                                                its slot it does not name:
                                                waits out a slot migration */
#define NGX_HTTP_USERS_REDIS_STAY      0x08  /* a later call of a request:
                                                NGX_BUSY rather than another
                                                node than the last call's */

#define NGX_HTTP_USERS_REDIS_SINGLE    0
#define NGX_HTTP_USERS_REDIS_CLUSTER   1
#define NGX_HTTP_USERS_REDIS_SENTINEL  2


typedef struct {
    ngx_str_t          name;             /* as written, for logs */
    ngx_str_t          host;             /* IP literal, NUL-terminated */
    int                port;
    ngx_str_t          unix_path;        /* NUL-terminated, or empty */
} ngx_http_users_redis_addr_t;


typedef struct {
    ngx_str_t          name;             /* the first address, for logs */
    ngx_array_t        addrs;            /* of ngx_http_users_redis_addr_t */
    ngx_uint_t         mode;             /* NGX_HTTP_USERS_REDIS_SINGLE... */
    ngx_str_t          master;           /* sentinel=: the master's name */
    ngx_str_t          sentinel_password;
    ngx_str_t          user;
    ngx_str_t          password;
    ngx_uint_t         db;
    ngx_uint_t         connections;
    ngx_msec_t         connect_timeout;
    ngx_msec_t         timeout;
    ngx_msec_t         replica_check;    /* replication lag, how often */
} ngx_http_users_redis_conf_t;


/* users_redis_read, in a location's conf (the directive's offset) */
typedef struct {
    ngx_uint_t         replica;          /* NGX_CONF_UNSET_UINT: unset */
    ngx_msec_t         max_lag;
} ngx_http_users_redis_read_t;


typedef struct {
    int                argc;
    const char       **argv;
    size_t            *argvlen;
} ngx_http_users_redis_cmd_t;


/*
 * Where a call goes. The caller sets key (the Redis key whose hash slot
 * picks the node: users:{ws} for a workspace, a token's or a limit's own
 * key), flags and, with NGX_HTTP_USERS_REDIS_REPLICA, max_lag. node is
 * the redis part's: zero it before a request's first call and keep the
 * struct for its later calls (NGX_HTTP_USERS_REDIS_STAY).
 */
typedef struct {
    ngx_str_t          key;
    ngx_uint_t         flags;
    ngx_msec_t         max_lag;          /* a replica at most this stale */
    ngx_uint_t         node;             /* the last call's node + 1 */
} ngx_http_users_redis_route_t;


/*
 * status is NGX_OK with a reply, or NGX_HTTP_USERS_REDIS_UNAVAILABLE or
 * NGX_HTTP_USERS_REDIS_TIMEDOUT with reply == NULL. The reply is freed
 * by hiredis when the handler returns: copy what you keep.
 */
typedef void (*ngx_http_users_redis_handler_pt)(void *data,
    redisReply *reply, ngx_int_t status);

typedef struct ngx_http_users_redis_call_s  ngx_http_users_redis_call_t;


char *ngx_http_users_redis_parse(ngx_conf_t *cf,
    ngx_http_users_redis_conf_t *rcf);
char *ngx_http_users_redis_read(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_users_redis_read_merge(ngx_http_users_redis_read_t *conf,
    ngx_http_users_redis_read_t *prev);
ngx_int_t ngx_http_users_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_users_redis_conf_t *rcf);
void ngx_http_users_redis_exit_worker(ngx_cycle_t *cycle);

/*
 * One command, or a MULTI ... EXEC batch whose commands all name keys of
 * the route's slot; the handler gets the last command's reply. NGX_OK:
 * the handler will be called (never from within this function);
 * NGX_DECLINED: the node is unavailable (every connection waits out its
 * backoff): fail fast; NGX_BUSY: (STAY) the request's data would come
 * from another node than before; NGX_ERROR.
 */
ngx_int_t ngx_http_users_redis_send(ngx_http_users_redis_route_t *route,
    ngx_http_users_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_users_redis_handler_pt handler, void *data,
    ngx_http_users_redis_call_t **callp);
void ngx_http_users_redis_cancel(ngx_http_users_redis_call_t *call);


#endif /* _NGX_HTTP_USERS_REDIS_H_INCLUDED_ */
