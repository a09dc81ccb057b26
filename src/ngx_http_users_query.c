
/*
 * ngx_http_users_module: client parameters -> a validated query.
 *
 * Each parameter is matched against what nginx.conf declared: paging
 * (users_pagination), ordering (users_sort_param, users_sort) and filters
 * (users_filter). Parameters the API does not declare are ignored.
 */


#include "ngx_http_users_query.h"
#include "ngx_http_users_odata.h"


#define NGX_HTTP_USERS_MAX_NAME   64
#define NGX_HTTP_USERS_MAX_NUM    18
#define NGX_HTTP_USERS_MAX_SHOW   64     /* bytes of a value in a reason */


typedef struct {
    ngx_str_t                    name;          /* unescaped */
    ngx_str_t                    value;         /* unescaped */
} ngx_http_users_arg_t;


typedef struct {
    ngx_pool_t                  *pool;
    ngx_http_users_loc_conf_t   *lcf;
    ngx_str_t                   *perms;
    ngx_http_users_query_t      *q;
    ngx_http_users_query_err_t  *err;
    ngx_http_users_pred_t      **preds;         /* per filter, or NULL */
    ngx_uint_t                   seen_size;
    ngx_uint_t                   seen_where;
    ngx_uint_t                   seen_sort;
    ngx_uint_t                   seen_order;
    ngx_int_t                    order;         /* -1: not given */
} ngx_http_users_parse_t;


static ngx_int_t ngx_http_users_query_one(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg);
static ngx_int_t ngx_http_users_query_paging(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg);
static ngx_int_t ngx_http_users_query_size(ngx_http_users_parse_t *ps,
    ngx_str_t *value);
static ngx_int_t ngx_http_users_query_sorting(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg);
static ngx_int_t ngx_http_users_query_sort_list(ngx_http_users_parse_t *ps,
    ngx_str_t *value, ngx_uint_t signs);
static ngx_http_users_sortable_t *ngx_http_users_query_sortable(
    ngx_http_users_loc_conf_t *lcf, u_char *name, size_t len);
static ngx_int_t ngx_http_users_query_filter(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg);
static ngx_http_users_pred_t *ngx_http_users_query_pred(
    ngx_http_users_parse_t *ps, ngx_uint_t i);
static ngx_int_t ngx_http_users_query_values(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, ngx_str_t *value);
static ngx_int_t ngx_http_users_query_value(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, u_char *start, u_char *end);
static ngx_int_t ngx_http_users_query_typed(ngx_http_users_parse_t *ps,
    ngx_http_users_filter_t *f, ngx_str_t *v);
static ngx_int_t ngx_http_users_query_text(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, ngx_str_t *value);
static ngx_int_t ngx_http_users_query_finish(ngx_http_users_parse_t *ps);
static ngx_int_t ngx_http_users_query_defaults(ngx_http_users_parse_t *ps);
static ngx_int_t ngx_http_users_query_next(ngx_pool_t *pool, u_char **pos,
    u_char *last, ngx_http_users_arg_t *arg);
static ngx_int_t ngx_http_users_query_unescape(ngx_pool_t *pool,
    u_char *start, u_char *end, ngx_str_t *out);
static ngx_int_t ngx_http_users_query_number(ngx_str_t *value,
    ngx_uint_t min, ngx_uint_t max, ngx_uint_t *n);
static ngx_int_t ngx_http_users_query_int(ngx_pool_t *pool, ngx_str_t *v);
static ngx_int_t ngx_http_users_query_is(ngx_str_t *name, ngx_str_t *param);
static ngx_int_t ngx_http_users_query_fail(ngx_http_users_parse_t *ps,
    ngx_uint_t status, ngx_str_t *param, const char *fmt, ...);
static ngx_str_t *ngx_http_users_query_show(ngx_str_t *s, u_char *buf,
    u_char *p, size_t len);


ngx_int_t
ngx_http_users_query_parse(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *args, ngx_str_t *perms, ngx_http_users_query_t *q,
    ngx_http_users_query_err_t *err)
{
    u_char                  *pos, *last;
    ngx_int_t                rc;
    ngx_uint_t               n;
    ngx_http_users_arg_t     arg;
    ngx_http_users_parse_t   ps;

    static ngx_str_t  query = ngx_string("query");

    ngx_memzero(&ps, sizeof(ngx_http_users_parse_t));

    ps.pool = pool;
    ps.lcf = lcf;
    ps.perms = perms;
    ps.q = q;
    ps.err = err;
    ps.order = -1;

    q->offset = 0;
    q->page = 1;
    q->limit = lcf->paging.size_default;

    n = lcf->filters ? lcf->filters->nelts : 0;

    if (ngx_array_init(&q->sort, pool, 4, sizeof(ngx_http_users_sort_key_t))
        != NGX_OK
        || ngx_array_init(&q->preds, pool, ngx_max(n, 1),
                          sizeof(ngx_http_users_pred_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ps.preds = ngx_pcalloc(pool, ngx_max(n, 1) * sizeof(void *));
    if (ps.preds == NULL) {
        return NGX_ERROR;
    }

    if (args->len > NGX_HTTP_USERS_MAX_ARGS) {
        (void) ngx_http_users_query_fail(&ps, NGX_HTTP_BAD_REQUEST, &query,
                                         "must not be longer than %d bytes",
                                         NGX_HTTP_USERS_MAX_ARGS);
        return NGX_DECLINED;
    }

    pos = args->data;
    last = args->data + args->len;

    while (pos < last) {

        rc = ngx_http_users_query_next(pool, &pos, last, &arg);

        if (rc == NGX_DECLINED) {
            rc = ngx_http_users_query_fail(&ps, NGX_HTTP_BAD_REQUEST,
                                           &arg.name,
                                           "has malformed percent-encoding");
        }

        if (rc == NGX_OK) {
            rc = ngx_http_users_query_one(&ps, &arg);
        }

        if (rc != NGX_OK) {
            return rc == NGX_ABORT ? NGX_DECLINED : rc;
        }
    }

    return ngx_http_users_query_finish(&ps);
}


static ngx_int_t
ngx_http_users_query_one(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg)
{
    ngx_int_t  rc;

    rc = ngx_http_users_query_paging(ps, arg);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_users_query_sorting(ps, arg);
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_users_query_filter(ps, arg);
    }

    /* parameters the API does not define are ignored */

    return rc == NGX_DECLINED ? NGX_OK : rc;
}


static ngx_int_t
ngx_http_users_query_paging(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg)
{
    ngx_str_t                *name;
    ngx_uint_t               *n, min, max;
    ngx_http_users_paging_t  *pg;

    pg = &ps->lcf->paging;

    if (ngx_http_users_query_is(&arg->name, &pg->size_arg)) {
        if (ps->seen_size++) {
            return ngx_http_users_query_fail(ps, NGX_HTTP_BAD_REQUEST,
                                             &pg->size_arg,
                                             "must not be repeated");
        }

        return ngx_http_users_query_size(ps, &arg->value);
    }

    if (pg->style == NGX_HTTP_USERS_PAGE_OFFSET) {
        name = &pg->offset_arg;
        n = &ps->q->offset;
        min = 0;
        max = NGX_HTTP_USERS_MAX_OFFSET;

    } else {
        name = &pg->page_arg;
        n = &ps->q->page;
        min = 1;
        max = NGX_HTTP_USERS_MAX_PAGE;
    }

    if (!ngx_http_users_query_is(&arg->name, name)) {
        return NGX_DECLINED;
    }

    if (ps->seen_where++) {
        return ngx_http_users_query_fail(ps, NGX_HTTP_BAD_REQUEST, name,
                                         "must not be repeated");
    }

    if (ngx_http_users_query_number(&arg->value, min, max, n) != NGX_OK) {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status, name,
                                         "must be an integer from %ui to %ui",
                                         min, max);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_query_size(ngx_http_users_parse_t *ps, ngx_str_t *value)
{
    u_char                   *p, *last;
    ngx_uint_t                i, *size;
    ngx_http_users_paging_t  *pg;

    pg = &ps->lcf->paging;

    if (ngx_http_users_query_number(value, 1, pg->size_max, &ps->q->limit)
        != NGX_OK)
    {
        goto invalid;
    }

    if (pg->sizes == NULL) {
        return NGX_OK;
    }

    size = pg->sizes->elts;

    for (i = 0; i < pg->sizes->nelts; i++) {
        if (size[i] == ps->q->limit) {
            return NGX_OK;
        }
    }

invalid:

    if (pg->sizes == NULL) {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                         &pg->size_arg,
                                         "must be an integer from 1 to %ui",
                                         pg->size_max);
    }

    p = ngx_pnalloc(ps->pool, NGX_INT_T_LEN * (pg->sizes->nelts + 1) + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p;
    size = pg->sizes->elts;

    for (i = 0; i < pg->sizes->nelts; i++) {
        last = ngx_sprintf(last, i ? ", %ui" : "%ui", size[i]);
    }

    return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                     &pg->size_arg, "must be one of %*s",
                                     (size_t) (last - p), p);
}


/*
 * users_sort_param ordering;          "last_name,-first_name"
 * users_sort_param sort_by order=dir; sort_by=name&dir=desc
 */

static ngx_int_t
ngx_http_users_query_sorting(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg)
{
    ngx_http_users_loc_conf_t  *lcf;

    lcf = ps->lcf;

    if (lcf->sort_arg.len && ngx_http_users_query_is(&arg->name,
                                                     &lcf->sort_arg))
    {
        if (ps->seen_sort++) {
            return ngx_http_users_query_fail(ps, NGX_HTTP_BAD_REQUEST,
                                             &lcf->sort_arg,
                                             "must not be repeated");
        }

        return ngx_http_users_query_sort_list(ps, &arg->value,
                                              lcf->order_arg.len == 0);
    }

    if (lcf->order_arg.len == 0
        || !ngx_http_users_query_is(&arg->name, &lcf->order_arg))
    {
        return NGX_DECLINED;
    }

    if (ps->seen_order++) {
        return ngx_http_users_query_fail(ps, NGX_HTTP_BAD_REQUEST,
                                         &lcf->order_arg,
                                         "must not be repeated");
    }

    if (arg->value.len == 3 && ngx_strncmp(arg->value.data, "asc", 3) == 0) {
        ps->order = 0;
        return NGX_OK;
    }

    if (arg->value.len == 4 && ngx_strncmp(arg->value.data, "desc", 4) == 0)
    {
        ps->order = 1;
        return NGX_OK;
    }

    return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                     &lcf->order_arg,
                                     "must be \"asc\" or \"desc\"");
}


/* "a,-b": signs allowed; else a single name */

static ngx_int_t
ngx_http_users_query_sort_list(ngx_http_users_parse_t *ps, ngx_str_t *value,
    ngx_uint_t signs)
{
    u_char                     *p, *last, *comma;
    u_char                      buf[NGX_HTTP_USERS_MAX_SHOW * 4];
    ngx_str_t                   shown;
    ngx_uint_t                  i, desc;
    ngx_http_users_sort_key_t  *key;
    ngx_http_users_sortable_t  *by;

    p = value->data;
    last = value->data + value->len;

    do {
        comma = signs ? ngx_strlchr(p, last, ',') : NULL;
        if (comma == NULL) {
            comma = last;
        }

        desc = (signs && p < comma && *p == '-');
        p += desc;

        by = ngx_http_users_query_sortable(ps->lcf, p, comma - p);

        if (by == NULL) {
            return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                             &ps->lcf->sort_arg,
                                             "unknown sort field \"%V\"",
                                             ngx_http_users_query_show(&shown,
                                                 buf, p, comma - p));
        }

        key = ps->q->sort.elts;

        for (i = 0; i < ps->q->sort.nelts; i++) {
            if (key[i].by == by) {
                return ngx_http_users_query_fail(ps,
                                         ps->lcf->invalid_status,
                                         &ps->lcf->sort_arg,
                                         "sort field \"%V\" is repeated",
                                         &by->name);
            }
        }

        if (ps->q->sort.nelts == 8) {
            return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                             &ps->lcf->sort_arg,
                                             "at most 8 sort fields");
        }

        key = ngx_array_push(&ps->q->sort);
        if (key == NULL) {
            return NGX_ERROR;
        }

        key->by = by;
        key->desc = desc;

        p = comma + 1;

    } while (comma < last);

    return NGX_OK;
}


static ngx_http_users_sortable_t *
ngx_http_users_query_sortable(ngx_http_users_loc_conf_t *lcf, u_char *name,
    size_t len)
{
    ngx_uint_t                  i;
    ngx_http_users_sortable_t  *s;

    if (lcf->sorts == NULL) {
        return NULL;
    }

    s = lcf->sorts->elts;

    for (i = 0; i < lcf->sorts->nelts; i++) {
        if (s[i].name.len == len
            && ngx_strncmp(s[i].name.data, name, len) == 0)
        {
            return &s[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_users_query_filter(ngx_http_users_parse_t *ps,
    ngx_http_users_arg_t *arg)
{
    ngx_str_t                 brackets;
    ngx_uint_t                i;
    ngx_http_users_pred_t    *pred;
    ngx_http_users_filter_t  *f;

    if (ps->lcf->filters == NULL) {
        return NGX_DECLINED;
    }

    f = ps->lcf->filters->elts;

    for (i = 0; i < ps->lcf->filters->nelts; i++) {

        if (ngx_http_users_query_is(&arg->name, &f[i].param)) {
            break;
        }

        /* "ids[]" is "ids" for an array parameter */

        if (f[i].array && arg->name.len == f[i].param.len + 2) {
            brackets.data = arg->name.data;
            brackets.len = f[i].param.len;

            if (ngx_http_users_query_is(&brackets, &f[i].param)
                && arg->name.data[f[i].param.len] == '['
                && arg->name.data[f[i].param.len + 1] == ']')
            {
                break;
            }
        }
    }

    if (i == ps->lcf->filters->nelts) {
        return NGX_DECLINED;
    }

    if (f[i].permission.len
        && !ngx_http_users_has_perm(ps->perms, &f[i].permission))
    {
        return ngx_http_users_query_fail(ps, NGX_HTTP_FORBIDDEN, &f[i].param,
                                         "requires the \"%V\" permission",
                                         &f[i].permission);
    }

    if (ps->preds[i] != NULL && !f[i].array) {
        return ngx_http_users_query_fail(ps, NGX_HTTP_BAD_REQUEST,
                                         &f[i].param, "must not be repeated");
    }

    pred = ngx_http_users_query_pred(ps, i);
    if (pred == NULL) {
        return NGX_ERROR;
    }

    if (f[i].op == NGX_HTTP_USERS_FILTER_SEARCH
        || f[i].op == NGX_HTTP_USERS_FILTER_ODATA)
    {
        return ngx_http_users_query_text(ps, pred, &arg->value);
    }

    return ngx_http_users_query_values(ps, pred, &arg->value);
}


static ngx_http_users_pred_t *
ngx_http_users_query_pred(ngx_http_users_parse_t *ps, ngx_uint_t i)
{
    ngx_http_users_pred_t    *pred;
    ngx_http_users_filter_t  *f;

    if (ps->preds[i]) {
        return ps->preds[i];
    }

    f = ps->lcf->filters->elts;

    pred = ngx_array_push(&ps->q->preds);
    if (pred == NULL) {
        return NULL;
    }

    pred->filter = &f[i];
    pred->tokens = NULL;

    if (ngx_array_init(&pred->values, ps->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    ps->preds[i] = pred;

    return pred;
}


/* a value, or comma-separated values where the filter takes several */

static ngx_int_t
ngx_http_users_query_values(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, ngx_str_t *value)
{
    u_char     *p, *last, *comma;
    ngx_int_t   rc;

    p = value->data;
    last = value->data + value->len;

    do {
        comma = pred->filter->multi ? ngx_strlchr(p, last, ',') : NULL;
        if (comma == NULL) {
            comma = last;
        }

        rc = ngx_http_users_query_value(ps, pred, p, comma);
        if (rc != NGX_OK) {
            return rc;
        }

        p = comma + 1;

    } while (comma < last);

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_query_value(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, u_char *start, u_char *end)
{
    u_char                   *p, buf[NGX_HTTP_USERS_MAX_SHOW * 4];
    ngx_int_t                 rc;
    ngx_str_t                *v, *allowed, shown;
    ngx_uint_t                i;
    ngx_http_users_filter_t  *f;

    f = pred->filter;

    if (start == end || end - start > NGX_HTTP_USERS_MAX_VALUE) {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                         &f->param,
                                         "values must be 1 to %d bytes",
                                         NGX_HTTP_USERS_MAX_VALUE);
    }

    if (pred->values.nelts == NGX_HTTP_USERS_MAX_VALUES) {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                         &f->param, "at most %d values",
                                         NGX_HTTP_USERS_MAX_VALUES);
    }

    v = ngx_array_push(&pred->values);
    if (v == NULL) {
        return NGX_ERROR;
    }

    v->data = start;
    v->len = end - start;

    rc = ngx_http_users_query_typed(ps, f, v);
    if (rc != NGX_OK) {
        return rc;
    }

    if (f->values) {
        allowed = f->values->elts;

        for (i = 0; i < f->values->nelts; i++) {
            if (allowed[i].len == v->len
                && ngx_strncmp(allowed[i].data, v->data, v->len) == 0)
            {
                break;
            }
        }

        if (i == f->values->nelts) {
            return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                             &f->param,
                                             "unknown value \"%V\"",
                                             ngx_http_users_query_show(&shown,
                                                 buf, v->data, v->len));
        }
    }

    if (f->fold == NGX_HTTP_USERS_CASE_KEEP) {
        return NGX_OK;
    }

    /* case=: the value as the API spells it, looked up as stored */

    p = ngx_pnalloc(ps->pool, v->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < v->len; i++) {
        p[i] = (f->fold == NGX_HTTP_USERS_CASE_UPPER)
               ? ngx_toupper(v->data[i]) : ngx_tolower(v->data[i]);
    }

    v->data = p;

    return NGX_OK;
}


/*
 * A value of a filter of kind=time (from, to) or kind=int (any op):
 * NGX_OK, with an int in its canonical form; NGX_ABORT (the error set)
 * or NGX_ERROR otherwise.
 */

static ngx_int_t
ngx_http_users_query_typed(ngx_http_users_parse_t *ps,
    ngx_http_users_filter_t *f, ngx_str_t *v)
{
    u_char     buf[NGX_HTTP_USERS_MAX_SHOW * 4];
    ngx_int_t  rc;
    ngx_str_t  shown;

    if ((f->op == NGX_HTTP_USERS_FILTER_FROM
         || f->op == NGX_HTTP_USERS_FILTER_TO)
        && f->kind == NGX_HTTP_USERS_KIND_TIME
        && !ngx_http_users_datetime_valid(v->data, v->len))
    {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                         &f->param,
                                         "must be an RFC 3339 date-time");
    }

    if (f->kind != NGX_HTTP_USERS_KIND_INT) {
        return NGX_OK;
    }

    shown = *v;
    rc = ngx_http_users_query_int(ps->pool, v);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_users_query_fail(ps, ps->lcf->invalid_status, &f->param,
                                     "invalid integer \"%V\"",
                                     ngx_http_users_query_show(&shown, buf,
                                         shown.data, shown.len));
}


/* search terms and OData filters: one value each */

static ngx_int_t
ngx_http_users_query_text(ngx_http_users_parse_t *ps,
    ngx_http_users_pred_t *pred, ngx_str_t *value)
{
    u_char                   *p;
    ngx_int_t                 rc;
    ngx_str_t                *v, reason;
    ngx_http_users_filter_t  *f;

    f = pred->filter;

    if (f->op == NGX_HTTP_USERS_FILTER_SEARCH) {

        if (value->len == 0 || value->len > NGX_HTTP_USERS_MAX_VALUE) {
            return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                             &f->param,
                                             "must be 1 to %d bytes",
                                             NGX_HTTP_USERS_MAX_VALUE);
        }

        v = ngx_array_push(&pred->values);
        if (v == NULL) {
            return NGX_ERROR;
        }

        /* matching is ASCII case-insensitive: fold the term once */

        v->len = value->len;
        v->data = ngx_pnalloc(ps->pool, value->len);
        if (v->data == NULL) {
            return NGX_ERROR;
        }

        for (p = v->data; p < v->data + v->len; p++) {
            *p = ngx_tolower(value->data[p - v->data]);
        }

        return NGX_OK;
    }

    pred->tokens = ngx_array_create(ps->pool, 16, sizeof(ngx_str_t));
    if (pred->tokens == NULL) {
        return NGX_ERROR;
    }

    /* filter= (the documented default "") filters nothing */

    for (p = value->data; p < value->data + value->len && *p == ' '; p++) {
        /* void */
    }

    if (p == value->data + value->len) {
        return NGX_OK;
    }

    rc = ngx_http_users_odata_parse(ps->pool, value, f->names->elts,
                                    f->names->nelts, pred->tokens, &reason);

    if (rc == NGX_DECLINED) {
        return ngx_http_users_query_fail(ps, ps->lcf->invalid_status,
                                         &f->param, "%V", &reason);
    }

    return rc;
}


static ngx_int_t
ngx_http_users_query_finish(ngx_http_users_parse_t *ps)
{
    ngx_uint_t                  i;
    ngx_http_users_query_t     *q;
    ngx_http_users_sort_key_t  *key, *dflt;

    q = ps->q;

    if (ngx_http_users_query_defaults(ps) != NGX_OK) {
        return NGX_ERROR;
    }

    if (q->sort.nelts == 0 && ps->lcf->sort_default) {
        dflt = ps->lcf->sort_default->elts;

        for (i = 0; i < ps->lcf->sort_default->nelts; i++) {
            key = ngx_array_push(&q->sort);
            if (key == NULL) {
                return NGX_ERROR;
            }

            *key = dflt[i];
        }
    }

    if (ps->order != -1) {
        /* sort_order applies to the sort field, or the default order */
        key = q->sort.elts;

        for (i = 0; i < q->sort.nelts; i++) {
            key[i].desc = ps->order;
        }
    }

    if (ps->lcf->paging.style == NGX_HTTP_USERS_PAGE_NUMBER) {
        /* past 2^53 - 1 rows every page is empty: never wrap around */
        q->offset = (q->page - 1 > NGX_HTTP_USERS_MAX_PAGE / q->limit)
                    ? NGX_HTTP_USERS_MAX_PAGE : (q->page - 1) * q->limit;

    } else {
        q->page = q->offset / q->limit + 1;
    }

    return NGX_OK;
}


/* users_filter ... default=a,b applies when the parameter is absent */

static ngx_int_t
ngx_http_users_query_defaults(ngx_http_users_parse_t *ps)
{
    ngx_str_t                *v, *d;
    ngx_uint_t                i, j;
    ngx_http_users_pred_t    *pred;
    ngx_http_users_filter_t  *f;

    if (ps->lcf->filters == NULL) {
        return NGX_OK;
    }

    f = ps->lcf->filters->elts;

    for (i = 0; i < ps->lcf->filters->nelts; i++) {
        if (ps->preds[i] != NULL || f[i].defaults == NULL) {
            continue;
        }

        pred = ngx_http_users_query_pred(ps, i);
        if (pred == NULL) {
            return NGX_ERROR;
        }

        d = f[i].defaults->elts;

        for (j = 0; j < f[i].defaults->nelts; j++) {
            v = ngx_array_push(&pred->values);
            if (v == NULL) {
                return NGX_ERROR;
            }

            *v = d[j];
        }
    }

    return NGX_OK;
}


/*
 * users_expand_param: "groups,roles" -> the expansions asked for (*out
 * NULL when none). A parameter of its own: lists and single users share it.
 */

ngx_int_t
ngx_http_users_query_expands(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *args, ngx_array_t **out, ngx_http_users_query_err_t *err)
{
    u_char                      *pos, *last, *p, *comma;
    u_char                       buf[4 * NGX_HTTP_USERS_MAX_SHOW];
    ngx_int_t                    rc;
    ngx_str_t                    shown;
    ngx_uint_t                   i, k, seen;
    ngx_http_users_arg_t         arg;
    ngx_http_users_parse_t       ps;
    ngx_http_users_expand_t     *e;
    ngx_http_users_expansion_t  *x;

    *out = NULL;

    if (lcf->expands == NULL || lcf->expand_arg.len == 0
        || args->len > NGX_HTTP_USERS_MAX_ARGS)
    {
        return NGX_OK;
    }

    ngx_memzero(&ps, sizeof(ngx_http_users_parse_t));
    ps.pool = pool;
    ps.lcf = lcf;
    ps.err = err;

    seen = 0;
    pos = args->data;
    last = args->data + args->len;

    while (pos < last) {
        rc = ngx_http_users_query_next(pool, &pos, last, &arg);

        if (rc != NGX_OK || !ngx_http_users_query_is(&arg.name,
                                                     &lcf->expand_arg))
        {
            /* malformed parameters are the list's parser's to report */
            continue;
        }

        if (seen++) {
            (void) ngx_http_users_query_fail(&ps, NGX_HTTP_BAD_REQUEST,
                                             &lcf->expand_arg,
                                             "must not be repeated");
            return NGX_DECLINED;
        }

        *out = ngx_array_create(pool, lcf->expands->nelts,
                                sizeof(ngx_http_users_expansion_t));
        if (*out == NULL) {
            return NGX_ERROR;
        }

        e = lcf->expands->elts;

        for (p = arg.value.data; p < arg.value.data + arg.value.len;
             p = comma + 1)
        {
            comma = ngx_strlchr(p, arg.value.data + arg.value.len, ',');
            if (comma == NULL) {
                comma = arg.value.data + arg.value.len;
            }

            for (i = 0; i < lcf->expands->nelts; i++) {
                if (e[i].name.len == (size_t) (comma - p)
                    && ngx_strncmp(e[i].name.data, p, comma - p) == 0)
                {
                    break;
                }
            }

            if (i == lcf->expands->nelts) {
                (void) ngx_http_users_query_fail(&ps, lcf->invalid_status,
                                         &lcf->expand_arg,
                                         "unknown expand \"%V\"",
                                         ngx_http_users_query_show(&shown,
                                             buf, p, comma - p));
                return NGX_DECLINED;
            }

            x = (*out)->elts;

            for (k = 0; k < (*out)->nelts; k++) {
                if (x[k].expand == &e[i]) {
                    break;              /* "groups,groups" is "groups" */
                }
            }

            if (k < (*out)->nelts) {
                continue;
            }

            x = ngx_array_push(*out);
            if (x == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(x, sizeof(ngx_http_users_expansion_t));
            x->expand = &e[i];
        }
    }

    return NGX_OK;
}


/* the caller's permissions, comma-separated, hold perm */

ngx_int_t
ngx_http_users_has_perm(ngx_str_t *perms, ngx_str_t *perm)
{
    u_char  *p, *last, *comma;

    if (perms == NULL || perms->len == 0) {
        return 0;                 /* no users_permissions: data is NULL */
    }

    p = perms->data;
    last = perms->data + perms->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if ((size_t) (comma - p) == perm->len
            && ngx_strncmp(p, perm->data, perm->len) == 0)
        {
            return 1;
        }

        p = comma + 1;
    }

    return 0;
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




/*
 * kind=int: -?[0-9]+ of at most 19 significant digits, as the int sort
 * keys read them (docs/SCHEMA.md); v becomes its canonical form ("007"
 * is "7", "-0" is "0"), which is how ids are stored and looked up.
 */

static ngx_int_t
ngx_http_users_query_int(ngx_pool_t *pool, ngx_str_t *v)
{
    u_char  *p, *last, *digits;

    p = v->data;
    last = p + v->len;

    if (p < last && *p == '-') {
        p++;
    }

    for (digits = p; p < last && *p >= '0' && *p <= '9'; p++) {
        /* void */
    }

    if (p != last || p == digits) {
        return NGX_DECLINED;
    }

    while (digits < last - 1 && *digits == '0') {
        digits++;
    }

    if (last - digits > 19) {
        return NGX_DECLINED;
    }

    if (*digits == '0' || v->data[0] != '-') {
        v->len = last - digits;
        v->data = digits;
        return NGX_OK;
    }

    if (digits == v->data + 1) {
        return NGX_OK;
    }

    /* "-007": a copy, the request's arguments stay as they were sent */

    p = ngx_pnalloc(pool, last - digits + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = '-';
    ngx_memcpy(p + 1, digits, last - digits);

    v->len = last - digits + 1;
    v->data = p;

    return NGX_OK;
}


/* a parameter name as sent (unescaped) equals the configured one */

static ngx_int_t
ngx_http_users_query_is(ngx_str_t *name, ngx_str_t *param)
{
    return name->len == param->len
           && ngx_strncmp(name->data, param->data, name->len) == 0;
}


static ngx_int_t
ngx_http_users_query_fail(ngx_http_users_parse_t *ps, ngx_uint_t status,
    ngx_str_t *param, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(ps->pool, 256);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    ps->err->reason.len = ngx_vslprintf(p, p + 256, fmt, args) - p;
    va_end(args);

    ps->err->reason.data = p;
    ps->err->status = status;
    ps->err->param = *param;

    /* NGX_DECLINED means "not this parameter's kind" inside this file */
    return NGX_ABORT;
}


/* at most 64 bytes of a value, as printable ASCII between double quotes */

static ngx_str_t *
ngx_http_users_query_show(ngx_str_t *s, u_char *buf, u_char *p, size_t len)
{
    u_char         *d;
    size_t          n;
    static u_char   hex[] = "0123456789ABCDEF";

    d = buf;

    for (n = ngx_min(len, NGX_HTTP_USERS_MAX_SHOW); n; n--, p++) {

        if (*p == '"' || *p == '\\') {
            *d++ = '\\';
            *d++ = *p;

        } else if (*p >= 0x20 && *p < 0x7f) {
            *d++ = *p;

        } else {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = hex[*p >> 4];
            *d++ = hex[*p & 0xf];
        }
    }

    s->data = buf;
    s->len = d - buf;

    return s;
}
