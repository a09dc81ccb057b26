
/*
 * ngx_http_users_module: the primary Sentinel names.
 *
 * Each worker asks a sentinel for the master's address (SENTINEL
 * get-master-addr-by-name) and its replicas (SENTINEL replicas), keeps a
 * connection subscribed to +switch-master on one sentinel, and asks again
 * when the primary fails, says it is not one (ROLE, checked on every new
 * connection) or refuses a write (READONLY), and every 30 s. Writes only
 * ever go to the node the sentinels last named master.
 */


#ifndef _NGX_HTTP_USERS_SENTINEL_H_INCLUDED_
#define _NGX_HTTP_USERS_SENTINEL_H_INCLUDED_


#include "ngx_http_users_redis_conn.h"


ngx_int_t ngx_http_users_sentinel_init(ngx_cycle_t *cycle);
void ngx_http_users_sentinel_exit(void);
void ngx_http_users_sentinel_reask(void);
void ngx_http_users_sentinel_node_failed(ngx_http_users_redis_node_t *node);


#endif /* _NGX_HTTP_USERS_SENTINEL_H_INCLUDED_ */
