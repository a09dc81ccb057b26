
/*
 * ngx_http_users_module: Redis connections of a worker.
 *
 * hiredis's async API driven by nginx's event loop. Each worker keeps a
 * few persistent connections; the commands of all requests are pipelined
 * on them. Every call has a timeout (an nginx timer: hiredis 0.14 has
 * none). This part knows Redis and sockets, nothing of users or HTTP
 * beyond the status a failure maps to.
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


typedef struct {
    ngx_str_t          name;             /* as written, for logs */
    ngx_str_t          host;             /* IP literal, NUL-terminated */
    int                port;
    ngx_str_t          unix_path;        /* NUL-terminated, or empty */
    ngx_str_t          user;
    ngx_str_t          password;
    ngx_uint_t         db;
    ngx_uint_t         connections;
    ngx_msec_t         connect_timeout;
    ngx_msec_t         timeout;
} ngx_http_users_redis_conf_t;


typedef struct {
    int                argc;
    const char       **argv;
    size_t            *argvlen;
} ngx_http_users_redis_cmd_t;


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
ngx_int_t ngx_http_users_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_users_redis_conf_t *rcf);
void ngx_http_users_redis_exit_worker(ngx_cycle_t *cycle);

ngx_int_t ngx_http_users_redis_send(ngx_http_users_redis_cmd_t *cmds,
    ngx_uint_t n, ngx_http_users_redis_handler_pt handler, void *data,
    ngx_http_users_redis_call_t **callp);
void ngx_http_users_redis_cancel(ngx_http_users_redis_call_t *call);


#endif /* _NGX_HTTP_USERS_REDIS_H_INCLUDED_ */
