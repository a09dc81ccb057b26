
/*
 * ngx_http_users_module: the content handlers, users_list and users_get.
 *
 *   parse + validate (no I/O) -> round trip 1: version, total, ids
 *                                (a cached page at that version: done)
 *                             -> round trip 2: the rows -> JSON
 *   (or one users_query call for plans no index answers; expands add a
 *   round trip for the objects the users refer to)
 */


#include "ngx_http_users_handler.h"
#include "ngx_http_users_query.h"
#include "ngx_http_users_store.h"
#include "ngx_http_users_json.h"
#include "ngx_http_users_error.h"
#include "ngx_http_users_cache.h"
#include "ngx_http_users_auth.h"
#include "ngx_http_users_host.h"


typedef struct {
    ngx_http_request_t           *request;
    ngx_http_users_loc_conf_t    *lcf;
    ngx_http_users_query_t        query;
    ngx_str_t                     workspace;
    ngx_str_t                     perms;       /* the caller's */
    ngx_uint_t                    scan;        /* the scan plan */
    ngx_str_t                     cache_key;   /* NULL: not cached */
    ngx_array_t                  *expansions;  /* asked for, or NULL */
    ngx_uint_t                    expanded;    /* their objects are in */
    ngx_str_t                     item_id;     /* users_get: the id */
    ngx_array_t                   item;        /* users_get: its one row */
    ngx_http_users_result_t       result;
    ngx_http_users_redis_route_t  route;       /* users:{ws}, the node */
    ngx_uint_t                    stay;        /* the rows: as the page */
    ngx_uint_t                    restarted;   /* the page read again */
    ngx_http_users_redis_call_t  *call;        /* NULL: none in flight */
} ngx_http_users_ctx_t;


static ngx_int_t ngx_http_users_version(ngx_http_request_t *r,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *reason);
static ngx_int_t ngx_http_users_workspace(ngx_http_request_t *r,
    ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_scope(ngx_http_request_t *r,
    ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_self(ngx_http_request_t *r,
    ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_not_found(ngx_http_request_t *r,
    ngx_str_t *what);
static ngx_int_t ngx_http_users_start(ngx_http_request_t *r,
    ngx_http_users_ctx_t **ctxp);
static void ngx_http_users_user_done(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_headers(ngx_http_users_ctx_t *ctx,
    ngx_http_users_page_t *page);
static ngx_int_t ngx_http_users_link(ngx_http_request_t *r,
    ngx_http_users_page_t *page, ngx_str_t *value);
static u_char *ngx_http_users_copy_uri(u_char *dst, u_char *src,
    size_t len);
static ngx_int_t ngx_http_users_send(ngx_http_users_ctx_t *ctx,
    ngx_http_users_batch_t *batch, ngx_http_users_redis_handler_pt handler);
static void ngx_http_users_page_done(void *data, redisReply *reply,
    ngx_int_t status);
static void ngx_http_users_rows_done(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_failed(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t status);
static ngx_int_t ngx_http_users_fetch_rows(ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_respond(ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_links(ngx_http_users_ctx_t *ctx,
    ngx_http_users_page_t *page);
static ngx_int_t ngx_http_users_url(ngx_http_users_ctx_t *ctx,
    ngx_uint_t n, ngx_uint_t keep, ngx_str_t *url);
static ngx_int_t ngx_http_users_base(ngx_http_request_t *r,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *base);
static ngx_int_t ngx_http_users_cache_key(ngx_http_users_ctx_t *ctx);
static ngx_uint_t ngx_http_users_cached(ngx_http_users_ctx_t *ctx,
    ngx_int_t *rc);
static ngx_int_t ngx_http_users_wait(ngx_http_request_t *r, ngx_int_t rc);
static ngx_int_t ngx_http_users_again(ngx_http_users_ctx_t *ctx,
    ngx_http_users_batch_t *batch, ngx_http_users_redis_handler_pt handler);
static ngx_int_t ngx_http_users_restart(ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_expand(ngx_http_users_ctx_t *ctx,
    ngx_array_t *rows);
static void ngx_http_users_refs_done(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_answer(ngx_http_users_ctx_t *ctx);
static ngx_int_t ngx_http_users_item(ngx_http_users_ctx_t *ctx);
static void ngx_http_users_reader(ngx_http_users_ctx_t *ctx,
    ngx_http_users_read_t *rd);
static void ngx_http_users_finish(ngx_http_request_t *r, ngx_int_t rc);
static void ngx_http_users_cleanup(void *data);


static ngx_str_t  ngx_http_users_no_workspace =
    ngx_string("no such workspace");


ngx_int_t
ngx_http_users_list_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    reason;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_batch_t       batch;
    ngx_http_users_query_err_t   err;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_users_error_status(r, NGX_HTTP_NOT_ALLOWED);
    }

    rc = ngx_http_users_start(r, &ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_users_version(r, ctx->lcf, &reason) != NGX_OK) {
        return ngx_http_users_error(r, NGX_HTTP_BAD_REQUEST, "invalid_header",
                                    &ctx->lcf->version_header, &reason);
    }

    rc = ngx_http_users_query_parse(r->pool, ctx->lcf, &r->args, &ctx->perms,
                                    &ctx->query, &err);
    if (rc == NGX_DECLINED) {
        return ngx_http_users_error(r, err.status,
                                    err.status == NGX_HTTP_FORBIDDEN
                                    ? "forbidden" : "invalid_parameter",
                                    &err.param, &err.reason);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_users_query_expands(r->pool, ctx->lcf, &r->args,
                                          &ctx->expansions, &err);
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_users_error(r, err.status, "invalid_parameter",
                                    &err.param, &err.reason);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_users_workspace(r, ctx);

    if (rc == NGX_DECLINED) {
        return ngx_http_users_error(r, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                                    &ngx_http_users_no_workspace);
    }

    if (rc == NGX_OK && ctx->lcf->scope) {
        rc = ngx_http_users_scope(r, ctx);

        if (rc == NGX_DECLINED) {
            return ngx_http_users_not_found(r, &ctx->lcf->scope_filter->field);
        }
    }

    if (rc == NGX_OK && ctx->lcf->see_all && ctx->lcf->auth_realm.len) {
        rc = ngx_http_users_self(r, ctx);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_users_store_page(r->pool, ctx->lcf, &ctx->workspace,
                                  &ctx->query, &batch)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->scan = batch.scan;

    /* expanded objects are not versioned: such pages are not cached */

    if (!ctx->scan && ctx->expansions == NULL
        && ngx_http_users_cache_key(ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_wait(r, ngx_http_users_send(ctx, &batch,
                                                     ngx_http_users_page_done));
}


/*
 * users_version_header: an absent header means the first version; any
 * other value than those listed is refused.
 */

static ngx_int_t
ngx_http_users_version(ngx_http_request_t *r, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *reason)
{
    u_char           *p;
    size_t            len;
    ngx_str_t        *v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (lcf->versions == NULL) {
        return NGX_OK;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == lcf->version_header.len
            && ngx_strncasecmp(h[i].key.data, lcf->version_header.data,
                               h[i].key.len) == 0)
        {
            break;
        }
    }

    v = lcf->versions->elts;
    len = sizeof("must be one of ") - 1;

    h = &h[i];

    for (i = 0; i < lcf->versions->nelts; i++) {
        if (v[i].len == h->value.len
            && ngx_strncmp(v[i].data, h->value.data, v[i].len) == 0)
        {
            return NGX_OK;
        }

        len += v[i].len + 2;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    reason->data = p;
    p = ngx_cpymem(p, "must be one of ", sizeof("must be one of ") - 1);

    for (i = 0; i < lcf->versions->nelts; i++) {
        p = ngx_sprintf(p, i ? ", %V" : "%V", &v[i]);
    }

    reason->len = p - reason->data;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_users_workspace(ngx_http_request_t *r, ngx_http_users_ctx_t *ctx)
{
    u_char     *p, *last;
    ngx_str_t  *ws;

    ws = &ctx->workspace;

    if (ngx_http_complex_value(r, ctx->lcf->workspace, ws) != NGX_OK) {
        return NGX_ERROR;
    }

    /* it goes into key names: the hash tag must stay intact */

    if (ws->len == 0 || ws->len > NGX_HTTP_USERS_MAX_WORKSPACE) {
        goto invalid;
    }

    last = ws->data + ws->len;

    for (p = ws->data; p < last; p++) {
        if (*p <= ' ' || *p == '{' || *p == '}' || *p == ':' || *p == 0x7f) {
            goto invalid;
        }
    }

    return NGX_OK;

invalid:

    return NGX_DECLINED;
}


/* users_scope: the members of one group or project */

static ngx_int_t
ngx_http_users_scope(ngx_http_request_t *r, ngx_http_users_ctx_t *ctx)
{
    ngx_str_t              *v;
    ngx_http_users_pred_t  *pred;

    pred = ngx_array_push(&ctx->query.preds);
    if (pred == NULL) {
        return NGX_ERROR;
    }

    pred->filter = ctx->lcf->scope_filter;
    pred->tokens = NULL;

    if (ngx_array_init(&pred->values, r->pool, 1, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_array_push(&pred->values);
    if (v == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_complex_value(r, ctx->lcf->scope, v) != NGX_OK) {
        return NGX_ERROR;
    }

    if (v->len == 0 || v->len > NGX_HTTP_USERS_MAX_VALUE) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * users_see_all: a caller whose role and permissions hold none of those
 * names sees only itself. (Where users_auth is off there is no caller
 * and no such rule.)
 */

static ngx_int_t
ngx_http_users_self(ngx_http_request_t *r, ngx_http_users_ctx_t *ctx)
{
    ngx_str_t                   *v, *name;
    ngx_uint_t                   i;
    ngx_http_users_pred_t       *pred;
    ngx_http_users_principal_t  *p;

    static ngx_http_users_filter_t  self = {
        ngx_string("self"), NGX_HTTP_USERS_FILTER_IN, ngx_string("id"),
        NGX_HTTP_USERS_KIND_STR, NULL, NULL, NULL, NULL, ngx_null_string,
        NGX_HTTP_USERS_CASE_KEEP, 0, 0, 0
    };

    p = ngx_http_users_principal(r);
    name = ctx->lcf->see_all->elts;

    for (i = 0; p && i < ctx->lcf->see_all->nelts; i++) {
        if (ngx_http_users_allows(p, &name[i])) {
            return NGX_OK;
        }
    }

    pred = ngx_array_push(&ctx->query.preds);
    if (pred == NULL
        || ngx_array_init(&pred->values, r->pool, 1, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    pred->filter = &self;
    pred->tokens = NULL;

    v = ngx_array_push(&pred->values);
    if (v == NULL) {
        return NGX_ERROR;
    }

    /* no principal: an id no user has */
    if (p) {
        *v = p->user;

    } else {
        ngx_str_set(v, "\0");
    }

    return NGX_OK;
}


/* 404 {"error":"not_found","message":"no such project"} */

static ngx_int_t
ngx_http_users_not_found(ngx_http_request_t *r, ngx_str_t *what)
{
    ngx_str_t  msg;

    msg.data = ngx_pnalloc(r->pool, sizeof("no such ") - 1 + what->len);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, "no such %V", what) - msg.data;

    return ngx_http_users_error(r, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                                &msg);
}


/* users_get: one user by id */

ngx_int_t
ngx_http_users_get_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    id;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_batch_t       batch;
    ngx_http_users_query_err_t   err;

    static ngx_str_t  no_user = ngx_string("no such user");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_users_error_status(r, NGX_HTTP_NOT_ALLOWED);
    }

    rc = ngx_http_users_start(r, &ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_complex_value(r, ctx->lcf->item, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->item_id = id;

    rc = ngx_http_users_query_expands(r->pool, ctx->lcf, &r->args,
                                      &ctx->expansions, &err);
    if (rc == NGX_DECLINED) {
        return ngx_http_users_error(r, err.status, "invalid_parameter",
                                    &err.param, &err.reason);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_users_workspace(r, ctx);
    }

    if (rc == NGX_OK && (id.len == 0 || id.len > NGX_HTTP_USERS_MAX_VALUE)) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_users_error(r, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                                    &no_user);
    }

    if (rc != NGX_OK
        || ngx_http_users_store_user(r->pool, &ctx->workspace, &id,
                                     ctx->lcf->sources, &batch)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_wait(r, ngx_http_users_send(ctx, &batch,
                                                     ngx_http_users_user_done));
}


/*
 * What a list and a single user share before any Redis call. NGX_OK, or
 * the status to finalize with: never sends anything itself.
 */

static ngx_int_t
ngx_http_users_start(ngx_http_request_t *r, ngx_http_users_ctx_t **ctxp)
{
    ngx_int_t              rc;
    ngx_pool_cleanup_t    *cln;
    ngx_http_users_ctx_t  *ctx;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_users_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (ngx_array_init(&ctx->item, r->pool, 1, sizeof(ngx_http_users_row_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_users_cleanup;
    cln->data = ctx;

    if (ctx->lcf->permissions
        && ngx_http_complex_value(r, ctx->lcf->permissions, &ctx->perms)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ctxp = ctx;

    return NGX_OK;
}


static void
ngx_http_users_user_done(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_ctx_t  *ctx = data;

    ngx_int_t               rc;
    ngx_http_request_t     *r;
    ngx_http_users_row_t   *row;
    ngx_http_users_read_t   rd;

    static ngx_str_t  no_user = ngx_string("no such user");

    r = ctx->request;
    ctx->call = NULL;

    if (status != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_users_finish(r, ngx_http_users_failed(r, reply, status));
        return;
    }

    row = ngx_array_push(&ctx->item);
    if (row == NULL) {
        ngx_http_users_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_users_reader(ctx, &rd);

    rc = ngx_http_users_store_user_reply(&rd, reply, &ctx->item_id, row);

    if (rc == NGX_ABORT) {
        rc = ngx_http_users_error(r, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                                  &no_user);

    } else if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "users: unexpected reply to the user query "
                      "(type %d)", reply->type);
        rc = ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);

    } else if (rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_users_item(ctx);
    }

    ngx_http_users_finish(r, rc);
}


/*
 * NGX_OK: in flight, the handler will be called; NGX_DECLINED: Redis is
 * unavailable (every connection waits out its backoff); NGX_ERROR.
 * Sends no response itself.
 */

static ngx_int_t
ngx_http_users_send(ngx_http_users_ctx_t *ctx, ngx_http_users_batch_t *batch,
    ngx_http_users_redis_handler_pt handler)
{
    ngx_http_users_redis_route_t  *route;

    route = &ctx->route;

    /* every key of a workspace has its hash tag: one slot, one node */

    if (route->key.data == NULL) {
        route->key.data = ngx_pnalloc(ctx->request->pool,
                                      sizeof("users:{}") - 1
                                      + ctx->workspace.len);
        if (route->key.data == NULL) {
            return NGX_ERROR;
        }

        route->key.len = ngx_sprintf(route->key.data, "users:{%V}",
                                     &ctx->workspace)
                         - route->key.data;
    }

    /*
     * the library's functions (users_query, users_rows) read keys of the
     * workspace they do not name: during a slot migration they wait for
     * the whole workspace to move
     */

    route->flags = NGX_HTTP_USERS_REDIS_READ | NGX_HTTP_USERS_REDIS_SLOT
                   | (ctx->lcf->redis_read.replica
                      ? NGX_HTTP_USERS_REDIS_REPLICA : 0)
                   | (ctx->stay ? NGX_HTTP_USERS_REDIS_STAY : 0);
    route->max_lag = ctx->lcf->redis_read.max_lag;

    return ngx_http_users_redis_send(route, batch->cmds, batch->n, handler,
                                     ctx, &ctx->call);
}


static void
ngx_http_users_page_done(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_ctx_t  *ctx = data;

    ngx_int_t               rc;
    ngx_http_request_t     *r;
    ngx_http_users_read_t   rd;

    r = ctx->request;
    ctx->call = NULL;

    if (status != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_users_finish(r, ngx_http_users_failed(r, reply, status));
        return;
    }

    if (ctx->scan) {
        ngx_http_users_reader(ctx, &rd);

        rc = ngx_http_users_store_scan_reply(&rd, reply, &ctx->result);
        if (rc == NGX_OK) {
            rc = ngx_http_users_respond(ctx);

        } else if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "users: unexpected reply to users_query "
                          "(type %d)", reply->type);
            rc = ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);

        } else {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_users_finish(r, rc);
        return;
    }

    rc = ngx_http_users_store_page_reply(r->pool, reply, &ctx->result);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "users: unexpected reply to the page query "
                      "(type %d)", reply->type);
        rc = ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);

    } else if (rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->result.ids.nelts == 0) {
        rc = ngx_http_users_respond(ctx);

    } else if (ngx_http_users_cached(ctx, &rc)) {
        /* the page as it was rendered at this very version */

    } else {
        rc = ngx_http_users_fetch_rows(ctx);
        if (rc == NGX_DONE) {
            return;
        }
    }

    ngx_http_users_finish(r, rc);
}


static ngx_int_t
ngx_http_users_fetch_rows(ngx_http_users_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_http_users_batch_t  batch;

    if (ngx_http_users_store_rows(ctx->request->pool, &ctx->workspace,
                                  ctx->lcf->sources, &ctx->result, &batch)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the rows from the node that gave the ids, or the page again */

    ctx->stay = 1;
    rc = ngx_http_users_again(ctx, &batch, ngx_http_users_rows_done);
    ctx->stay = 0;

    return rc;
}


static void
ngx_http_users_rows_done(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_ctx_t  *ctx = data;

    ngx_int_t               rc;
    ngx_http_request_t     *r;
    ngx_http_users_read_t   rd;

    r = ctx->request;
    ctx->call = NULL;

    if (status != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_users_finish(r, ngx_http_users_failed(r, reply, status));
        return;
    }

    ngx_http_users_reader(ctx, &rd);

    rc = ngx_http_users_store_rows_reply(&rd, reply, &ctx->result);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "users: unexpected reply to the rows query "
                      "(type %d)", reply->type);
        rc = ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);

    } else if (rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_users_respond(ctx);
    }

    ngx_http_users_finish(r, rc);
}


/* no reply (status says why) or an error reply */

static ngx_int_t
ngx_http_users_failed(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t status)
{
    ngx_http_users_loc_conf_t  *lcf;

    static ngx_str_t  broad = ngx_string("the query would examine too many "
                                         "users; narrow the filter");

    if (status != NGX_OK) {
        return ngx_http_users_error_status(r, status);
    }

    if (ngx_strlcasestrn((u_char *) reply->str,
                         (u_char *) reply->str + reply->len,
                         (u_char *) "users: scan limit", 17 - 1)
        != NULL)
    {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
        return ngx_http_users_error(r, lcf->invalid_status,
                                    "query_too_broad", NULL, &broad);
    }

    if (ngx_strlcasestrn((u_char *) reply->str,
                         (u_char *) reply->str + reply->len,
                         (u_char *) "users: no such ", 15 - 1)
        != NULL)
    {
        lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

        if (lcf->scope_filter) {
            return ngx_http_users_not_found(r, &lcf->scope_filter->field);
        }
    }

    /* Redis's words go to the log, never to the client */

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "users: redis error: %*s",
                  (size_t) ngx_min(reply->len, 256), reply->str);

    return ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);
}


static ngx_int_t
ngx_http_users_respond(ngx_http_users_ctx_t *ctx)
{
    off_t                   len;
    ngx_chain_t            *out;
    ngx_http_request_t     *r;
    ngx_http_users_page_t   page;
    ngx_http_users_query_t *q;

    r = ctx->request;
    q = &ctx->query;

    if (ctx->expansions && !ctx->expanded) {
        return ngx_http_users_expand(ctx, &ctx->result.rows);
    }

    ngx_memzero(&page, sizeof(ngx_http_users_page_t));
    page.expansions = ctx->expansions;

    page.total = ctx->result.total;
    page.count = ctx->result.rows.nelts;
    page.offset = q->offset;
    page.limit = q->limit;
    page.page = q->page;
    page.last_page = page.total ? (page.total + q->limit - 1) / q->limit : 1;

    if (q->offset + q->limit < page.total) {
        page.next_page = q->page + 1;
    }

    if (q->page > 1) {
        page.prev_page = q->page - 1;
    }

    page.perms = ctx->perms;

    if (ngx_http_users_links(ctx, &page) != NGX_OK
        || ngx_http_users_headers(ctx, &page) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_users_json_list(r->pool, ctx->lcf, &page,
                                 &ctx->result.rows, &out, &len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->cache_key.data && ctx->result.version.data) {
        ngx_http_users_cache_put(&ctx->cache_key, &ctx->result.version,
                                 &page, out, len);
    }

    return ngx_http_users_send_json(r, NGX_HTTP_OK, out, len);
}


/* users_header: the envelope, or part of it, in response headers */

static ngx_int_t
ngx_http_users_headers(ngx_http_users_ctx_t *ctx, ngx_http_users_page_t *page)
{
    u_char                   *p;
    ngx_uint_t                i, n;
    ngx_table_elt_t          *h;
    ngx_http_users_header_t  *uh;

    if (ctx->lcf->headers == NULL) {
        return NGX_OK;
    }

    uh = ctx->lcf->headers->elts;

    for (i = 0; i < ctx->lcf->headers->nelts; i++) {

        h = ngx_list_push(&ctx->request->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key = uh[i].name;

        if (uh[i].kind == NGX_HTTP_USERS_ENV_LINKS) {
            if (ngx_http_users_link(ctx->request, page, &h->value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (h->value.len == 0) {
                h->hash = 0;
            }

            continue;
        }

        n = ngx_http_users_page_number(page, uh[i].kind);

        p = ngx_pnalloc(ctx->request->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        h->value.data = p;
        h->value.len = ngx_sprintf(p, "%ui", n) - p;
    }

    return NGX_OK;
}


/* RFC 8288: <next>; rel="next", <prev>; rel="prev" */

static ngx_int_t
ngx_http_users_link(ngx_http_request_t *r, ngx_http_users_page_t *page,
    ngx_str_t *value)
{
    u_char  *p;

    value->len = 0;

    if (page->next_url.data == NULL && page->prev_url.data == NULL) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, page->next_url.len + page->prev_url.len
                             + sizeof("<>; rel=\"next\", <>; rel=\"prev\""));
    if (p == NULL) {
        return NGX_ERROR;
    }

    value->data = p;

    if (page->next_url.data) {
        p = ngx_sprintf(p, "<%V>; rel=\"next\"", &page->next_url);
    }

    if (page->prev_url.data) {
        p = ngx_sprintf(p, "%s<%V>; rel=\"prev\"",
                        page->next_url.data ? ", " : "", &page->prev_url);
    }

    value->len = p - value->data;

    return NGX_OK;
}


/* next/previous URLs: the same query with the offset (or page) moved */

static ngx_int_t
ngx_http_users_links(ngx_http_users_ctx_t *ctx, ngx_http_users_page_t *page)
{
    ngx_uint_t               prev;
    ngx_http_users_query_t  *q;

    q = &ctx->query;

    if (ctx->lcf->paging.style == NGX_HTTP_USERS_PAGE_NUMBER) {

        if (page->next_page
            && ngx_http_users_url(ctx, page->next_page, 1, &page->next_url)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (page->prev_page
            && ngx_http_users_url(ctx, page->prev_page, page->prev_page > 1,
                                  &page->prev_url)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (q->offset + q->limit < page->total
        && ngx_http_users_url(ctx, q->offset + q->limit, 1, &page->next_url)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (q->offset > 0) {
        prev = q->offset > q->limit ? q->offset - q->limit : 0;

        /* the first page's URL carries no offset, as it was first asked */
        if (ngx_http_users_url(ctx, prev, prev > 0, &page->prev_url)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_url(ngx_http_users_ctx_t *ctx, ngx_uint_t n, ngx_uint_t keep,
    ngx_str_t *url)
{
    u_char                   *p, *path_end, num[NGX_INT_T_LEN];
    ngx_str_t                 base, args, clean, value, *name;
    ngx_http_request_t       *r;
    ngx_http_users_paging_t  *pg;

    r = ctx->request;
    pg = &ctx->lcf->paging;

    name = pg->style == NGX_HTTP_USERS_PAGE_NUMBER ? &pg->page_arg
                                                   : &pg->offset_arg;

    value.data = num;
    value.len = ngx_sprintf(num, "%ui", n) - num;

    if (ngx_http_users_base(r, ctx->lcf, &base) != NGX_OK
        || ngx_http_users_query_replace(r->pool, &r->args, name,
                                        keep ? &value : NULL, &args)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a token sent as a parameter never travels on into links */

    if (ctx->lcf->auth_query.len) {
        clean = args;

        if (ngx_http_users_query_replace(r->pool, &clean,
                                         &ctx->lcf->auth_query, NULL, &args)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the path as the client sent it */

    path_end = ngx_strlchr(r->unparsed_uri.data,
                           r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (path_end == NULL) {
        path_end = r->unparsed_uri.data + r->unparsed_uri.len;
    }

    url->data = ngx_pnalloc(r->pool, base.len + 3 * (path_end
                                                     - r->unparsed_uri.data)
                                     + 1 + 3 * args.len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, base.data, base.len);
    p = ngx_http_users_copy_uri(p, r->unparsed_uri.data,
                                path_end - r->unparsed_uri.data);

    if (args.len) {
        *p++ = '?';
        p = ngx_http_users_copy_uri(p, args.data, args.len);
    }

    url->len = p - url->data;

    return NGX_OK;
}


/*
 * users_base_url, else scheme://host[:port] by the rule of
 * ngx_http_users_host.h; a users_base_url that comes out empty (an unset
 * variable) falls back to the rule too.
 */

static ngx_int_t
ngx_http_users_base(ngx_http_request_t *r, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *base)
{
    if (lcf->base_url) {
        if (ngx_http_complex_value(r, lcf->base_url, base) != NGX_OK) {
            return NGX_ERROR;
        }

        if (base->len) {
            return NGX_OK;
        }
    }

    return ngx_http_users_host_base(r, base);
}


/*
 * Copies a path or query as sent, percent-encoding what may not stand in
 * a URI (controls, spaces, non-ASCII, "<>\\^`{|}): the URL is safe in a
 * Link header and in JSON alike. Existing %XX sequences are kept.
 */

static u_char *
ngx_http_users_copy_uri(u_char *dst, u_char *src, size_t len)
{
    u_char  c;

    static u_char  hex[] = "0123456789ABCDEF";

    while (len--) {
        c = *src++;

        if (c <= 0x20 || c >= 0x7f || ngx_strchr("\"<>\\^`{|}", c)) {
            *dst++ = '%';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
            continue;
        }

        *dst++ = c;
    }

    return dst;
}


/*
 * What the page depends on: the location, the workspace, the caller's
 * permissions, the scheme and host of its links, and the request URI.
 */

static ngx_int_t
ngx_http_users_cache_key(ngx_http_users_ctx_t *ctx)
{
    u_char              *p;
    size_t               len;
    ngx_str_t            base, *ws, *perms;
    ngx_http_request_t  *r;

    r = ctx->request;
    ws = &ctx->workspace;
    perms = &ctx->perms;

    if (ngx_http_users_base(r, ctx->lcf, &base) != NGX_OK) {
        return NGX_ERROR;
    }

    len = NGX_PTR_SIZE * 2 + 3 * (NGX_SIZE_T_LEN + 2) + ws->len + perms->len
          + base.len + r->unparsed_uri.len + 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->cache_key.data = p;

    p = ngx_sprintf(p, "%p %uz:%V %uz:%V %uz:%V %V", ctx->lcf,
                    ws->len, ws, perms->len, perms, base.len, &base,
                    &r->unparsed_uri);

    ctx->cache_key.len = p - ctx->cache_key.data;

    return NGX_OK;
}


/* 1 and *rc set: answered from the cache, valid at this version */

static ngx_uint_t
ngx_http_users_cached(ngx_http_users_ctx_t *ctx, ngx_int_t *rc)
{
    ngx_buf_t                *b;
    ngx_chain_t               out;
    ngx_http_users_page_t     page;
    ngx_http_users_cached_t  *c;

    if (ctx->cache_key.data == NULL || ctx->result.version.data == NULL) {
        return 0;
    }

    c = ngx_http_users_cache_get(&ctx->cache_key);

    if (c == NULL
        || c->version.len != ctx->result.version.len
        || ngx_memcmp(c->version.data, ctx->result.version.data,
                      c->version.len) != 0)
    {
        return 0;
    }

    /* copies: the entry may be evicted while the response is sent */

    b = ngx_create_temp_buf(ctx->request->pool, c->body.len);
    if (b == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return 1;
    }

    b->last = ngx_cpymem(b->last, c->body.data, c->body.len);
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    page = c->page;

    if (ngx_http_users_headers(ctx, &page) != NGX_OK) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return 1;
    }

    *rc = ngx_http_users_send_json(ctx->request, NGX_HTTP_OK, &out,
                                   c->body.len);
    return 1;
}


/*
 * A further round trip, from a reply handler: NGX_DONE while it is under
 * way, else the status to finalize with.
 */

static ngx_int_t
ngx_http_users_again(ngx_http_users_ctx_t *ctx, ngx_http_users_batch_t *batch,
    ngx_http_users_redis_handler_pt handler)
{
    switch (ngx_http_users_send(ctx, batch, handler)) {

    case NGX_OK:
        return NGX_DONE;

    case NGX_DECLINED:
        return ngx_http_users_error_status(ctx->request,
                                           NGX_HTTP_SERVICE_UNAVAILABLE);

    case NGX_BUSY:
        return ngx_http_users_restart(ctx);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * The workspace's slot moved to another node (or a replica read fell back
 * to the primary) between the page's ids and its rows: the page is read
 * again there, so that ids and rows come from one node. Twice in one
 * request is a 503.
 */

static ngx_int_t
ngx_http_users_restart(ngx_http_users_ctx_t *ctx)
{
    ngx_http_users_batch_t  batch;

    if (ctx->restarted++) {
        return ngx_http_users_error_status(ctx->request,
                                           NGX_HTTP_SERVICE_UNAVAILABLE);
    }

    ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                  "users: workspace \"%V\" moved between a page's ids and "
                  "its rows: the page is read again", &ctx->workspace);

    if (ngx_http_users_store_page(ctx->request->pool, ctx->lcf,
                                  &ctx->workspace, &ctx->query, &batch)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_again(ctx, &batch, ngx_http_users_page_done);
}


/* the content handler's answer once its first Redis call is sent or not */

static ngx_int_t
ngx_http_users_wait(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_DECLINED) {
        return ngx_http_users_error_status(r, NGX_HTTP_SERVICE_UNAVAILABLE);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the reply handler finalizes the request */

    r->main->count++;

    return NGX_DONE;
}


/*
 * The objects the rows refer to: NGX_DONE while Redis fetches them (the
 * response follows from ngx_http_users_refs_done), else the response.
 */

static ngx_int_t
ngx_http_users_expand(ngx_http_users_ctx_t *ctx, ngx_array_t *rows)
{
    ngx_uint_t                   i, n;
    ngx_http_users_batch_t       batch;
    ngx_http_users_expansion_t  *x;

    ctx->expanded = 1;

    if (ngx_http_users_store_collect(ctx->request->pool, ctx->lcf->sources,
                                     rows, ctx->expansions)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    x = ctx->expansions->elts;
    n = 0;

    for (i = 0; i < ctx->expansions->nelts; i++) {
        n += x[i].ids.nelts;
    }

    if (n == 0) {
        return ngx_http_users_answer(ctx);
    }

    if (ngx_http_users_store_refs(ctx->request->pool, &ctx->workspace,
                                  ctx->expansions, &batch)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_again(ctx, &batch, ngx_http_users_refs_done);
}


static void
ngx_http_users_refs_done(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_ctx_t  *ctx = data;

    ngx_int_t               rc;
    ngx_http_request_t     *r;
    ngx_http_users_read_t   rd;

    r = ctx->request;
    ctx->call = NULL;

    if (status != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_users_finish(r, ngx_http_users_failed(r, reply, status));
        return;
    }

    ngx_http_users_reader(ctx, &rd);

    rc = ngx_http_users_store_refs_reply(&rd, reply, ctx->expansions);

    if (rc == NGX_OK) {
        rc = ngx_http_users_answer(ctx);

    } else if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "users: unexpected reply to the expands query "
                      "(type %d)", reply->type);
        rc = ngx_http_users_error_status(r, NGX_HTTP_BAD_GATEWAY);

    } else {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_users_finish(r, rc);
}


/* a list's page, or users_get's user */

static ngx_int_t
ngx_http_users_answer(ngx_http_users_ctx_t *ctx)
{
    return ctx->item.nelts ? ngx_http_users_item(ctx)
                           : ngx_http_users_respond(ctx);
}


static ngx_int_t
ngx_http_users_item(ngx_http_users_ctx_t *ctx)
{
    off_t         len;
    ngx_chain_t  *out;

    if (ctx->expansions && !ctx->expanded) {
        return ngx_http_users_expand(ctx, &ctx->item);
    }

    if (ngx_http_users_json_item(ctx->request->pool, ctx->lcf, &ctx->perms,
                                 ctx->item.elts, ctx->expansions, &out, &len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_json(ctx->request, NGX_HTTP_OK, out, len);
}


/* what the store needs to read rows: where, and the fields asked for */

static void
ngx_http_users_reader(ngx_http_users_ctx_t *ctx, ngx_http_users_read_t *rd)
{
    rd->pool = ctx->request->pool;
    rd->log = ctx->request->connection->log;
    rd->ws = &ctx->workspace;
    rd->sources = ctx->lcf->sources;
}


/* NGX_DONE: another round trip is under way, the request stays */

static void
ngx_http_users_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    if (rc == NGX_DONE) {
        return;
    }

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_users_cleanup(void *data)
{
    ngx_http_users_ctx_t  *ctx = data;

    /* the request is going away: a late reply must not find it */

    if (ctx->call) {
        ngx_http_users_redis_cancel(ctx->call);
        ctx->call = NULL;
    }
}
