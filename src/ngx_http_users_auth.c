
/*
 * ngx_http_users_module: bearer tokens -> a principal, in the access phase.
 */


#include "ngx_http_users_auth.h"
#include "ngx_http_users_cache.h"
#include "ngx_http_users_error.h"
#include "ngx_http_users_query.h"

#include <openssl/sha.h>


#define NGX_HTTP_USERS_DIGEST_LEN  (2 * SHA256_DIGEST_LENGTH)


typedef struct {
    ngx_http_request_t           *request;     /* the one that asked */
    ngx_array_t                  *waiting;     /* others (subrequests) */
    ngx_http_users_redis_call_t  *call;        /* NULL: none in flight */
    u_char                        digest[NGX_HTTP_USERS_DIGEST_LEN];
    ngx_http_users_principal_t    principal;
    ngx_uint_t                    done;        /* the lookup is over */
    ngx_int_t                     status;      /* NGX_OK, 401, 502, 503 */
} ngx_http_users_auth_ctx_t;


/* a token's cache entry; its strings follow it */
typedef struct {
    time_t                        until;
    ngx_uint_t                    known;
    ngx_http_users_principal_t    principal;
} ngx_http_users_token_t;


static ngx_int_t ngx_http_users_auth_wait(ngx_http_request_t *r,
    ngx_http_users_auth_ctx_t *ctx);
static ngx_int_t ngx_http_users_auth_decide(ngx_http_request_t *r,
    ngx_http_users_auth_ctx_t *ctx);
static ngx_int_t ngx_http_users_auth_token(ngx_http_request_t *r,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *token);
static ngx_int_t ngx_http_users_auth_start(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_users_auth_cached(ngx_http_users_auth_ctx_t *ctx);
static ngx_int_t ngx_http_users_auth_lookup(ngx_http_users_auth_ctx_t *ctx);
static void ngx_http_users_auth_reply(void *data, redisReply *reply,
    ngx_int_t status);
static ngx_int_t ngx_http_users_auth_record(ngx_http_users_auth_ctx_t *ctx,
    redisReply *reply);
static ngx_int_t ngx_http_users_auth_error(ngx_http_users_auth_ctx_t *ctx,
    redisReply *reply);
static void ngx_http_users_auth_remember(ngx_http_users_auth_ctx_t *ctx,
    ngx_uint_t known);
static ngx_int_t ngx_http_users_auth_deny(ngx_http_request_t *r,
    ngx_uint_t status, char *error, char *message);
static void ngx_http_users_auth_cleanup(void *data);
static ngx_int_t ngx_http_users_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static u_char *ngx_http_users_auth_copy(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);
static ngx_int_t ngx_http_users_auth_redact(ngx_http_request_t *r,
    ngx_str_t *value);


/*
 * Not changeable: "set", "map", a regex capture or auth_request_set of
 * one of these names fails at nginx -t ("the duplicate ... variable"), so
 * only users_auth gives them a value. Not cacheable: each read asks the
 * principal, so a read before the lookup ended is not kept.
 */

static ngx_http_variable_t  ngx_http_users_auth_vars[] = {

    { ngx_string("users_user_id"), NULL, ngx_http_users_auth_variable,
      offsetof(ngx_http_users_principal_t, user),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_workspace"), NULL, ngx_http_users_auth_variable,
      offsetof(ngx_http_users_principal_t, workspace),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_role"), NULL, ngx_http_users_auth_variable,
      offsetof(ngx_http_users_principal_t, role),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_permissions"), NULL, ngx_http_users_auth_variable,
      offsetof(ngx_http_users_principal_t, perms),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* per worker */
static ngx_http_users_lru_t         ngx_http_users_tokens;
static ngx_http_users_main_conf_t  *ngx_http_users_auth_conf;


ngx_int_t
ngx_http_users_auth_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_users_auth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


void
ngx_http_users_auth_init_worker(ngx_http_users_main_conf_t *umcf)
{
    ngx_http_users_auth_conf = umcf;
    ngx_http_users_lru_init(&ngx_http_users_tokens, umcf->auth_cache_size);
}


ngx_http_users_principal_t *
ngx_http_users_principal(ngx_http_request_t *r)
{
    ngx_http_users_auth_ctx_t  *ctx;

    ngx_http_users_req_ctx_t  *rctx;

    rctx = ngx_http_users_req_ctx(r);
    ctx = rctx ? rctx->auth : NULL;

    if (ctx == NULL || !ctx->done || ctx->status != NGX_OK) {
        return NULL;
    }

    return &ctx->principal;
}


ngx_int_t
ngx_http_users_allows(ngx_http_users_principal_t *p, ngx_str_t *name)
{
    if (p->role.len == name->len
        && ngx_strncmp(p->role.data, name->data, name->len) == 0)
    {
        return 1;
    }

    return ngx_http_users_has_perm(&p->perms, name);
}


/*
 * NGX_DECLINED: not this location's business; NGX_AGAIN: waiting for
 * Redis; NGX_OK: the principal may pass; NGX_DONE: answered (401, 400,
 * 403, 503) and finalized here, with a JSON body.
 *
 * The lookup's state belongs to the main request (ngx_http_users_req_ctx):
 * a request is authenticated once, whatever internal redirects and
 * subrequests it makes; each location still checks its own
 * users_auth_require against the principal.
 */

ngx_int_t
ngx_http_users_auth_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   token;
    ngx_http_users_req_ctx_t   *rctx;
    ngx_http_users_auth_ctx_t  *ctx;
    ngx_http_users_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (lcf->auth_realm.len == 0) {
        return NGX_DECLINED;
    }

    rctx = ngx_http_users_req_ctx(r);
    if (rctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = rctx->auth;

    if (ctx) {
        return ctx->done ? ngx_http_users_auth_decide(r, ctx)
                         : ngx_http_users_auth_wait(r, ctx);
    }

    rc = ngx_http_users_auth_token(r, lcf, &token);

    if (rc == NGX_DECLINED) {
        return ngx_http_users_auth_deny(r, NGX_HTTP_UNAUTHORIZED, NULL,
                                        "a bearer token is required");
    }

    if (rc != NGX_OK) {
        return ngx_http_users_auth_deny(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "malformed bearer token");
    }

    return ngx_http_users_auth_start(r, &token);
}


/* another request of the same client waits for the lookup in flight */

static ngx_int_t
ngx_http_users_auth_wait(ngx_http_request_t *r,
    ngx_http_users_auth_ctx_t *ctx)
{
    ngx_uint_t            i;
    ngx_http_request_t  **w;

    if (r == ctx->request) {
        return NGX_AGAIN;
    }

    if (ctx->waiting == NULL) {
        ctx->waiting = ngx_array_create(r->pool, 2,
                                        sizeof(ngx_http_request_t *));
        if (ctx->waiting == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    w = ctx->waiting->elts;

    for (i = 0; i < ctx->waiting->nelts; i++) {
        if (w[i] == r) {
            return NGX_AGAIN;
        }
    }

    w = ngx_array_push(ctx->waiting);
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *w = r;

    return NGX_AGAIN;
}


/* the lookup is over: let pass, or answer why not */

static ngx_int_t
ngx_http_users_auth_decide(ngx_http_request_t *r,
    ngx_http_users_auth_ctx_t *ctx)
{
    ngx_str_t                  *name;
    ngx_uint_t                  i;
    ngx_http_users_loc_conf_t  *lcf;

    if (ctx->status == NGX_HTTP_UNAUTHORIZED) {
        return ngx_http_users_auth_deny(r, NGX_HTTP_UNAUTHORIZED,
                                        "invalid_token",
                                        "the token is unknown, revoked "
                                        "or expired");
    }

    if (ctx->status != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_users_error_status(r,
                                                             ctx->status));
        return NGX_DONE;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (lcf->auth_require == NULL) {
        return NGX_OK;
    }

    name = lcf->auth_require->elts;

    for (i = 0; i < lcf->auth_require->nelts; i++) {
        if (!ngx_http_users_allows(&ctx->principal, &name[i])) {
            return ngx_http_users_auth_deny(r, NGX_HTTP_FORBIDDEN,
                                            "insufficient_scope",
                                            "the token does not allow this");
        }
    }

    return NGX_OK;
}


/*
 * NGX_OK: the token; NGX_DECLINED: no credentials (no Authorization
 * header, or another scheme); NGX_ERROR: malformed, or sent twice.
 */

static ngx_int_t
ngx_http_users_auth_token(ngx_http_request_t *r,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *token)
{
    u_char     *dst, *src;
    ngx_int_t   rc;
    ngx_str_t   arg;

    rc = NGX_DECLINED;

    if (r->headers_in.authorization) {
        rc = ngx_http_users_bearer(&r->headers_in.authorization->value,
                                   token);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    /* a subrequest's credentials are the client's: its request's query */

    if (lcf->auth_query.len == 0
        || ngx_http_arg(r->main, lcf->auth_query.data, lcf->auth_query.len,
                        &arg)
           != NGX_OK)
    {
        return rc;
    }

    if (ngx_http_users_auth_redact(r->main, &arg) != NGX_OK) {
        return NGX_ERROR;
    }

    /* RFC 6750 §2: a client uses one method only */

    if (rc == NGX_OK || arg.len == 0 || arg.len > 3 * NGX_HTTP_USERS_MAX_TOKEN)
    {
        return NGX_ERROR;
    }

    dst = ngx_pnalloc(r->pool, arg.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    src = arg.data;
    token->data = dst;
    ngx_unescape_uri(&dst, &src, arg.len, 0);
    token->len = dst - token->data;

    /* the same syntax as in the header: b64token, without a scheme */
    return ngx_http_users_b64token(token->data, dst, token);
}


/*
 * RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. NGX_DECLINED for
 * another scheme (or none): not credentials of ours; NGX_ERROR for
 * "Bearer" without a well-formed token.
 */

ngx_int_t
ngx_http_users_bearer(ngx_str_t *header, ngx_str_t *token)
{
    u_char  *p, *last;

    p = header->data;
    last = header->data + header->len;

    if (header->len < 6 || ngx_strncasecmp(p, (u_char *) "Bearer", 6) != 0
        || (header->len > 6 && p[6] != ' '))
    {
        return NGX_DECLINED;
    }

    for (p += 6; p < last && *p == ' '; p++) { /* void */ }

    return ngx_http_users_b64token(p, last, token);
}


/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */

ngx_int_t
ngx_http_users_b64token(u_char *p, u_char *last, ngx_str_t *token)
{
    u_char  c;

    while (last > p && last[-1] == ' ') {
        last--;
    }

    token->data = p;

    while (p < last) {
        c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c == '_' || c == '~' || c == '+'
              || c == '/'))
        {
            break;
        }

        p++;
    }

    if (p == token->data) {
        return NGX_ERROR;
    }

    while (p < last && *p == '=') {
        p++;
    }

    token->len = p - token->data;

    if (p != last || token->len > NGX_HTTP_USERS_MAX_TOKEN) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * users_auth_query: the token is taken out of the logged request line
 * before anything can log it (the preaccess limits call this too).
 */

ngx_int_t
ngx_http_users_auth_hide(ngx_http_request_t *r)
{
    ngx_str_t                   arg;
    ngx_http_users_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (lcf->auth_realm.len == 0 || lcf->auth_query.len == 0
        || ngx_http_arg(r, lcf->auth_query.data, lcf->auth_query.len, &arg)
           != NGX_OK)
    {
        return NGX_OK;
    }

    return ngx_http_users_auth_redact(r, &arg);
}


/*
 * A token sent as a query parameter would be written to the error log
 * (and access logs with $request) with the request line: that copy of the
 * line gets the value replaced (once: the copy no longer holds it).
 */

static ngx_int_t
ngx_http_users_auth_redact(ngx_http_request_t *r, ngx_str_t *value)
{
    u_char     *p, *line, *end;
    ngx_str_t  *rl;

    rl = &r->request_line;
    line = rl->data;
    end = rl->data + rl->len;

    if (value->data < line || value->data + value->len > end) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, rl->len - value->len + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    rl->data = p;

    p = ngx_cpymem(p, line, value->data - line);
    p = ngx_cpymem(p, "***", 3);
    p = ngx_cpymem(p, value->data + value->len,
                   end - (value->data + value->len));

    rl->len = p - rl->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_auth_start(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char                      md[SHA256_DIGEST_LENGTH];
    ngx_pool_cleanup_t         *cln;
    ngx_http_users_auth_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_users_auth_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;

    cln->handler = ngx_http_users_auth_cleanup;
    cln->data = ctx;

    ngx_http_users_req_ctx(r)->auth = ctx;

    /* only the digest is kept: the token itself goes nowhere */

    SHA256(token->data, token->len, md);
    ngx_hex_dump(ctx->digest, md, SHA256_DIGEST_LENGTH);

    if (ngx_http_users_auth_cached(ctx) == NGX_OK) {
        return ngx_http_users_auth_decide(r, ctx);
    }

    switch (ngx_http_users_auth_lookup(ctx)) {

    case NGX_OK:
        return NGX_AGAIN;

    case NGX_DECLINED:
        /* Redis is down: an outage must not look like a bad token */
        ctx->done = 1;
        ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        return ngx_http_users_auth_decide(r, ctx);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_users_auth_cached(ngx_http_users_auth_ctx_t *ctx)
{
    u_char                      *p;
    ngx_str_t                    key;
    ngx_http_users_token_t      *t;
    ngx_http_users_principal_t  *pr;

    key.data = ctx->digest;
    key.len = NGX_HTTP_USERS_DIGEST_LEN;

    t = ngx_http_users_lru_get(&ngx_http_users_tokens, &key);

    if (t == NULL) {
        return NGX_DECLINED;
    }

    if (t->until <= ngx_time()) {
        ngx_http_users_lru_delete(&ngx_http_users_tokens, &key);
        return NGX_DECLINED;
    }

    /* the strings are copied: the entry may go while the request runs */

    ctx->done = 1;
    ctx->status = t->known ? NGX_OK : NGX_HTTP_UNAUTHORIZED;

    if (!t->known) {
        return NGX_OK;
    }

    pr = &t->principal;

    p = ngx_pnalloc(ctx->request->pool, pr->user.len + pr->workspace.len
                                        + pr->role.len + pr->perms.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->principal.exp = pr->exp;

    p = ngx_http_users_auth_copy(p, &ctx->principal.user, &pr->user);
    p = ngx_http_users_auth_copy(p, &ctx->principal.workspace,
                                 &pr->workspace);
    p = ngx_http_users_auth_copy(p, &ctx->principal.role, &pr->role);
    (void) ngx_http_users_auth_copy(p, &ctx->principal.perms, &pr->perms);

    return NGX_OK;
}


/* HMGET users:token:<digest> user ws role perms exp */

static ngx_int_t
ngx_http_users_auth_lookup(ngx_http_users_auth_ctx_t *ctx)
{
    u_char                        key[sizeof("users:token:")
                                      + NGX_HTTP_USERS_DIGEST_LEN];
    const char                   *argv[7];
    size_t                        argvlen[7];
    ngx_http_users_redis_cmd_t    cmd;
    ngx_http_users_redis_route_t  route;

    static char  *fields[] = { "user", "ws", "role", "perms", "exp" };

    ngx_memcpy(key, "users:token:", sizeof("users:token:") - 1);
    ngx_memcpy(key + sizeof("users:token:") - 1, ctx->digest,
               NGX_HTTP_USERS_DIGEST_LEN);

    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = (char *) key;
    argvlen[1] = sizeof("users:token:") - 1 + NGX_HTTP_USERS_DIGEST_LEN;

    for (cmd.argc = 2; cmd.argc < 7; cmd.argc++) {
        argv[cmd.argc] = fields[cmd.argc - 2];
        argvlen[cmd.argc] = ngx_strlen(fields[cmd.argc - 2]);
    }

    cmd.argv = argv;
    cmd.argvlen = argvlen;

    /*
     * the command is copied at once: the stack may go. Always the
     * primary: a revoked token never passes longer than users_auth_cache
     * valid= says, whatever replicas lag.
     */

    ngx_memzero(&route, sizeof(ngx_http_users_redis_route_t));
    route.key.data = key;
    route.key.len = argvlen[1];
    route.flags = NGX_HTTP_USERS_REDIS_READ;

    return ngx_http_users_redis_send(&route, &cmd, 1,
                                     ngx_http_users_auth_reply, ctx,
                                     &ctx->call);
}


static void
ngx_http_users_auth_reply(void *data, redisReply *reply, ngx_int_t status)
{
    ngx_http_users_auth_ctx_t  *ctx = data;

    ngx_uint_t           i;
    ngx_connection_t    *c;
    ngx_http_request_t  *r, **w;

    r = ctx->request;
    c = r->connection;

    ctx->call = NULL;
    ctx->done = 1;

    if (status != NGX_OK) {
        ctx->status = status;

    } else if (reply->type == REDIS_REPLY_ERROR) {
        ctx->status = ngx_http_users_auth_error(ctx, reply);

    } else {
        ctx->status = ngx_http_users_auth_record(ctx, reply);
    }

    /* back to the phase that waits, which now decides, in each request */

    if (ctx->waiting) {
        w = ctx->waiting->elts;

        for (i = 0; i < ctx->waiting->nelts; i++) {
            if (ngx_http_post_request(w[i], NULL) != NGX_OK) {
                ngx_http_finalize_request(w[i],
                                          NGX_HTTP_INTERNAL_SERVER_ERROR);
            }
        }
    }

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/*
 * Redis refused the lookup. BUSY (a long script or function), LOADING,
 * MASTERDOWN, TRYAGAIN, CLUSTERDOWN: it cannot answer now, like a Redis
 * that is down: 503 with Retry-After (the client may retry), a warning
 * at most once a second per worker. Anything else (WRONGTYPE: the
 * token's key is not a hash) is a broken record: 502, logged.
 */

static ngx_int_t
ngx_http_users_auth_error(ngx_http_users_auth_ctx_t *ctx, redisReply *reply)
{
    size_t      len, n;
    ngx_uint_t  i;

    static time_t     logged;
    static ngx_str_t  later[] = {
        ngx_string("BUSY"), ngx_string("LOADING"), ngx_string("MASTERDOWN"),
        ngx_string("TRYAGAIN"), ngx_string("CLUSTERDOWN")
    };

    /* Redis's error text names no key: no token digest gets logged */

    len = ngx_min(reply->len, 200);

    for (i = 0; i < sizeof(later) / sizeof(ngx_str_t); i++) {
        n = later[i].len;

        if (len < n || ngx_strncmp(reply->str, later[i].data, n) != 0
            || (len > n && reply->str[n] != ' '))
        {
            continue;
        }

        if (logged != ngx_time()) {
            logged = ngx_time();
            ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                          "users: redis cannot look up tokens now: %*s",
                          len, reply->str);
        }

        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                  "users: redis error on a token lookup: %*s",
                  len, reply->str);

    return NGX_HTTP_BAD_GATEWAY;
}


/* the token's record -> NGX_OK (a principal), 401, or 502 */

static ngx_int_t
ngx_http_users_auth_record(ngx_http_users_auth_ctx_t *ctx, redisReply *reply)
{
    size_t                       i;
    ngx_str_t                    v[5];
    ngx_http_users_principal_t  *p;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 5) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "users: unexpected reply to a token lookup");
        return NGX_HTTP_BAD_GATEWAY;
    }

    for (i = 0; i < 5; i++) {
        ngx_str_null(&v[i]);

        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }

        v[i].len = reply->element[i]->len;
        v[i].data = ngx_pnalloc(ctx->request->pool, v[i].len + 1);
        if (v[i].data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(v[i].data, reply->element[i]->str, v[i].len);
    }

    p = &ctx->principal;

    p->user = v[0];
    p->workspace = v[1];
    p->role = v[2];
    p->perms = v[3];
    p->exp = v[4].len ? ngx_atotm(v[4].data, v[4].len) : 0;

    if (p->user.len == 0 || p->workspace.len == 0 || p->exp == NGX_ERROR
        || (p->exp && p->exp <= ngx_time()))
    {
        /* unknown, revoked (no record) or expired */
        ngx_http_users_auth_remember(ctx, 0);
        return NGX_HTTP_UNAUTHORIZED;
    }

    ngx_http_users_auth_remember(ctx, 1);

    return NGX_OK;
}


/*
 * A known token is trusted for users_auth_cache valid= (never past its
 * expiry): the longest a revoked token may still pass. An unknown one is
 * refused from the cache for invalid=.
 */

static void
ngx_http_users_auth_remember(ngx_http_users_auth_ctx_t *ctx, ngx_uint_t known)
{
    u_char                      *p;
    time_t                       until;
    ngx_str_t                    key;
    ngx_http_users_token_t      *t;
    ngx_http_users_principal_t  *pr;
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_users_auth_conf;
    pr = &ctx->principal;

    until = ngx_time() + (known ? umcf->auth_valid : umcf->auth_invalid);

    if (known && pr->exp && pr->exp < until) {
        until = pr->exp;
    }

    key.data = ctx->digest;
    key.len = NGX_HTTP_USERS_DIGEST_LEN;

    t = ngx_http_users_lru_put(&ngx_http_users_tokens, &key,
                               sizeof(ngx_http_users_token_t)
                               + (known ? pr->user.len + pr->workspace.len
                                          + pr->role.len + pr->perms.len
                                        : 0));
    if (t == NULL) {
        return;
    }

    t->until = until;
    t->known = known;

    if (!known) {
        return;
    }

    t->principal.exp = pr->exp;

    p = (u_char *) t + sizeof(ngx_http_users_token_t);

    p = ngx_http_users_auth_copy(p, &t->principal.user, &pr->user);
    p = ngx_http_users_auth_copy(p, &t->principal.workspace,
                                 &pr->workspace);
    p = ngx_http_users_auth_copy(p, &t->principal.role, &pr->role);
    (void) ngx_http_users_auth_copy(p, &t->principal.perms, &pr->perms);
}


static u_char *
ngx_http_users_auth_copy(u_char *p, ngx_str_t *dst, ngx_str_t *src)
{
    dst->data = p;
    dst->len = src->len;

    return ngx_cpymem(p, src->data, src->len);
}


/*
 * RFC 6750 §3: WWW-Authenticate: Bearer realm="...", error="..."; the
 * body says the same in JSON. The request is finalized here.
 */

static ngx_int_t
ngx_http_users_auth_deny(ngx_http_request_t *r, ngx_uint_t status,
    char *error, char *message)
{
    u_char                     *p;
    size_t                      len;
    ngx_str_t                   msg;
    ngx_table_elt_t            *h;
    ngx_http_users_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("Bearer realm=\"\", error=\"\"") + lcf->auth_realm.len
          + (error ? ngx_strlen(error) : 0);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = p;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    /* auth_request passes this one on to its main request's 401 */

    r->headers_out.www_authenticate = h;

    p = ngx_sprintf(p, "Bearer realm=\"%V\"", &lcf->auth_realm);

    if (error) {
        p = ngx_sprintf(p, ", error=\"%s\"", error);
    }

    h->value.len = p - h->value.data;

    msg.data = (u_char *) message;
    msg.len = ngx_strlen(message);

    ngx_http_finalize_request(r, ngx_http_users_error(r, status,
                                                  error ? error
                                                        : "unauthorized",
                                                  NULL, &msg));
    return NGX_DONE;
}


static void
ngx_http_users_auth_cleanup(void *data)
{
    ngx_http_users_auth_ctx_t  *ctx = data;

    if (ctx->call) {
        ngx_http_users_redis_cancel(ctx->call);
        ctx->call = NULL;
    }
}


static ngx_int_t
ngx_http_users_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                   *s;
    ngx_http_users_principal_t  *p;

    p = ngx_http_users_principal(r);

    if (p == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) p + data);

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
