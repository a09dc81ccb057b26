
/*
 * ngx_http_users_module: rate limits with 429.
 *
 * GCRA (the generic cell rate algorithm) per key, in one of two stores:
 * shared memory (one node, no round trip) or Redis (exact across nodes:
 * one atomic FCALL users_limit a decision). Limits keyed by the caller
 * ($users_* variables) run after users_auth: in the access phase, or for
 * a subrequest (which nginx runs without one) where the module runs
 * users_auth for it. The others run in the preaccess phase, before any
 * token reaches Redis. A main request, its internal redirects and its
 * subrequests are charged once per zone.
 */


#ifndef _NGX_HTTP_USERS_LIMIT_H_INCLUDED_
#define _NGX_HTTP_USERS_LIMIT_H_INCLUDED_


#include "ngx_http_users.h"


typedef enum {
    NGX_HTTP_USERS_LIMIT_OPEN = 0,      /* Redis failing: let pass */
    NGX_HTTP_USERS_LIMIT_CLOSED,        /* ... answer 503 */
    NGX_HTTP_USERS_LIMIT_LOCAL          /* ... limit here, a node's share */
} ngx_http_users_limit_fail_e;


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   definition; /* its arguments, as written */
    ngx_str_t                   file;       /* where it was defined */
    ngx_uint_t                  line;
    ngx_http_complex_value_t    key;
    uint64_t                    interval;   /* us between requests */
    ngx_uint_t                  count;      /* of the rate: q */
    ngx_uint_t                  window;     /* of the rate, s: w */
    ngx_uint_t                  burst;
    ngx_shm_zone_t             *shm;        /* the store, or the fallback */
    ngx_shm_zone_t             *breaker;    /* Redis zones: shared by all */
    ngx_uint_t                  redis;      /* the Redis store */
    ngx_uint_t                  on_error;   /* ngx_http_users_limit_fail_e */
    ngx_uint_t                  nodes;      /* LOCAL: the share's divisor */
    ngx_uint_t                  after_auth; /* the key names the caller */
} ngx_http_users_limit_zone_t;


char *ngx_http_users_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_users_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

ngx_int_t ngx_http_users_limit_init(ngx_conf_t *cf);
ngx_int_t ngx_http_users_limit_variables(ngx_conf_t *cf);

/*
 * the limits keyed by the caller, after users_auth: NGX_DECLINED (passed,
 * or none), NGX_AGAIN (waiting for Redis) or NGX_DONE (answered)
 */
ngx_int_t ngx_http_users_limit_access(ngx_http_request_t *r);


#endif /* _NGX_HTTP_USERS_LIMIT_H_INCLUDED_ */
