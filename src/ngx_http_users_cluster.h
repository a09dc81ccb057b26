
/*
 * ngx_http_users_module: a worker's view of a Redis Cluster.
 *
 * The slot map (slot -> primary, primary -> replicas) read from a node
 * with CLUSTER SHARDS, or CLUSTER SLOTS where that is missing. Refreshes
 * are single-flight and throttled: at most one in flight per worker, at
 * least 100 ms apart, jittered; they follow a MOVED, a CLUSTERDOWN, a
 * node's failure, and every 30 s. While a primary of the map is down the
 * map is read again every 225 to 375 ms until another takes its slots;
 * while a replica is not online (loading, failed), every 5 s.
 */


#ifndef _NGX_HTTP_USERS_CLUSTER_H_INCLUDED_
#define _NGX_HTTP_USERS_CLUSTER_H_INCLUDED_


#include "ngx_http_users_redis_conn.h"
#include "ngx_http_users_cluster_parse.h"


ngx_int_t ngx_http_users_cluster_init(ngx_cycle_t *cycle);
void ngx_http_users_cluster_exit(void);
ngx_http_users_redis_node_t *ngx_http_users_cluster_node(ngx_uint_t slot);
void ngx_http_users_cluster_moved(ngx_uint_t slot,
    ngx_http_users_redis_node_t *node);
void ngx_http_users_cluster_refresh(void);
void ngx_http_users_cluster_node_failed(ngx_http_users_redis_node_t *node);


#endif /* _NGX_HTTP_USERS_CLUSTER_H_INCLUDED_ */
