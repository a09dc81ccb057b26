
/*
 * libFuzzer harness: ngx_http_users_query_replace() on arbitrary query
 * strings: the query of the next and previous page URLs.
 *
 * Input: byte 0 picks the parameter name, byte 1 the value (or NULL: the
 * parameter removed); the rest is the query string.
 *
 * Always NGX_OK (allocation does not fail here), and the output:
 *   - fits the allocation: ASan sees every byte written;
 *   - has the parameter exactly once, with the value, or not at all when
 *     removed (counted by names as the parser decodes them);
 *   - has every other non-empty parameter, byte for byte and in order.
 *
 * Inputs where a parameter of that name has a malformed value are skipped:
 * the parser answers 400 to those, so no page URL is ever built from them
 * (replace() then keeps them as sent; see the report of this harness).
 */


#include "ngx_stubs.h"
#include "ngx_http_users_query.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replace_split(u_char *p, size_t len, ngx_str_t *out,
    size_t max);
static ngx_int_t replace_decode(ngx_str_t *in, u_char *buf, ngx_str_t *out);
static ngx_int_t replace_name_is(ngx_str_t *param, ngx_str_t *name,
    ngx_uint_t *malformed);
static int replace_hex(u_char c);


static ngx_str_t  replace_names[] = {
    ngx_string("page"), ngx_string("offset"), ngx_string("limit"),
    ngx_string("p"), ngx_string("page_size"), ngx_string("a b"),
    ngx_string("ids[]"), ngx_string("x")
};


static ngx_str_t  replace_values[] = {
    ngx_string("2"), ngx_string("1000000000"), ngx_string(""),
    ngx_string("9007199254740991")
};


#define REPLACE_MAX  (4096 / 2 + 2)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *copy;
    size_t       nin, nout, i, j;
    ngx_int_t    rc;
    ngx_str_t    args, out, *name, *value;
    ngx_str_t    in[REPLACE_MAX], got[REPLACE_MAX + 1];
    ngx_uint_t   found, bad;
    ngx_pool_t  *pool;

    if (size < 2 || size - 2 > 4096) {
        return 0;
    }

    name = &replace_names[data[0] % 8];
    value = (data[1] & 4) ? NULL : &replace_values[data[1] & 3];

    copy = malloc(size - 2 ? size - 2 : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data + 2, size - 2);

    args.data = copy;
    args.len = size - 2;

    nin = replace_split(args.data, args.len, in, REPLACE_MAX);

    for (i = 0, bad = 0; i < nin; i++) {
        (void) replace_name_is(&in[i], name, &bad);
    }

    if (bad) {
        free(copy);
        return 0;
    }

    pool = ngx_create_pool(1024, NULL);

    rc = ngx_http_users_query_replace(pool, &args, name, value, &out);

    if (rc != NGX_OK) {
        fprintf(stderr, "replace_fuzz: rc %ld\n", (long) rc);
        abort();
    }

    if (out.len > args.len + name->len + (value ? value->len : 0) + 2) {
        fprintf(stderr, "replace_fuzz: output longer than allocated\n");
        abort();
    }

    nout = replace_split(out.data, out.len, got, REPLACE_MAX + 1);

    /* the output has no empty parameters: "&&", a leading or trailing '&' */

    for (j = 0; j < nout; j++) {
        if (got[j].len == 0) {
            fprintf(stderr, "replace_fuzz: empty parameter in output\n");
            abort();
        }
    }

    found = 0;
    j = 0;

    for (i = 0; i < nout; i++) {
        if (replace_name_is(&got[i], name, &bad)) {
            if (value == NULL || found++
                || got[i].len != name->len + 1 + value->len
                || ngx_strncmp(got[i].data, name->data, name->len) != 0
                || got[i].data[name->len] != '='
                || ngx_strncmp(got[i].data + name->len + 1, value->data,
                               value->len) != 0)
            {
                fprintf(stderr, "replace_fuzz: \"%.*s\": the parameter "
                        "twice, or with another value, or not removed\n",
                        (int) out.len, out.data);
                abort();
            }

            continue;
        }

        /* the next non-empty input parameter of another name */

        while (j < nin && (in[j].len == 0
                           || replace_name_is(&in[j], name, &bad)))
        {
            j++;
        }

        if (j == nin || in[j].len != got[i].len
            || ngx_strncmp(in[j].data, got[i].data, got[i].len) != 0)
        {
            fprintf(stderr, "replace_fuzz: \"%.*s\": parameter %zu is not "
                    "the input's\n", (int) out.len, out.data, i);
            abort();
        }

        j++;
    }

    while (j < nin && (in[j].len == 0 || replace_name_is(&in[j], name, &bad)))
    {
        j++;
    }

    if (j != nin || (value != NULL && !found)) {
        fprintf(stderr, "replace_fuzz: \"%.*s\": a parameter lost\n",
                (int) out.len, out.data);
        abort();
    }

    ngx_destroy_pool(pool);
    free(copy);

    return 0;
}


/* split on '&', keeping empty parameters */

static size_t
replace_split(u_char *p, size_t len, ngx_str_t *out, size_t max)
{
    size_t   n;
    u_char  *last, *amp;

    n = 0;
    last = p + len;

    while (p < last) {
        amp = memchr(p, '&', last - p);
        if (amp == NULL) {
            amp = last;
        }

        if (n == max) {
            abort();
        }

        out[n].data = p;
        out[n].len = amp - p;
        n++;

        p = amp + 1;
    }

    return n;
}


/* percent-decoding with '+' as a space; NGX_DECLINED if malformed */

static ngx_int_t
replace_decode(ngx_str_t *in, u_char *buf, ngx_str_t *out)
{
    size_t  i, n;
    int     hi, lo;

    for (i = 0, n = 0; i < in->len; i++) {
        if (in->data[i] == '+') {
            buf[n++] = ' ';
            continue;
        }

        if (in->data[i] != '%') {
            buf[n++] = in->data[i];
            continue;
        }

        if (in->len - i < 3) {
            return NGX_DECLINED;
        }

        hi = replace_hex(in->data[i + 1]);
        lo = replace_hex(in->data[i + 2]);

        if (hi < 0 || lo < 0) {
            return NGX_DECLINED;
        }

        buf[n++] = (u_char) (hi * 16 + lo);
        i += 2;
    }

    out->data = buf;
    out->len = n;

    return NGX_OK;
}


/*
 * 1 if the parameter's decoded name is name; malformed is set when it is
 * so and its value does not decode
 */

static ngx_int_t
replace_name_is(ngx_str_t *param, ngx_str_t *name, ngx_uint_t *malformed)
{
    u_char     *eq, buf[4096];
    ngx_str_t   n, v, dn, dv;

    eq = memchr(param->data, '=', param->len);

    n.data = param->data;
    n.len = eq ? (size_t) (eq - param->data) : param->len;

    if (replace_decode(&n, buf, &dn) != NGX_OK
        || dn.len != name->len
        || ngx_strncmp(dn.data, name->data, name->len) != 0)
    {
        return 0;
    }

    if (eq) {
        v.data = eq + 1;
        v.len = param->data + param->len - v.data;

        if (replace_decode(&v, buf, &dv) != NGX_OK) {
            *malformed = 1;
        }
    }

    return 1;
}


static int
replace_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}
