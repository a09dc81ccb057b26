
/*
 * ngx_http_users_module: one way to answer with a JSON error.
 */


#include "ngx_http_users_error.h"
#include "ngx_http_users_json.h"


typedef struct {
    ngx_uint_t   status;
    char        *code;
    ngx_str_t    message;
} ngx_http_users_status_t;


static ngx_http_users_status_t  ngx_http_users_statuses[] = {

    { NGX_HTTP_NOT_FOUND, "not_found",
      ngx_string("no such resource") },

    { NGX_HTTP_NOT_ALLOWED, "method_not_allowed",
      ngx_string("only GET and HEAD are allowed") },

    { NGX_HTTP_BAD_GATEWAY, "bad_gateway",
      ngx_string("the user store sent an unexpected reply") },

    { NGX_HTTP_SERVICE_UNAVAILABLE, "unavailable",
      ngx_string("the user store is unavailable; retry later") },

    { NGX_HTTP_GATEWAY_TIME_OUT, "timeout",
      ngx_string("the user store did not answer in time") },

    { 0, "internal", ngx_string("internal error") }
};


ngx_int_t
ngx_http_users_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *param, ngx_str_t *message)
{
    off_t         len;
    ngx_chain_t  *out;

    if (ngx_http_users_json_error(r->pool, code, param, message, &out, &len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_json(r, status, out, len);
}


ngx_int_t
ngx_http_users_error_status(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_table_elt_t          *h;
    ngx_http_users_status_t  *s;

    for (s = ngx_http_users_statuses; s->status; s++) {
        if (s->status == status) {
            break;
        }
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "1");
    }

    if (status == NGX_HTTP_NOT_ALLOWED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");
    }

    return ngx_http_users_error(r, s->status ? status
                                             : NGX_HTTP_INTERNAL_SERVER_ERROR,
                                s->code, NULL, &s->message);
}


ngx_int_t
ngx_http_users_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, off_t len)
{
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (r != r->main) {
        /* a subrequest (an SSI include) ends its part, not the response */

        for (cl = out; cl->next; cl = cl->next) { /* void */ }

        cl->buf->last_buf = 0;
        cl->buf->last_in_chain = 1;
    }

    return ngx_http_output_filter(r, out);
}
