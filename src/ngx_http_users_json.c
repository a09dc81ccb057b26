
/*
 * ngx_http_users_module: rows + envelope + field types -> JSON.
 */


#include "ngx_http_users_json.h"
#include "ngx_http_users_query.h"
#include "ngx_http_users_store.h"

#include <yajl/yajl_gen.h>


#define NGX_HTTP_USERS_JSON_CHUNK  8192


typedef struct {
    yajl_gen       gen;
    ngx_pool_t    *pool;
    ngx_str_t     *perms;         /* the caller's permissions */
    ngx_chain_t   *first;
    ngx_chain_t  **last;
    ngx_buf_t     *buf;
    off_t          len;
    ngx_uint_t     failed;        /* a yajl or allocation failure */
} ngx_http_users_json_t;


static ngx_int_t ngx_http_users_json_open(ngx_http_users_json_t *j,
    ngx_pool_t *pool);
static ngx_int_t ngx_http_users_json_close(ngx_http_users_json_t *j,
    ngx_chain_t **out, off_t *len);
static void ngx_http_users_json_print(void *ctx, const char *str,
    size_t len);

static void ngx_http_users_json_member(ngx_http_users_json_t *j,
    ngx_http_users_env_t *env, ngx_http_users_page_t *page,
    ngx_http_users_loc_conf_t *lcf, ngx_array_t *rows);
static void ngx_http_users_json_items(ngx_http_users_json_t *j,
    ngx_http_users_loc_conf_t *lcf, ngx_array_t *rows);
static void ngx_http_users_json_object(ngx_http_users_json_t *j,
    ngx_array_t *fields, ngx_http_users_row_t *row);
static void ngx_http_users_json_expands(ngx_http_users_json_t *j,
    ngx_array_t *expansions);
static void ngx_http_users_json_list_value(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v);
static void ngx_http_users_json_folded(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v);
static void ngx_http_users_json_field(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_http_users_row_t *row);
static ngx_int_t ngx_http_users_json_value(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v);
static void ngx_http_users_json_zero(ngx_http_users_json_t *j,
    ngx_http_users_type_e type);
static ngx_uint_t ngx_http_users_json_present(ngx_http_users_field_t *f,
    ngx_http_users_row_t *row);

static ngx_int_t ngx_http_users_json_int(ngx_http_users_json_t *j,
    ngx_str_t *v);
static ngx_int_t ngx_http_users_json_number(ngx_http_users_json_t *j,
    ngx_str_t *v);
static ngx_int_t ngx_http_users_json_bool(ngx_http_users_json_t *j,
    ngx_str_t *v);
static ngx_int_t ngx_http_users_json_timestamp(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v);
static ngx_uint_t ngx_http_users_json_two(u_char *p, ngx_int_t max);
static ngx_int_t ngx_http_users_json_digits(u_char *p, ngx_uint_t n);
static void ngx_http_users_json_str(ngx_http_users_json_t *j, u_char *data,
    size_t len);
static void ngx_http_users_json_uint(ngx_http_users_json_t *j, ngx_uint_t n);
static void ngx_http_users_json_maybe(ngx_http_users_json_t *j, ngx_uint_t n);
static void ngx_http_users_json_null(ngx_http_users_json_t *j);
static void ngx_http_users_json_check(ngx_http_users_json_t *j,
    yajl_gen_status status);

static size_t ngx_http_users_utf8_seq(u_char *p, size_t n);


ngx_int_t
ngx_http_users_json_list(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_http_users_page_t *page, ngx_array_t *rows, ngx_chain_t **out,
    off_t *len)
{
    ngx_uint_t              i;
    ngx_http_users_env_t   *env;
    ngx_http_users_json_t   j;

    if (ngx_http_users_json_open(&j, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    j.perms = &page->perms;
    env = lcf->envelope->elts;

    if (lcf->envelope->nelts == 1 && env[0].name.len == 0) {
        /* a bare array: the envelope travels in headers */
        ngx_http_users_json_items(&j, lcf, rows);
        return ngx_http_users_json_close(&j, out, len);
    }

    ngx_http_users_json_check(&j, yajl_gen_map_open(j.gen));

    for (i = 0; i < lcf->envelope->nelts; i++) {
        ngx_http_users_json_str(&j, env[i].name.data, env[i].name.len);
        ngx_http_users_json_member(&j, &env[i], page, lcf, rows);
    }

    ngx_http_users_json_check(&j, yajl_gen_map_close(j.gen));

    return ngx_http_users_json_close(&j, out, len);
}


/*
 * One user, without an envelope; where the location takes expands, they
 * are inside: those asked for, or {} (seed 003 shows the member always).
 */

ngx_int_t
ngx_http_users_json_item(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *perms, ngx_http_users_row_t *row, ngx_array_t *expansions,
    ngx_chain_t **out, off_t *len)
{
    ngx_uint_t               i;
    ngx_http_users_field_t **f;
    ngx_http_users_json_t    j;

    if (ngx_http_users_json_open(&j, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    j.perms = perms;

    if (expansions == NULL
        && (lcf->expands == NULL || lcf->expand_arg.len == 0))
    {
        ngx_http_users_json_object(&j, lcf->top, row);
        return ngx_http_users_json_close(&j, out, len);
    }

    f = lcf->top->elts;

    ngx_http_users_json_check(&j, yajl_gen_map_open(j.gen));

    for (i = 0; i < lcf->top->nelts; i++) {
        if (f[i]->permission.len
            && !ngx_http_users_has_perm(j.perms, &f[i]->permission))
        {
            continue;
        }

        ngx_http_users_json_str(&j, f[i]->name.data, f[i]->name.len);
        ngx_http_users_json_field(&j, f[i], row);
    }

    ngx_http_users_json_str(&j, (u_char *) "expands", 7);
    ngx_http_users_json_expands(&j, expansions);

    ngx_http_users_json_check(&j, yajl_gen_map_close(j.gen));

    return ngx_http_users_json_close(&j, out, len);
}


/* {"groups":[{...},...],"roles":[...]}, the names in the order asked */

static void
ngx_http_users_json_expands(ngx_http_users_json_t *j, ngx_array_t *expansions)
{
    ngx_uint_t                   i, k;
    ngx_http_users_row_t        *row;
    ngx_http_users_expansion_t  *x;

    ngx_http_users_json_check(j, yajl_gen_map_open(j->gen));

    x = expansions ? expansions->elts : NULL;

    for (i = 0; x && i < expansions->nelts; i++) {
        ngx_http_users_json_str(j, x[i].expand->name.data,
                                x[i].expand->name.len);

        ngx_http_users_json_check(j, yajl_gen_array_open(j->gen));

        row = x[i].rows.elts;

        for (k = 0; k < x[i].rows.nelts; k++) {
            ngx_http_users_json_object(j, x[i].expand->fields, &row[k]);
        }

        ngx_http_users_json_check(j, yajl_gen_array_close(j->gen));
    }

    ngx_http_users_json_check(j, yajl_gen_map_close(j->gen));
}


ngx_int_t
ngx_http_users_json_error(ngx_pool_t *pool, const char *code,
    ngx_str_t *param, ngx_str_t *message, ngx_chain_t **out, off_t *len)
{
    ngx_http_users_json_t  j;

    if (ngx_http_users_json_open(&j, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_users_json_check(&j, yajl_gen_map_open(j.gen));

    ngx_http_users_json_str(&j, (u_char *) "error", 5);
    ngx_http_users_json_str(&j, (u_char *) code, ngx_strlen(code));

    if (param != NULL) {
        ngx_http_users_json_str(&j, (u_char *) "parameter", 9);
        ngx_http_users_json_str(&j, param->data, param->len);
    }

    ngx_http_users_json_str(&j, (u_char *) "message", 7);
    ngx_http_users_json_str(&j, message->data, message->len);

    ngx_http_users_json_check(&j, yajl_gen_map_close(j.gen));

    return ngx_http_users_json_close(&j, out, len);
}


static void
ngx_http_users_json_member(ngx_http_users_json_t *j,
    ngx_http_users_env_t *env, ngx_http_users_page_t *page,
    ngx_http_users_loc_conf_t *lcf, ngx_array_t *rows)
{
    ngx_str_t  *url;

    switch (env->kind) {

    case NGX_HTTP_USERS_ENV_ITEMS:
        ngx_http_users_json_items(j, lcf, rows);
        return;

    case NGX_HTTP_USERS_ENV_NEXT_PAGE:
        ngx_http_users_json_maybe(j, page->next_page);
        return;

    case NGX_HTTP_USERS_ENV_PREV_PAGE:
        ngx_http_users_json_maybe(j, page->prev_page);
        return;

    case NGX_HTTP_USERS_ENV_EXPANDS:
        ngx_http_users_json_expands(j, page->expansions);
        return;

    case NGX_HTTP_USERS_ENV_NEXT_URL:
        url = &page->next_url;
        break;

    case NGX_HTTP_USERS_ENV_PREV_URL:
        url = &page->prev_url;
        break;

    default:
        ngx_http_users_json_uint(j, ngx_http_users_page_number(page,
                                                               env->kind));
        return;
    }

    if (url->data == NULL) {
        ngx_http_users_json_null(j);

    } else {
        ngx_http_users_json_str(j, url->data, url->len);
    }
}


ngx_uint_t
ngx_http_users_page_number(ngx_http_users_page_t *page, ngx_uint_t kind)
{
    switch (kind) {

    case NGX_HTTP_USERS_ENV_TOTAL:
        return page->total;

    case NGX_HTTP_USERS_ENV_COUNT:
        return page->count;

    case NGX_HTTP_USERS_ENV_OFFSET:
        return page->offset;

    case NGX_HTTP_USERS_ENV_PAGE:
        return page->page;

    case NGX_HTTP_USERS_ENV_LAST_PAGE:
        return page->last_page;

    default: /* NGX_HTTP_USERS_ENV_LIMIT, NGX_HTTP_USERS_ENV_PAGE_SIZE */
        return page->limit;
    }
}


/* a page number, 0 meaning there is none */

static void
ngx_http_users_json_maybe(ngx_http_users_json_t *j, ngx_uint_t n)
{
    if (n == 0) {
        ngx_http_users_json_null(j);

    } else {
        ngx_http_users_json_uint(j, n);
    }
}


static void
ngx_http_users_json_items(ngx_http_users_json_t *j,
    ngx_http_users_loc_conf_t *lcf, ngx_array_t *rows)
{
    ngx_uint_t             i;
    ngx_http_users_row_t  *row;

    row = rows->elts;

    ngx_http_users_json_check(j, yajl_gen_array_open(j->gen));

    for (i = 0; i < rows->nelts; i++) {
        ngx_http_users_json_object(j, lcf->top, &row[i]);
    }

    ngx_http_users_json_check(j, yajl_gen_array_close(j->gen));
}


static void
ngx_http_users_json_object(ngx_http_users_json_t *j, ngx_array_t *fields,
    ngx_http_users_row_t *row)
{
    ngx_uint_t               i;
    ngx_http_users_field_t **f;

    f = fields->elts;

    ngx_http_users_json_check(j, yajl_gen_map_open(j->gen));

    for (i = 0; i < fields->nelts; i++) {
        if (f[i]->permission.len
            && !ngx_http_users_has_perm(j->perms, &f[i]->permission))
        {
            continue;
        }

        ngx_http_users_json_str(j, f[i]->name.data, f[i]->name.len);
        ngx_http_users_json_field(j, f[i], row);
    }

    ngx_http_users_json_check(j, yajl_gen_map_close(j->gen));
}


static void
ngx_http_users_json_field(ngx_http_users_json_t *j, ngx_http_users_field_t *f,
    ngx_http_users_row_t *row)
{
    ngx_str_t  *v;

    if (f->type == NGX_HTTP_USERS_OBJECT) {

        if (f->nullable && !ngx_http_users_json_present(f, row)) {
            ngx_http_users_json_null(j);
            return;
        }

        ngx_http_users_json_object(j, f->children, row);
        return;
    }

    v = &row->values[f->value];

    /* a value that is not of its type is as good as absent */

    if (v->data != NULL && ngx_http_users_json_value(j, f, v) == NGX_OK) {
        return;
    }

    if (f->nullable) {
        ngx_http_users_json_null(j);

    } else {
        ngx_http_users_json_zero(j, f->type);
    }
}


/* NGX_DECLINED, and nothing written: v is not a value of the type */

static ngx_int_t
ngx_http_users_json_value(ngx_http_users_json_t *j, ngx_http_users_field_t *f,
    ngx_str_t *v)
{
    switch (f->type) {

    case NGX_HTTP_USERS_INT:
        return ngx_http_users_json_int(j, v);

    case NGX_HTTP_USERS_NUMBER:
        return ngx_http_users_json_number(j, v);

    case NGX_HTTP_USERS_BOOL:
        return ngx_http_users_json_bool(j, v);

    case NGX_HTTP_USERS_TIMESTAMP:
        return ngx_http_users_json_timestamp(j, f, v);

    case NGX_HTTP_USERS_INT_LIST:
    case NGX_HTTP_USERS_STRING_LIST:
        ngx_http_users_json_list_value(j, f, v);
        return NGX_OK;

    default: /* NGX_HTTP_USERS_STRING */
        ngx_http_users_json_folded(j, f, v);
        return NGX_OK;
    }
}


/* "1,2" -> [1,2]; "a,b" -> ["a","b"]; "" -> []; "1,x" -> [1] */

static void
ngx_http_users_json_list_value(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v)
{
    u_char     *p, *last, *comma;
    ngx_str_t   item;

    ngx_http_users_json_check(j, yajl_gen_array_open(j->gen));

    p = v->data;
    last = v->data + v->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        item.data = p;
        item.len = comma - p;

        p = comma + 1;

        if (item.len == 0) {
            continue;                 /* "1,,2" is [1,2] */
        }

        if (f->type == NGX_HTTP_USERS_INT_LIST) {
            (void) ngx_http_users_json_int(j, &item);

        } else {
            ngx_http_users_json_str(j, item.data, item.len);
        }
    }

    ngx_http_users_json_check(j, yajl_gen_array_close(j->gen));
}


/* case=upper|lower: enums shown as the API spells them */

static void
ngx_http_users_json_folded(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v)
{
    u_char  *p, *d;

    if (f->fold == NGX_HTTP_USERS_CASE_KEEP) {
        ngx_http_users_json_str(j, v->data, v->len);
        return;
    }

    d = ngx_pnalloc(j->pool, v->len);
    if (d == NULL) {
        j->failed = 1;
        return;
    }

    for (p = v->data; p < v->data + v->len; p++) {
        d[p - v->data] = (f->fold == NGX_HTTP_USERS_CASE_UPPER)
                         ? ngx_toupper(*p) : ngx_tolower(*p);
    }

    ngx_http_users_json_str(j, d, v->len);
}


/* a declared type holds even for an absent value that is not nullable */

static void
ngx_http_users_json_zero(ngx_http_users_json_t *j, ngx_http_users_type_e type)
{
    switch (type) {

    case NGX_HTTP_USERS_INT:
    case NGX_HTTP_USERS_NUMBER:
        ngx_http_users_json_uint(j, 0);
        return;

    case NGX_HTTP_USERS_BOOL:
        ngx_http_users_json_check(j, yajl_gen_bool(j->gen, 0));
        return;

    case NGX_HTTP_USERS_INT_LIST:
    case NGX_HTTP_USERS_STRING_LIST:
        ngx_http_users_json_check(j, yajl_gen_array_open(j->gen));
        ngx_http_users_json_check(j, yajl_gen_array_close(j->gen));
        return;

    default:
        ngx_http_users_json_str(j, (u_char *) "", 0);
        return;
    }
}


static ngx_uint_t
ngx_http_users_json_present(ngx_http_users_field_t *f,
    ngx_http_users_row_t *row)
{
    ngx_uint_t               i;
    ngx_http_users_field_t **c;

    if (f->type != NGX_HTTP_USERS_OBJECT) {
        return row->values[f->value].data != NULL;
    }

    c = f->children->elts;

    for (i = 0; i < f->children->nelts; i++) {
        if (ngx_http_users_json_present(c[i], row)) {
            return 1;
        }
    }

    return 0;
}


/* stored integers may carry a sign or leading zeros; JSON wants neither */

static ngx_int_t
ngx_http_users_json_int(ngx_http_users_json_t *j, ngx_str_t *v)
{
    u_char     *p, buf[NGX_OFF_T_LEN + 2];
    size_t      len;
    off_t       n;
    ngx_uint_t  neg;

    p = v->data;
    len = v->len;
    neg = 0;

    if (len && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
        len--;
    }

    n = (len && len <= 18) ? ngx_atoof(p, len) : NGX_ERROR;

    if (n == NGX_ERROR) {
        return NGX_DECLINED;
    }

    p = ngx_sprintf(buf, "%s%O", neg && n ? "-" : "", n);

    ngx_http_users_json_check(j, yajl_gen_number(j->gen, (char *) buf,
                                                 p - buf));
    return NGX_OK;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

static ngx_int_t
ngx_http_users_json_number(ngx_http_users_json_t *j, ngx_str_t *v)
{
    u_char  *p, *last, *digits;

    p = v->data;
    last = p + v->len;

    if (p < last && *p == '-') {
        p++;
    }

    digits = p;
    while (p < last && *p >= '0' && *p <= '9') { p++; }

    if (p == digits || (*digits == '0' && p - digits > 1)) {
        goto invalid;
    }

    if (p < last && *p == '.') {
        digits = ++p;
        while (p < last && *p >= '0' && *p <= '9') { p++; }
        if (p == digits) {
            goto invalid;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }
        digits = p;
        while (p < last && *p >= '0' && *p <= '9') { p++; }
        if (p == digits) {
            goto invalid;
        }
    }

    if (p == last && v->len <= 64) {
        ngx_http_users_json_check(j, yajl_gen_number(j->gen,
                                                     (char *) v->data,
                                                     v->len));
        return NGX_OK;
    }

invalid:

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_users_json_bool(ngx_http_users_json_t *j, ngx_str_t *v)
{
    if ((v->len == 1 && v->data[0] == '1')
        || (v->len == 4 && ngx_strncasecmp(v->data, (u_char *) "true", 4)
                           == 0))
    {
        ngx_http_users_json_check(j, yajl_gen_bool(j->gen, 1));
        return NGX_OK;
    }

    if (v->len == 0
        || (v->len == 1 && v->data[0] == '0')
        || (v->len == 5 && ngx_strncasecmp(v->data, (u_char *) "false", 5)
                           == 0))
    {
        ngx_http_users_json_check(j, yajl_gen_bool(j->gen, 0));
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * A timestamp as stored, if it is one as docs/SCHEMA.md defines them (and
 * the time sort keys read them): YYYY-MM-DD, optionally followed by "T",
 * "t" or " ", hh:mm:ss, a fraction, and "Z", "z", "+hh:mm" or "-hh:mm";
 * a real calendar date, hh <= 23, mm <= 59, ss <= 60.
 */

static ngx_int_t
ngx_http_users_json_timestamp(ngx_http_users_json_t *j,
    ngx_http_users_field_t *f, ngx_str_t *v)
{
    u_char     *p, *last, *digits;
    ngx_int_t   y, m, d, mdays;

    static ngx_int_t  days[] = { 31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31 };

    p = v->data;
    last = p + v->len;

    if (v->len < 10 || p[4] != '-' || p[7] != '-') {
        return NGX_DECLINED;
    }

    y = ngx_http_users_json_digits(p, 4);
    m = ngx_http_users_json_digits(p + 5, 2);
    d = ngx_http_users_json_digits(p + 8, 2);

    if (y < 0 || m < 1 || m > 12 || d < 1) {
        return NGX_DECLINED;
    }

    mdays = (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
            ? 29 : days[m - 1];

    if (d > mdays) {
        return NGX_DECLINED;
    }

    p += 10;

    if (p < last) {
        if (last - p < 9 || (*p != 'T' && *p != 't' && *p != ' ')
            || !ngx_http_users_json_two(p + 1, 23) || p[3] != ':'
            || !ngx_http_users_json_two(p + 4, 59) || p[6] != ':'
            || !ngx_http_users_json_two(p + 7, 60))
        {
            return NGX_DECLINED;
        }

        p += 9;

        if (p < last && *p == '.') {
            digits = ++p;

            while (p < last && *p >= '0' && *p <= '9') {
                p++;
            }

            if (p == digits) {
                return NGX_DECLINED;
            }
        }

        if (p < last && (*p == 'Z' || *p == 'z')) {
            p++;

        } else if (last - p == 6 && (*p == '+' || *p == '-')
                   && ngx_http_users_json_two(p + 1, 23) && p[3] == ':'
                   && ngx_http_users_json_two(p + 4, 59))
        {
            p = last;
        }

        if (p != last) {
            return NGX_DECLINED;
        }
    }

    ngx_http_users_json_folded(j, f, v);

    return NGX_OK;
}


/* two digits at p, at most max */

static ngx_uint_t
ngx_http_users_json_two(u_char *p, ngx_int_t max)
{
    ngx_int_t  n;

    n = ngx_http_users_json_digits(p, 2);

    return n >= 0 && n <= max;
}


/* n digits as a number, or -1 */

static ngx_int_t
ngx_http_users_json_digits(u_char *p, ngx_uint_t n)
{
    ngx_int_t  v;

    for (v = 0; n; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    return v;
}


/* stored bytes that are not UTF-8 are repaired, never passed on */

static void
ngx_http_users_json_str(ngx_http_users_json_t *j, u_char *data, size_t len)
{
    u_char  *fixed;

    if (!ngx_http_users_utf8_valid(data, len)) {
        fixed = ngx_pnalloc(j->pool, len * 3);
        if (fixed == NULL) {
            j->failed = 1;
            return;
        }

        len = ngx_http_users_utf8_fix(fixed, data, len);
        data = fixed;
    }

    ngx_http_users_json_check(j, yajl_gen_string(j->gen, data, len));
}


static void
ngx_http_users_json_uint(ngx_http_users_json_t *j, ngx_uint_t n)
{
    u_char  *p, buf[NGX_INT_T_LEN];

    p = ngx_sprintf(buf, "%ui", n);

    ngx_http_users_json_check(j, yajl_gen_number(j->gen, (char *) buf,
                                                 p - buf));
}


static void
ngx_http_users_json_null(ngx_http_users_json_t *j)
{
    ngx_http_users_json_check(j, yajl_gen_null(j->gen));
}


static void
ngx_http_users_json_check(ngx_http_users_json_t *j, yajl_gen_status status)
{
    if (status != yajl_gen_status_ok) {
        j->failed = 1;
    }
}


static ngx_int_t
ngx_http_users_json_open(ngx_http_users_json_t *j, ngx_pool_t *pool)
{
    ngx_memzero(j, sizeof(ngx_http_users_json_t));

    j->pool = pool;
    j->last = &j->first;

    j->gen = yajl_gen_alloc(NULL);
    if (j->gen == NULL) {
        return NGX_ERROR;
    }

    if (!yajl_gen_config(j->gen, yajl_gen_validate_utf8, 1)
        || !yajl_gen_config(j->gen, yajl_gen_print_callback,
                            ngx_http_users_json_print, j))
    {
        yajl_gen_free(j->gen);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_json_close(ngx_http_users_json_t *j, ngx_chain_t **out,
    off_t *len)
{
    yajl_gen_free(j->gen);

    if (j->failed || j->first == NULL) {
        return NGX_ERROR;
    }

    j->buf->last_buf = 1;
    j->buf->last_in_chain = 1;

    *out = j->first;
    *len = j->len;

    return NGX_OK;
}


static void
ngx_http_users_json_print(void *ctx, const char *str, size_t len)
{
    size_t                  size;
    ngx_buf_t              *b;
    ngx_chain_t            *cl;
    ngx_http_users_json_t  *j = ctx;

    if (j->failed) {
        return;
    }

    b = j->buf;

    if (b == NULL || (size_t) (b->end - b->last) < len) {
        size = ngx_max(len, NGX_HTTP_USERS_JSON_CHUNK);

        b = ngx_create_temp_buf(j->pool, size);
        cl = ngx_alloc_chain_link(j->pool);

        if (b == NULL || cl == NULL) {
            j->failed = 1;
            return;
        }

        cl->buf = b;
        cl->next = NULL;
        *j->last = cl;
        j->last = &cl->next;
        j->buf = b;
    }

    b->last = ngx_cpymem(b->last, str, len);
    j->len += len;
}


ngx_int_t
ngx_http_users_utf8_valid(u_char *p, size_t len)
{
    size_t  n;

    while (len) {
        n = ngx_http_users_utf8_seq(p, len);
        if (n == 0) {
            return 0;
        }

        p += n;
        len -= n;
    }

    return 1;
}


/* copies src to dst with each invalid byte replaced by U+FFFD */

size_t
ngx_http_users_utf8_fix(u_char *dst, u_char *src, size_t len)
{
    u_char  *d;
    size_t   n;

    d = dst;

    while (len) {
        n = ngx_http_users_utf8_seq(src, len);

        if (n == 0) {
            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            src++;
            len--;
            continue;
        }

        d = ngx_cpymem(d, src, n);
        src += n;
        len -= n;
    }

    return d - dst;
}


/* the length of the valid UTF-8 sequence at p, 0 if there is none */

static size_t
ngx_http_users_utf8_seq(u_char *p, size_t n)
{
    u_char  c;
    size_t  need, i;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    if (c < 0xc2 || c > 0xf4) {
        return 0;           /* continuation, overlong lead, or > U+10FFFF */
    }

    need = (c < 0xe0) ? 2 : (c < 0xf0) ? 3 : 4;

    if (n < need) {
        return 0;
    }

    for (i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    if ((c == 0xe0 && p[1] < 0xa0)          /* overlong */
        || (c == 0xed && p[1] >= 0xa0)      /* surrogates */
        || (c == 0xf0 && p[1] < 0x90)       /* overlong */
        || (c == 0xf4 && p[1] >= 0x90))     /* > U+10FFFF */
    {
        return 0;
    }

    return need;
}
