
/*
 * Test support: checks a program from ngx_http_users_odata_parse().
 */


#include "odata_check.h"


typedef struct {
    ngx_str_t   *tok;
    ngx_uint_t   n;
    ngx_uint_t   i;
    ngx_uint_t   ncmp;
    u_char      *buf;           /* rendering */
    size_t       len;
    size_t       size;
} odata_check_t;


static const char *odata_check_node(odata_check_t *c, ngx_uint_t depth);
static const char *odata_check_cmp(odata_check_t *c);
static ngx_http_users_odata_field_t *odata_check_source(ngx_str_t *s);
static ngx_int_t odata_check_is(ngx_str_t *s, const char *w);
static void odata_check_render(odata_check_t *c, ngx_uint_t parens);
static void odata_check_put(odata_check_t *c, const char *p, size_t len);


ngx_http_users_odata_field_t  odata_check_fields[] = {
    { ngx_string("id"), ngx_string("id"), NGX_HTTP_USERS_ODATA_STR },
    { ngx_string("username"), ngx_string("username"),
      NGX_HTTP_USERS_ODATA_STR },
    { ngx_string("userStatus"), ngx_string("user_status"),
      NGX_HTTP_USERS_ODATA_STR },
    { ngx_string("createdAt"), ngx_string("created_at"),
      NGX_HTTP_USERS_ODATA_TIME },
    { ngx_string("updatedAt"), ngx_string("updated_at"),
      NGX_HTTP_USERS_ODATA_TIME },
    { ngx_string("lastLogin"), ngx_string("last_login"),
      NGX_HTTP_USERS_ODATA_TIME }
};

ngx_uint_t  odata_check_nfields =
    sizeof(odata_check_fields) / sizeof(odata_check_fields[0]);


const char *
odata_check_program(ngx_array_t *out)
{
    const char     *why;
    odata_check_t   c;

    memset(&c, 0, sizeof(odata_check_t));
    c.tok = out->elts;
    c.n = out->nelts;

    why = odata_check_node(&c, 0);
    if (why) {
        return why;
    }

    if (c.i != c.n) {
        return "tokens after the program";
    }

    if (c.ncmp > NGX_HTTP_USERS_ODATA_MAX_CMP) {
        return "too many comparisons";
    }

    return NULL;
}


static const char *
odata_check_node(odata_check_t *c, ngx_uint_t depth)
{
    const char  *why;
    ngx_str_t   *t, *cnt;
    ngx_uint_t   k, n;

    /* each level of input nesting adds at most two levels here */
    if (depth > 2 * NGX_HTTP_USERS_ODATA_MAX_DEPTH + 2) {
        return "program nested too deep";
    }

    if (c->i >= c->n) {
        return "program truncated";
    }

    t = &c->tok[c->i++];

    if (odata_check_is(t, "cmp")) {
        return odata_check_cmp(c);
    }

    if (odata_check_is(t, "not")) {
        return odata_check_node(c, depth + 1);
    }

    if (!odata_check_is(t, "and") && !odata_check_is(t, "or")) {
        return "unknown token";
    }

    if (c->i >= c->n) {
        return "and/or without a count";
    }

    cnt = &c->tok[c->i++];
    n = 0;

    if (cnt->len == 0 || cnt->len > 2 || cnt->data[0] == '0') {
        return "bad count";
    }

    for (k = 0; k < cnt->len; k++) {
        if (cnt->data[k] < '0' || cnt->data[k] > '9') {
            return "bad count";
        }

        n = n * 10 + cnt->data[k] - '0';
    }

    if (n < 2 || n > NGX_HTTP_USERS_ODATA_MAX_CMP) {
        return "count out of range";
    }

    for (k = 0; k < n; k++) {
        if (c->i < c->n && c->tok[c->i].len == t->len
            && memcmp(c->tok[c->i].data, t->data, t->len) == 0)
        {
            return "and/or chain not flattened";
        }

        why = odata_check_node(c, depth + 1);
        if (why) {
            return why;
        }
    }

    return NULL;
}


static const char *
odata_check_cmp(odata_check_t *c)
{
    ngx_str_t                     *t;
    ngx_http_users_odata_field_t  *f;

    if (c->i + 4 > c->n) {
        return "cmp truncated";
    }

    t = &c->tok[c->i];
    c->i += 4;
    c->ncmp++;

    if (!odata_check_is(&t[0], "eq") && !odata_check_is(&t[0], "ne")
        && !odata_check_is(&t[0], "gt") && !odata_check_is(&t[0], "ge")
        && !odata_check_is(&t[0], "lt") && !odata_check_is(&t[0], "le"))
    {
        return "bad operator";
    }

    f = odata_check_source(&t[1]);
    if (f == NULL) {
        return "unknown source field";
    }

    if (f->kind == NGX_HTTP_USERS_ODATA_TIME) {
        if (!odata_check_is(&t[2], "time")) {
            return "time field without kind time";
        }

        if (!ngx_http_users_datetime_valid(t[3].data, t[3].len)) {
            return "time value that does not validate";
        }

    } else if (!odata_check_is(&t[2], "str")) {
        return "string field without kind str";
    }

    if (t[3].len && t[3].data == NULL) {
        return "value without data";
    }

    return NULL;
}


static ngx_http_users_odata_field_t *
odata_check_source(ngx_str_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < odata_check_nfields; i++) {
        if (s->len == odata_check_fields[i].source.len
            && memcmp(s->data, odata_check_fields[i].source.data, s->len) == 0)
        {
            return &odata_check_fields[i];
        }
    }

    return NULL;
}


static ngx_int_t
odata_check_is(ngx_str_t *s, const char *w)
{
    return s->len == strlen(w) && memcmp(s->data, w, s->len) == 0;
}


const char *
odata_check_message(ngx_str_t *err)
{
    size_t  i;

    if (err->len == 0 || err->data == NULL) {
        return "empty message";
    }

    for (i = 0; i < err->len; i++) {
        if (err->data[i] < 0x20 || err->data[i] > 0x7e) {
            return "non-printable byte in message";
        }
    }

    if (err->len >= 400) {
        return "message suspiciously long (truncated?)";
    }

    return NULL;
}


const char *
odata_check_roundtrip(ngx_pool_t *pool, ngx_array_t *out)
{
    const char     *why;
    ngx_int_t       rc;
    ngx_str_t       text, err, *a, *b;
    ngx_uint_t      k;
    ngx_array_t     again;
    odata_check_t   c;

    memset(&c, 0, sizeof(odata_check_t));
    c.tok = out->elts;
    c.n = out->nelts;
    c.size = 4 * NGX_HTTP_USERS_ODATA_MAX_LEN;
    c.buf = malloc(c.size);
    if (c.buf == NULL) {
        abort();
    }

    odata_check_render(&c, 0);

    if (c.len > NGX_HTTP_USERS_ODATA_MAX_LEN) {
        free(c.buf);
        return NULL;
    }

    text.data = c.buf;
    text.len = c.len;

    if (ngx_array_init(&again, pool, 8, sizeof(ngx_str_t)) != NGX_OK) {
        abort();
    }

    rc = ngx_http_users_odata_parse(pool, &text, odata_check_fields,
                                    odata_check_nfields, &again, &err);

    why = NULL;

    if (rc != NGX_OK) {
        fprintf(stderr, "rendered: %.*s\nerror: %.*s\n", (int) text.len,
                text.data, (int) err.len, err.data);
        why = "the rendered program does not parse";

    } else if (again.nelts != out->nelts) {
        why = "the rendered program parses differently";

    } else {
        a = out->elts;
        b = again.elts;

        for (k = 0; k < out->nelts; k++) {
            if (a[k].len != b[k].len
                || (a[k].len && memcmp(a[k].data, b[k].data, a[k].len) != 0))
            {
                why = "the rendered program parses differently";
                break;
            }
        }
    }

    free(c.buf);

    return why;
}


/* parens: the node is an operand of "and" or of "not" */

static void
odata_check_render(odata_check_t *c, ngx_uint_t parens)
{
    ngx_str_t                     *t, *v;
    ngx_uint_t                     k, n, is_and;
    ngx_http_users_odata_field_t  *f;

    t = &c->tok[c->i++];

    if (odata_check_is(t, "cmp")) {
        v = &c->tok[c->i];
        c->i += 4;
        f = odata_check_source(&v[1]);

        odata_check_put(c, (char *) f->name.data, f->name.len);
        odata_check_put(c, " ", 1);
        odata_check_put(c, (char *) v[0].data, v[0].len);
        odata_check_put(c, " '", 2);

        for (k = 0; k < v[3].len; k++) {
            odata_check_put(c, (char *) &v[3].data[k], 1);

            if (v[3].data[k] == '\'') {
                odata_check_put(c, "'", 1);
            }
        }

        odata_check_put(c, "'", 1);
        return;
    }

    if (odata_check_is(t, "not")) {
        odata_check_put(c, "not ", 4);
        odata_check_render(c, 1);
        return;
    }

    is_and = odata_check_is(t, "and");
    n = strtoul((char *) c->tok[c->i++].data, NULL, 10);

    /* "or" needs parens under "and" and "not"; "and" only under "not" */
    parens = parens && (!is_and || parens == 1);

    if (parens) {
        odata_check_put(c, "(", 1);
    }

    for (k = 0; k < n; k++) {
        if (k) {
            odata_check_put(c, is_and ? " and " : " or ", is_and ? 5 : 4);
        }

        odata_check_render(c, is_and ? 2 : 0);
    }

    if (parens) {
        odata_check_put(c, ")", 1);
    }
}


static void
odata_check_put(odata_check_t *c, const char *p, size_t len)
{
    if (c->len + len <= c->size) {
        memcpy(c->buf + c->len, p, len);
    }

    c->len += len;
}


char *
odata_check_join(ngx_array_t *out)
{
    char        *s, *d;
    size_t       len;
    ngx_str_t   *t;
    ngx_uint_t   k;

    t = out->elts;
    len = 1;

    for (k = 0; k < out->nelts; k++) {
        len += t[k].len + 1;
    }

    s = malloc(len);
    if (s == NULL) {
        abort();
    }

    d = s;

    for (k = 0; k < out->nelts; k++) {
        if (k) {
            *d++ = ' ';
        }

        memcpy(d, t[k].data, t[k].len);
        d += t[k].len;
    }

    *d = '\0';

    return s;
}
