
/*
 * ngx_http_users_module: how far replicas lag their primary.
 *
 * While some location reads replicas (users_redis_read replica), every
 * replica_check each worker asks each primary with replicas for its
 * replication offset (INFO replication), then each of its replicas for
 * theirs. A replica whose offset has reached the primary's, under the
 * same replication id, had every write the primary had when it was
 * asked: from then on it is at most (now - that moment) stale. A read
 * may go to it while that is within the location's max_lag.
 */


#ifndef _NGX_HTTP_USERS_REPLICA_H_INCLUDED_
#define _NGX_HTTP_USERS_REPLICA_H_INCLUDED_


#include "ngx_http_users_redis_conn.h"


void ngx_http_users_replica_use(void);
ngx_uint_t ngx_http_users_replica_fresh(ngx_http_users_redis_node_t *node,
    ngx_msec_t max_lag);
void ngx_http_users_replica_exit(void);


#endif /* _NGX_HTTP_USERS_REPLICA_H_INCLUDED_ */
