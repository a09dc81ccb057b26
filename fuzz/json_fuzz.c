
/*
 * libFuzzer harness: ngx_http_users_json_list() and _item() on rows of
 * arbitrary bytes, for each configuration of fuzz/users_conf.c (the five
 * APIs and one with a field of every type).
 *
 * Input: byte 0 picks the configuration (low 3 bits, mod USERS_CONF_N)
 * and the caller's permissions (bit 3); bytes 1-8 the page numbers; the
 * rest is values separated by 0xff, a value of the one byte 0xfe being a
 * null (an absent hash field); they fill the rows in order, and the first
 * two are also the next and previous URLs.
 *
 * Always NGX_OK (nothing a stored value holds may make a 500), and the
 * output is one JSON text that yajl's parser accepts (strings validated
 * as UTF-8), that is UTF-8 by a strict reading (no overlongs, surrogates
 * or code points past U+10FFFF, which yajl lets through), and whose items
 * are the rows, one object each with the fields the caller may see.
 */


#include "ngx_stubs.h"
#include "users_conf.h"
#include "ngx_http_users_json.h"
#include "ngx_http_users_store.h"

#include <yajl/yajl_tree.h>


#define JSON_MAX_ROWS  64


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *json_check(ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *perms, ngx_chain_t *out, off_t len, ngx_uint_t nrows,
    ngx_uint_t list);
static ngx_uint_t json_visible(ngx_array_t *fields, ngx_str_t *perms);
static int json_utf8(const u_char *p, size_t len);


static ngx_str_t  json_perms[] = {
    ngx_string(""),
    ngx_string("metadata,admin")
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    off_t                       len;
    u_char                     *p, *last, *sep, *copy;
    const char                 *why;
    ngx_int_t                   rc;
    ngx_str_t                  *values, *perms, url;
    ngx_uint_t                  which, nsources, nrows, n, i, k;
    ngx_pool_t                 *pool;
    ngx_array_t                 rows;
    ngx_chain_t                *out;
    ngx_http_users_row_t       *row, one;
    ngx_http_users_page_t       page;
    ngx_http_users_loc_conf_t  *lcf;

    if (size < 9) {
        return 0;
    }

    which = (data[0] & 7) % USERS_CONF_N;
    perms = &json_perms[(data[0] >> 3) & 1];
    lcf = users_conf(which);
    nsources = lcf->sources->nelts;

    pool = ngx_create_pool(1024, NULL);

    /* the page numbers: small, or anything up to the largest */

    ngx_memzero(&page, sizeof(ngx_http_users_page_t));

    page.total = (data[1] & 0x80) ? (ngx_uint_t) -1 >> (data[1] & 0x3f)
                                  : data[1];
    page.count = data[2];
    page.offset = (ngx_uint_t) data[3] << (data[4] & 0x3f);
    page.limit = data[4];
    page.page = data[5];
    page.last_page = data[6];
    page.next_page = data[7];
    page.prev_page = (data[8] & 0x80) ? (ngx_uint_t) -1 : data[8];
    page.perms = *perms;

    /* an exact-size copy: values point into it, reads past are reported */

    copy = malloc(size - 9 ? size - 9 : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data + 9, size - 9);

    /* whole rows: the last one padded with nulls; two for the URLs */

    values = calloc(JSON_MAX_ROWS * nsources + 2, sizeof(ngx_str_t));
    if (values == NULL) {
        abort();
    }

    p = copy;
    last = copy + (size - 9);

    for (n = 0; p < last && n < JSON_MAX_ROWS * nsources; n++) {
        sep = memchr(p, 0xff, last - p);
        if (sep == NULL) {
            sep = last;
        }

        if (!(sep - p == 1 && *p == 0xfe)) {
            values[n].data = p;
            values[n].len = sep - p;
        }

        p = sep + 1;
    }

    url = values[0];
    page.next_url = url;
    page.prev_url = values[1];

    nrows = (n + nsources - 1) / nsources;

    if (ngx_array_init(&rows, pool, ngx_max(nrows, 1),
                       sizeof(ngx_http_users_row_t))
        != NGX_OK)
    {
        abort();
    }

    for (i = 0; i < nrows; i++) {
        row = ngx_array_push(&rows);
        row->values = &values[i * nsources];
    }

    /* the list, in the location's envelope */

    rc = ngx_http_users_json_list(pool, lcf, &page, &rows, &out, &len);

    why = (rc == NGX_OK) ? json_check(lcf, perms, out, len, nrows, 1)
                         : "json_list() failed";

    /* one user, as users_get renders it */

    if (why == NULL) {
        one.values = values;

        rc = ngx_http_users_json_item(pool, lcf, perms, &one, NULL, &out,
                                      &len);

        why = (rc == NGX_OK) ? json_check(lcf, perms, out, len, 1, 0)
                             : "json_item() failed";
    }

    if (why) {
        fprintf(stderr, "json_fuzz: %s: %s\n", users_conf_name(which), why);

        for (k = 0; k < n; k++) {
            fprintf(stderr, "value %lu: \"%.*s\"\n", (unsigned long) k,
                    (int) values[k].len, values[k].data ? values[k].data
                                                        : (u_char *) "(null)");
        }

        abort();
    }

    ngx_destroy_pool(pool);
    free(values);
    free(copy);

    return 0;
}


static const char *
json_check(ngx_http_users_loc_conf_t *lcf, ngx_str_t *perms,
    ngx_chain_t *out, off_t len, ngx_uint_t nrows, ngx_uint_t list)
{
    char                  *text, errbuf[256];
    size_t                 n, i;
    yajl_val               root, items, it;
    const char            *why;
    ngx_chain_t           *cl;
    ngx_uint_t             visible;
    ngx_http_users_env_t  *env;

    static char  msg[512];

    text = malloc(len + 1);
    if (text == NULL) {
        abort();
    }

    for (n = 0, cl = out; cl; cl = cl->next) {
        if (n + (cl->buf->last - cl->buf->pos) > (size_t) len) {
            free(text);
            return "chain longer than the length returned";
        }

        memcpy(text + n, cl->buf->pos, cl->buf->last - cl->buf->pos);
        n += cl->buf->last - cl->buf->pos;
    }

    text[n] = '\0';

    if (n != (size_t) len) {
        free(text);
        return "chain shorter than the length returned";
    }

    if (!json_utf8((u_char *) text, n)) {
        snprintf(msg, sizeof(msg), "not strict UTF-8: %.300s", text);
        free(text);
        return msg;
    }

    if (memchr(text, '\0', n) != NULL) {
        free(text);
        return "a NUL byte in the output";
    }

    root = yajl_tree_parse(text, errbuf, sizeof(errbuf));

    if (root == NULL) {
        snprintf(msg, sizeof(msg), "yajl: %.100s in %.300s", errbuf, text);
        free(text);
        return msg;
    }

    why = NULL;
    items = root;

    if (list) {
        env = lcf->envelope->elts;

        if (!(lcf->envelope->nelts == 1 && env[0].name.len == 0)) {
            items = NULL;

            if (YAJL_IS_OBJECT(root)
                && root->u.object.len == lcf->envelope->nelts)
            {
                for (i = 0; i < lcf->envelope->nelts; i++) {
                    if (env[i].kind == NGX_HTTP_USERS_ENV_ITEMS) {
                        items = root->u.object.values[i];
                    }
                }
            }

            if (items == NULL) {
                why = "not the envelope";
                goto done;
            }
        }

        if (!YAJL_IS_ARRAY(items) || items->u.array.len != nrows) {
            why = "items is not an array of the rows";
            goto done;
        }
    }

    visible = json_visible(lcf->top, perms);

    for (i = 0; i < nrows; i++) {
        it = list ? items->u.array.values[i] : root;

        if (!YAJL_IS_OBJECT(it) || it->u.object.len != visible) {
            why = "a row is not an object of the visible fields";
            goto done;
        }
    }

done:

    yajl_tree_free(root);
    free(text);

    return why;
}


static ngx_uint_t
json_visible(ngx_array_t *fields, ngx_str_t *perms)
{
    ngx_uint_t                i, n;
    ngx_http_users_field_t  **f;

    f = fields->elts;

    for (i = 0, n = 0; i < fields->nelts; i++) {
        n += (f[i]->permission.len == 0
              || ngx_http_users_has_perm(perms, &f[i]->permission));
    }

    return n;
}


/* RFC 3629: the well-formed byte sequences of its table */

static int
json_utf8(const u_char *p, size_t len)
{
    size_t  i, n, k;
    u_char  lo, hi;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            n = 2;

        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            n = 3;
            lo = (p[i] == 0xe0) ? 0xa0 : 0x80;
            hi = (p[i] == 0xed) ? 0x9f : 0xbf;

        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            n = 4;
            lo = (p[i] == 0xf0) ? 0x90 : 0x80;
            hi = (p[i] == 0xf4) ? 0x8f : 0xbf;

        } else {
            return 0;
        }

        if (len - i < n || p[i + 1] < lo || p[i + 1] > hi) {
            return 0;
        }

        for (k = 2; k < n; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return 0;
            }
        }
    }

    return 1;
}
