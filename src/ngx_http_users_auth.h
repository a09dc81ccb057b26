
/*
 * ngx_http_users_module: bearer tokens -> a principal, in the access phase.
 *
 * RFC 6750: "Authorization: Bearer <token>" (a query parameter only where
 * users_auth_query allows it). The token's SHA-256 digest names its record
 * in Redis (docs/SCHEMA.md); a per-worker cache answers repeated tokens
 * without a round trip. The principal is handed on in variables:
 * $users_user_id, $users_workspace, $users_role, $users_permissions.
 */


#ifndef _NGX_HTTP_USERS_AUTH_H_INCLUDED_
#define _NGX_HTTP_USERS_AUTH_H_INCLUDED_


#include "ngx_http_users.h"


#define NGX_HTTP_USERS_MAX_TOKEN   512


typedef struct {
    ngx_str_t    user;
    ngx_str_t    workspace;
    ngx_str_t    role;
    ngx_str_t    perms;          /* comma-separated */
    time_t       exp;            /* 0: never */
} ngx_http_users_principal_t;


/* the access phase's users_auth: like a phase handler */
ngx_int_t ngx_http_users_auth_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_users_auth_variables(ngx_conf_t *cf);
void ngx_http_users_auth_init_worker(ngx_http_users_main_conf_t *umcf);

/* users_auth_query: the token out of the logged request line */
ngx_int_t ngx_http_users_auth_hide(ngx_http_request_t *r);

/* the request's principal, NULL when it has none */
ngx_http_users_principal_t *ngx_http_users_principal(ngx_http_request_t *r);

/* the role is name, or name is one of the permissions */
ngx_int_t ngx_http_users_allows(ngx_http_users_principal_t *p,
    ngx_str_t *name);

/* the token of "Authorization: Bearer <token>": pure, for tests/fuzzing */
ngx_int_t ngx_http_users_bearer(ngx_str_t *header, ngx_str_t *token);
ngx_int_t ngx_http_users_b64token(u_char *p, u_char *last, ngx_str_t *token);


#endif /* _NGX_HTTP_USERS_AUTH_H_INCLUDED_ */
