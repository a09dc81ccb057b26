
/*
 * ngx_http_users_module: client parameters -> a validated query.
 */


#include "ngx_http_users_query.h"


#define NGX_HTTP_USERS_MAX_NAME   64
#define NGX_HTTP_USERS_MAX_NUM    18


typedef struct {
    ngx_str_t    name;          /* unescaped */
    ngx_str_t    value;         /* unescaped */
} ngx_http_users_arg_t;


static ngx_int_t ngx_http_users_query_next(ngx_pool_t *pool, u_char **pos,
    u_char *last, ngx_http_users_arg_t *arg);
static ngx_int_t ngx_http_users_query_unescape(ngx_pool_t *pool,
    u_char *start, u_char *end, ngx_str_t *out);
static ngx_int_t ngx_http_users_query_number(ngx_str_t *value,
    ngx_uint_t min, ngx_uint_t max, ngx_uint_t *n);
static ngx_int_t ngx_http_users_query_size(ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *value, ngx_http_users_query_t *q,
    ngx_http_users_query_err_t *err);
static ngx_int_t ngx_http_users_query_fail(ngx_http_users_query_err_t *err,
    ngx_str_t *param, char *reason);


ngx_int_t
ngx_http_users_query_parse(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *args, ngx_http_users_query_t *q,
    ngx_http_users_query_err_t *err)
{
    u_char                   *pos, *last;
    ngx_int_t                 rc;
    ngx_uint_t                seen_size, seen_where;
    ngx_http_users_arg_t      arg;
    ngx_http_users_paging_t  *pg;

    static ngx_str_t  query = ngx_string("query");

    pg = &lcf->paging;

    q->offset = 0;
    q->page = 1;
    q->limit = pg->size_default;
    q->sort = lcf->sort;
    q->desc = lcf->sort_desc;

    if (args->len > NGX_HTTP_USERS_MAX_ARGS) {
        return ngx_http_users_query_fail(err, &query,
                                 "must not be longer than 4096 bytes");
    }

    seen_size = 0;
    seen_where = 0;

    pos = args->data;
    last = args->data + args->len;

    while (pos < last) {

        rc = ngx_http_users_query_next(pool, &pos, last, &arg);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_users_query_fail(err, &arg.name,
                                     "has malformed percent-encoding");
        }

        if (arg.name.len == pg->size_arg.len
            && ngx_strncmp(arg.name.data, pg->size_arg.data,
                           arg.name.len) == 0)
        {
            if (seen_size++) {
                return ngx_http_users_query_fail(err, &pg->size_arg,
                                                 "must not be repeated");
            }

            if (ngx_http_users_query_size(lcf, &arg.value, q, err)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            continue;
        }

        if (pg->style == NGX_HTTP_USERS_PAGE_OFFSET
            && arg.name.len == pg->offset_arg.len
            && ngx_strncmp(arg.name.data, pg->offset_arg.data,
                           arg.name.len) == 0)
        {
            if (seen_where++) {
                return ngx_http_users_query_fail(err, &pg->offset_arg,
                                                 "must not be repeated");
            }

            if (ngx_http_users_query_number(&arg.value, 0,
                                            NGX_HTTP_USERS_MAX_OFFSET,
                                            &q->offset)
                != NGX_OK)
            {
                return ngx_http_users_query_fail(err, &pg->offset_arg,
                          "must be an integer from 0 to 1000000000");
            }

            continue;
        }

        if (pg->style == NGX_HTTP_USERS_PAGE_NUMBER
            && arg.name.len == pg->page_arg.len
            && ngx_strncmp(arg.name.data, pg->page_arg.data,
                           arg.name.len) == 0)
        {
            if (seen_where++) {
                return ngx_http_users_query_fail(err, &pg->page_arg,
                                                 "must not be repeated");
            }

            if (ngx_http_users_query_number(&arg.value, 1,
                                            NGX_HTTP_USERS_MAX_OFFSET,
                                            &q->page)
                != NGX_OK)
            {
                return ngx_http_users_query_fail(err, &pg->page_arg,
                          "must be an integer from 1 to 1000000000");
            }

            continue;
        }

        /* parameters the API does not define are ignored */
    }

    if (pg->style == NGX_HTTP_USERS_PAGE_NUMBER) {
        q->offset = (q->page - 1) * q->limit;

    } else {
        q->page = q->offset / q->limit + 1;
    }

    return NGX_OK;
}


/*
 * args with the parameter "name" set to value (or removed when value is
 * NULL), the other parameters kept as sent and in their order: the query
 * of the next and previous page URLs.
 */

ngx_int_t
ngx_http_users_query_replace(ngx_pool_t *pool, ngx_str_t *args,
    ngx_str_t *name, ngx_str_t *value, ngx_str_t *out)
{
    u_char                *p, *pos, *start, *last;
    ngx_int_t              rc;
    ngx_uint_t             done;
    ngx_http_users_arg_t   arg;

    out->data = ngx_pnalloc(pool, args->len + name->len
                                  + (value ? value->len : 0) + 2);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    done = 0;

    pos = args->data;
    last = args->data + args->len;

    while (pos < last) {
        start = pos;

        rc = ngx_http_users_query_next(pool, &pos, last, &arg);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK
            && arg.name.len == name->len
            && ngx_strncmp(arg.name.data, name->data, name->len) == 0)
        {
            if (value == NULL || done++) {
                continue;
            }

            if (p > out->data) {
                *p++ = '&';
            }

            p = ngx_sprintf(p, "%V=%V", name, value);
            continue;
        }

        if (pos - 1 == start) {
            continue;                     /* an empty parameter: "&&" */
        }

        if (p > out->data) {
            *p++ = '&';
        }

        /* the parameter ends at pos - 1: its '&' or the end of args */
        p = ngx_cpymem(p, start, pos - 1 - start);
    }

    if (value != NULL && !done) {
        if (p > out->data) {
            *p++ = '&';
        }

        p = ngx_sprintf(p, "%V=%V", name, value);
    }

    out->len = p - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_query_next(ngx_pool_t *pool, u_char **pos, u_char *last,
    ngx_http_users_arg_t *arg)
{
    u_char     *p, *amp, *eq;
    ngx_int_t   rc;

    p = *pos;

    amp = ngx_strlchr(p, last, '&');
    if (amp == NULL) {
        amp = last;
    }

    *pos = amp + 1;

    eq = ngx_strlchr(p, amp, '=');
    if (eq == NULL) {
        eq = amp;
    }

    arg->name.len = 0;
    arg->value.len = 0;
    arg->value.data = (u_char *) "";

    rc = ngx_http_users_query_unescape(pool, p, eq, &arg->name);
    if (rc != NGX_OK) {
        arg->name.data = p;
        arg->name.len = ngx_min((size_t) (eq - p), NGX_HTTP_USERS_MAX_NAME);
        return rc;
    }

    if (eq < amp) {
        return ngx_http_users_query_unescape(pool, eq + 1, amp, &arg->value);
    }

    return NGX_OK;
}


/* percent-decoding with '+' as a space, as HTML forms send */

static ngx_int_t
ngx_http_users_query_unescape(ngx_pool_t *pool, u_char *start, u_char *end,
    ngx_str_t *out)
{
    u_char      *p, *d, c;
    ngx_int_t    hi, lo;

    if (ngx_strlchr(start, end, '%') == NULL
        && ngx_strlchr(start, end, '+') == NULL)
    {
        out->data = start;
        out->len = end - start;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, end - start);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    for (p = start; p < end; p++) {
        c = *p;

        if (c == '+') {
            *d++ = ' ';
            continue;
        }

        if (c != '%') {
            *d++ = c;
            continue;
        }

        if (end - p < 3) {
            return NGX_DECLINED;
        }

        hi = ngx_hextoi(p + 1, 1);
        lo = ngx_hextoi(p + 2, 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            return NGX_DECLINED;
        }

        *d++ = (u_char) (hi * 16 + lo);
        p += 2;
    }

    out->len = d - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_query_number(ngx_str_t *value, ngx_uint_t min, ngx_uint_t max,
    ngx_uint_t *n)
{
    ngx_int_t  v;

    if (value->len == 0 || value->len > NGX_HTTP_USERS_MAX_NUM) {
        return NGX_ERROR;
    }

    /* digits only: ngx_atoi() rejects signs, spaces and the empty string */

    v = ngx_atoi(value->data, value->len);

    if (v == NGX_ERROR || (ngx_uint_t) v < min || (ngx_uint_t) v > max) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_query_size(ngx_http_users_loc_conf_t *lcf, ngx_str_t *value,
    ngx_http_users_query_t *q, ngx_http_users_query_err_t *err)
{
    u_char                   *p;
    ngx_uint_t                i, *size;
    ngx_http_users_paging_t  *pg;

    static u_char  reason[128];

    pg = &lcf->paging;

    if (pg->sizes == NULL) {
        if (ngx_http_users_query_number(value, 1, pg->size_max, &q->limit)
            == NGX_OK)
        {
            return NGX_OK;
        }

        p = ngx_snprintf(reason, sizeof(reason) - 1,
                         "must be an integer from 1 to %ui", pg->size_max);
        *p = '\0';

        return ngx_http_users_query_fail(err, &pg->size_arg, (char *) reason);
    }

    size = pg->sizes->elts;

    if (ngx_http_users_query_number(value, 1, pg->size_max, &q->limit)
        == NGX_OK)
    {
        for (i = 0; i < pg->sizes->nelts; i++) {
            if (size[i] == q->limit) {
                return NGX_OK;
            }
        }
    }

    p = ngx_snprintf(reason, sizeof(reason) - 1, "must be one of ");

    for (i = 0; i < pg->sizes->nelts && p < reason + 100; i++) {
        p = ngx_snprintf(p, 16, i ? ", %ui" : "%ui", size[i]);
    }

    *p = '\0';

    return ngx_http_users_query_fail(err, &pg->size_arg, (char *) reason);
}


static ngx_int_t
ngx_http_users_query_fail(ngx_http_users_query_err_t *err, ngx_str_t *param,
    char *reason)
{
    err->status = NGX_HTTP_BAD_REQUEST;
    err->param = *param;
    err->reason.data = (u_char *) reason;
    err->reason.len = ngx_strlen(reason);

    return NGX_DECLINED;
}
