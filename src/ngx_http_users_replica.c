
/*
 * ngx_http_users_module: how far replicas lag their primary.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_users_replica.h"


/* ms without a replica read after which the checks stop */
#define NGX_HTTP_USERS_REPLICA_IDLE   60000


typedef struct {
    ngx_event_t                    timer;
    ngx_msec_t                     used;       /* the last replica read */
    unsigned                       running:1;
} ngx_http_users_replica_t;


static void ngx_http_users_replica_tick(ngx_event_t *ev);
static void ngx_http_users_replica_primary(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data);
static void ngx_http_users_replica_reply(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_users_replica_info(ngx_http_users_redis_node_t *n,
    ngx_http_users_redis_ask_pt handler);
static ngx_int_t ngx_http_users_replica_field(redisReply *reply,
    const char *name, ngx_str_t *value);


static ngx_http_users_replica_t  ngx_http_users_replica;


/* a read may go to a replica: keep their lag known (checks start now) */

void
ngx_http_users_replica_use(void)
{
    ngx_http_users_replica_t  *rp;

    rp = &ngx_http_users_replica;
    rp->used = ngx_current_msec;

    if (rp->running || ngx_http_users_redis_worker.closing) {
        return;
    }

    rp->running = 1;
    /* the timer's debug lines read data as a connection: not NULL */
    rp->timer.handler = ngx_http_users_replica_tick;
    rp->timer.data = rp;
    rp->timer.log = ngx_cycle->log;
    rp->timer.cancelable = 1;

    ngx_http_users_replica_tick(&rp->timer);
}


ngx_uint_t
ngx_http_users_replica_fresh(ngx_http_users_redis_node_t *node,
    ngx_msec_t max_lag)
{
    return node->fresh
           && (ngx_msec_int_t) (ngx_current_msec - node->fresh)
              <= (ngx_msec_int_t) max_lag;
}


void
ngx_http_users_replica_exit(void)
{
    ngx_http_users_replica_t  *rp;

    rp = &ngx_http_users_replica;

    if (rp->timer.timer_set) {
        ngx_del_timer(&rp->timer);
    }

    rp->running = 0;
}


static void
ngx_http_users_replica_tick(ngx_event_t *ev)
{
    ngx_uint_t                      i;
    ngx_http_users_replica_t       *rp;
    ngx_http_users_redis_node_t    *node;
    ngx_http_users_redis_worker_t  *w;

    rp = &ngx_http_users_replica;
    w = &ngx_http_users_redis_worker;

    if (w->closing || ngx_exiting || ngx_terminate || ngx_quit
        || ngx_current_msec - rp->used > NGX_HTTP_USERS_REPLICA_IDLE)
    {
        rp->running = 0;
        return;
    }

    for (i = 0; i < w->nnodes; i++) {
        node = w->nodes[i];

        if (node->role != NGX_HTTP_USERS_REDIS_PRIMARY
            || node->nreplicas == 0 || node->checking || node->failing)
        {
            continue;
        }

        /* the moment the primary is asked bounds what it has answered */
        node->offset_at = ngx_current_msec;

        if (ngx_http_users_replica_info(node, ngx_http_users_replica_primary)
            == NGX_OK)
        {
            node->checking = 1;
        }
    }

    ngx_add_timer(&rp->timer, w->conf->replica_check);
}


/* the primary's offset: now each replica's, compared with it */

static void
ngx_http_users_replica_primary(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data)
{
    ngx_str_t                       v;
    ngx_uint_t                      i;
    ngx_http_users_redis_node_t    *r;
    ngx_http_users_redis_worker_t  *w;

    w = &ngx_http_users_redis_worker;
    node->checking = 0;

    if (reply == NULL || w->closing
        || ngx_http_users_replica_field(reply, "master_repl_offset", &v)
           != NGX_OK)
    {
        return;
    }

    node->offset = ngx_atoof(v.data, v.len);

    if (node->offset == NGX_ERROR
        || ngx_http_users_replica_field(reply, "master_replid", &v) != NGX_OK
        || v.len >= sizeof(node->replid))
    {
        return;
    }

    ngx_memcpy(node->replid, v.data, v.len);
    node->replid[v.len] = '\0';

    for (i = 0; i < node->nreplicas; i++) {
        r = w->nodes[node->replicas[i]];

        if (r->checking) {
            continue;
        }

        r->offset = node->offset;
        r->offset_at = node->offset_at;
        ngx_memcpy(r->replid, node->replid, sizeof(node->replid));

        if (ngx_http_users_replica_info(r, ngx_http_users_replica_reply)
            == NGX_OK)
        {
            r->checking = 1;
        }
    }
}


static void
ngx_http_users_replica_reply(ngx_http_users_redis_node_t *node,
    redisReply *reply, void *data)
{
    off_t      offset;
    ngx_str_t  v;

    node->checking = 0;

    if (reply == NULL
        || ngx_http_users_replica_field(reply, "master_link_status", &v)
           != NGX_OK
        || v.len != 2 || ngx_strncmp(v.data, "up", 2) != 0
        || ngx_http_users_replica_field(reply, "master_replid", &v) != NGX_OK
        || v.len != ngx_strlen(node->replid)
        || ngx_strncmp(v.data, node->replid, v.len) != 0
        || ngx_http_users_replica_field(reply, "slave_repl_offset", &v)
           != NGX_OK)
    {
        return;
    }

    offset = ngx_atoof(v.data, v.len);

    if (offset == NGX_ERROR || offset < node->offset) {
        ngx_log_debug3(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "users redis: replica %V at %O of %O", &node->name,
                       offset, (off_t) node->offset);
        return;
    }

    node->fresh = node->offset_at;
}


static ngx_int_t
ngx_http_users_replica_info(ngx_http_users_redis_node_t *node,
    ngx_http_users_redis_ask_pt handler)
{
    const char  *argv[2];
    size_t       argvlen[2];

    argv[0] = "INFO";
    argvlen[0] = 4;
    argv[1] = "replication";
    argvlen[1] = 11;

    return ngx_http_users_redis_ask(node, 2, argv, argvlen, handler, NULL);
}


/* "name:value\r\n" of an INFO reply */

static ngx_int_t
ngx_http_users_replica_field(redisReply *reply, const char *name,
    ngx_str_t *value)
{
    u_char  *p, *last, *eol;
    size_t   n;

    if (reply->type != REDIS_REPLY_STRING) {
        return NGX_DECLINED;
    }

    n = ngx_strlen(name);
    p = (u_char *) reply->str;
    last = p + reply->len;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        if ((size_t) (eol - p) > n && ngx_strncmp(p, name, n) == 0
            && p[n] == ':')
        {
            value->data = p + n + 1;
            value->len = eol - value->data;

            if (value->len && value->data[value->len - 1] == '\r') {
                value->len--;
            }

            return NGX_OK;
        }

        p = eol + 1;
    }

    return NGX_DECLINED;
}
