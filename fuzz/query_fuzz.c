
/*
 * libFuzzer harness: ngx_http_users_query_parse() on arbitrary query
 * strings, against each configuration of conf/ (fuzz/users_conf.c).
 *
 * Input: byte 0 picks the configuration (low 3 bits, mod USERS_CONF_N)
 * and the caller's permissions (next 2 bits); byte 1, when non-zero and
 * byte 0's top bit is set, makes that allocation fail; the rest is the
 * query string, as nginx's $args has it (not yet percent-decoded).
 *
 * NGX_OK:       the query is within bounds (query_check());
 * NGX_DECLINED: status 400, 403 or the location's invalid status, a
 *               non-empty printable reason, a parameter name;
 *               QUERY_FUZZ_ALLOW_ECHO=1 in the environment lets the reasons
 *               that echo a value ("unknown value \"...\"", "unknown sort
 *               field \"...\"") carry the client's bytes as sent, to fuzz
 *               past that known defect;
 * NGX_ERROR:    only when an allocation was made to fail.
 */


#include "ngx_stubs.h"
#include "odata_check.h"
#include "users_conf.h"
#include "ngx_http_users_query.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *query_check(ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *perms, ngx_http_users_query_t *q);
static const char *query_check_pred(ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *perms, ngx_http_users_pred_t *pred);
static const char *query_check_err(ngx_http_users_loc_conf_t *lcf,
    ngx_http_users_query_err_t *err);


/*
 * No permissions is "" here, not the ngx_null_string that the handler
 * passes when users_permissions is unset: has_perm() does NULL + 0 on
 * that (UB, see t/unit/query_test.c), and the fuzzer would stop there.
 */

static ngx_str_t  query_perms[] = {
    ngx_string(""),
    ngx_string("metadata"),
    ngx_string("read,metadata,admin"),
    ngx_string("admin,")
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char                 *why;
    ngx_int_t                   rc;
    ngx_str_t                   args, *perms;
    ngx_uint_t                  which, fail_at;
    ngx_pool_t                 *pool;
    ngx_http_users_query_t      q;
    ngx_http_users_query_err_t  err;
    ngx_http_users_loc_conf_t  *lcf;

    if (size < 2) {
        return 0;
    }

    which = (data[0] & 7) % USERS_CONF_N;
    perms = &query_perms[(data[0] >> 3) & 3];
    fail_at = (data[0] & 0x80) ? data[1] : 0;

    lcf = users_conf(which);

    args.data = (u_char *) data + 2;
    args.len = size - 2;

    pool = ngx_create_pool(1024, NULL);

    ngx_memzero(&err, sizeof(ngx_http_users_query_err_t));

    ngx_stub_allocs = 0;
    ngx_stub_fail_at = fail_at;

    rc = ngx_http_users_query_parse(pool, lcf, &args, perms, &q, &err);

    ngx_stub_fail_at = 0;

    switch (rc) {

    case NGX_OK:
        why = query_check(lcf, perms, &q);
        break;

    case NGX_DECLINED:
        why = query_check_err(lcf, &err);
        break;

    case NGX_ERROR:
        why = (fail_at && ngx_stub_allocs >= fail_at)
              ? NULL : "NGX_ERROR without an allocation failure";
        break;

    default:
        why = "unexpected return code";
    }

    if (why) {
        fprintf(stderr, "query_fuzz: %s, rc %ld: %s\n",
                users_conf_name(which), (long) rc, why);

        if (rc == NGX_DECLINED) {
            fprintf(stderr, "status %lu, param \"%.*s\", reason \"%.*s\"\n",
                    (unsigned long) err.status, (int) err.param.len,
                    err.param.data, (int) err.reason.len, err.reason.data);
        }

        abort();
    }

    ngx_destroy_pool(pool);

    return 0;
}


static const char *
query_check(ngx_http_users_loc_conf_t *lcf, ngx_str_t *perms,
    ngx_http_users_query_t *q)
{
    const char                 *why;
    ngx_uint_t                  i, j, ok, *size, offset;
    ngx_http_users_pred_t      *pred;
    ngx_http_users_paging_t    *pg;
    ngx_http_users_sort_key_t  *key;
    ngx_http_users_sortable_t  *sorts;

    pg = &lcf->paging;

    if (q->limit < 1 || q->limit > pg->size_max) {
        return "limit out of bounds";
    }

    if (pg->sizes && q->limit != pg->size_default) {
        size = pg->sizes->elts;

        for (i = 0, ok = 0; i < pg->sizes->nelts; i++) {
            ok |= (size[i] == q->limit);
        }

        if (!ok) {
            return "limit not one of sizes=";
        }
    }

    if (pg->style == NGX_HTTP_USERS_PAGE_OFFSET) {
        if (q->offset > NGX_HTTP_USERS_MAX_OFFSET) {
            return "offset out of bounds";
        }

        if (q->page != q->offset / q->limit + 1) {
            return "page does not match offset";
        }

    } else {
        if (q->page < 1 || q->page > NGX_HTTP_USERS_MAX_PAGE) {
            return "page out of bounds";
        }

        /*
         * offset is (page - 1) * limit, or for pages past 2^53 - 1 rows
         * (all empty) anything past those; never a product wrapped around
         */

        if (__builtin_mul_overflow(q->page - 1, q->limit, &offset)) {
            if (q->offset < NGX_HTTP_USERS_MAX_PAGE) {
                return "(page - 1) * limit overflows: offset wrapped around";
            }

        } else if (q->offset != offset
                   && !(offset > NGX_HTTP_USERS_MAX_PAGE
                        && q->offset >= NGX_HTTP_USERS_MAX_PAGE))
        {
            return "offset does not match page";
        }
    }

    if (q->sort.nelts < 1 || q->sort.nelts > 8) {
        return "not 1 to 8 sort keys";
    }

    key = q->sort.elts;
    sorts = lcf->sorts->elts;

    for (i = 0; i < q->sort.nelts; i++) {
        if (key[i].by < sorts || key[i].by >= sorts + lcf->sorts->nelts) {
            return "sort key not of users_sort";
        }

        if (key[i].desc > 1) {
            return "sort direction not 0 or 1";
        }

        for (j = 0; j < i; j++) {
            if (key[j].by == key[i].by) {
                return "sort key repeated";
            }
        }
    }

    pred = q->preds.elts;

    for (i = 0; i < q->preds.nelts; i++) {
        why = query_check_pred(lcf, perms, &pred[i]);
        if (why) {
            return why;
        }

        for (j = 0; j < i; j++) {
            if (pred[j].filter == pred[i].filter) {
                return "two predicates of one filter";
            }
        }
    }

    return NULL;
}


static const char *
query_check_pred(ngx_http_users_loc_conf_t *lcf, ngx_str_t *perms,
    ngx_http_users_pred_t *pred)
{
    ngx_str_t                *v, *a;
    ngx_uint_t                i, j, ok, dflt;
    ngx_http_users_filter_t  *f;

    f = pred->filter;

    if (lcf->filters == NULL
        || f < (ngx_http_users_filter_t *) lcf->filters->elts
        || f >= (ngx_http_users_filter_t *) lcf->filters->elts
                + lcf->filters->nelts)
    {
        return "predicate of no users_filter";
    }

    if (f->permission.len && !ngx_http_users_has_perm(perms, &f->permission))
    {
        return "predicate without the filter's permission";
    }

    if (f->op == NGX_HTTP_USERS_FILTER_ODATA) {
        if (pred->tokens == NULL) {
            return "odata predicate without a program";
        }

        return pred->tokens->nelts ? odata_check_program(pred->tokens) : NULL;
    }

    v = pred->values.elts;

    if (pred->values.nelts < 1
        || pred->values.nelts > NGX_HTTP_USERS_MAX_VALUES)
    {
        return "not 1 to 100 values";
    }

    if (f->op == NGX_HTTP_USERS_FILTER_SEARCH && pred->values.nelts != 1
        && !f->array)
    {
        return "search with several terms";
    }

    dflt = (f->defaults && v == f->defaults->elts);

    for (i = 0; i < pred->values.nelts; i++) {
        if (v[i].len < 1 || v[i].len > NGX_HTTP_USERS_MAX_VALUE) {
            return "value not 1 to 256 bytes";
        }

        if (dflt) {
            continue;
        }

        for (j = 0; j < v[i].len; j++) {
            if ((f->fold == NGX_HTTP_USERS_CASE_UPPER
                 && v[i].data[j] >= 'a' && v[i].data[j] <= 'z')
                || ((f->fold == NGX_HTTP_USERS_CASE_LOWER
                     || f->op == NGX_HTTP_USERS_FILTER_SEARCH)
                    && v[i].data[j] >= 'A' && v[i].data[j] <= 'Z'))
            {
                return "value not case-folded";
            }
        }

        if ((f->op == NGX_HTTP_USERS_FILTER_FROM
             || f->op == NGX_HTTP_USERS_FILTER_TO)
            && f->kind == NGX_HTTP_USERS_KIND_TIME
            && !ngx_http_users_datetime_valid(v[i].data, v[i].len))
        {
            return "from/to value not a date-time";
        }

        if (f->values == NULL) {
            continue;
        }

        a = f->values->elts;

        for (j = 0, ok = 0; j < f->values->nelts; j++) {
            ok |= (a[j].len == v[i].len
                   && ngx_strncmp(a[j].data, v[i].data, v[i].len) == 0);
        }

        if (!ok) {
            return "value not of values=";
        }
    }

    if (f->op != NGX_HTTP_USERS_FILTER_IN
        && f->op != NGX_HTTP_USERS_FILTER_MEMBER
        && !f->multi && !f->array && pred->values.nelts != 1)
    {
        return "several values for a single-valued filter";
    }

    return NULL;
}


static const char *
query_check_err(ngx_http_users_loc_conf_t *lcf,
    ngx_http_users_query_err_t *err)
{
    size_t  i;

    static int  allow_echo = -1;

    if (allow_echo == -1) {
        allow_echo = getenv("QUERY_FUZZ_ALLOW_ECHO") != NULL;
    }

    if (err->status != NGX_HTTP_BAD_REQUEST
        && err->status != NGX_HTTP_FORBIDDEN
        && err->status != lcf->invalid_status)
    {
        return "status not 400, 403 or users_invalid_status";
    }

    if (err->reason.len == 0 || err->reason.data == NULL) {
        return "empty reason";
    }

    if (err->param.len == 0 && err->param.data == NULL) {
        return "no parameter named";
    }

    if (allow_echo
        && ((err->reason.len > 15
             && ngx_strncmp(err->reason.data, "unknown value \"", 15) == 0)
            || (err->reason.len > 20
                && ngx_strncmp(err->reason.data, "unknown sort field \"", 20)
                   == 0)))
    {
        return NULL;
    }

    for (i = 0; i < err->reason.len; i++) {
        if (err->reason.data[i] < 0x20 || err->reason.data[i] > 0x7e) {
            return "non-printable byte in reason";
        }
    }

    return NULL;
}
