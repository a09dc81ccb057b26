
/*
 * Unit test of ngx_http_users_query_parse() against the configurations of
 * conf/ (fuzz/users_conf.c): each case is a query string and either the
 * query (limit, offset, page, sort keys) or the exact error; then the
 * regressions the fuzzers found.
 */


#include "ngx_stubs.h"
#include "users_conf.h"
#include "ngx_http_users_query.h"


#define OK        NGX_OK
#define DECLINED  NGX_DECLINED


typedef struct {
    ngx_uint_t   conf;
    const char  *perms;          /* NULL: none, as ngx_null_string */
    const char  *args;
    ngx_int_t    rc;
    const char  *expect;         /* "limit offset page sort" or the error */
} query_case_t;


static query_case_t  cases[] = {

    { USERS_CONF_ACCOUNTS, NULL, "", OK, "20 0 1 last_name" },
    { USERS_CONF_ACCOUNTS, NULL,
      "ordering=-first_name,last_name&limit=50&offset=100", OK,
      "50 100 3 -first_name,last_name" },
    { USERS_CONF_ACCOUNTS, NULL, "limit=101", DECLINED,
      "400 limit: must be an integer from 1 to 100" },
    { USERS_CONF_ACCOUNTS, NULL, "ordering=age", DECLINED,
      "400 ordering: unknown sort field \"age\"" },
    { USERS_CONF_ACCOUNTS, NULL, "status=deleted", DECLINED,
      "400 status: unknown value \"deleted\"" },
    { USERS_CONF_ACCOUNTS, NULL, "offset=1&offset=2", DECLINED,
      "400 offset: must not be repeated" },
    { USERS_CONF_ACCOUNTS, NULL, "a=%zz", DECLINED,
      "400 a: has malformed percent-encoding" },

    { USERS_CONF_USERS_V1, NULL, "page=3&page_size=50&sort_order=desc", OK,
      "50 100 3 -created_at" },
    { USERS_CONF_USERS_V1, NULL, "id=7", DECLINED,
      "403 id: requires the \"metadata\" permission" },
    { USERS_CONF_USERS_V1, "metadata", "id=7", OK, "20 0 1 created_at" },
    { USERS_CONF_USERS_V1, NULL, "created_at_from=2024-02-30", DECLINED,
      "400 created_at_from: must be an RFC 3339 date-time" },

    { USERS_CONF_WORKSPACE, NULL, "sortBy=createdAt&sortOrder=sideways",
      DECLINED, "400 sortOrder: must be \"asc\" or \"desc\"" },
    { USERS_CONF_WORKSPACE, NULL, "ids[]=a&ids=b&ids[]=c&page=2", OK,
      "30 30 2 name" },

    { USERS_CONF_PROJECT, NULL, "per_page=20", DECLINED,
      "422 per_page: must be one of 15, 25, 50, 100" },
    { USERS_CONF_PROJECT, NULL, "page=2&per_page=25", OK, "25 25 2 id" },

    { USERS_CONF_IDENTITY, NULL, "filter=&limit=600&offset=1000000000", OK,
      "600 1000000000 1666667 id" },
    { USERS_CONF_IDENTITY, NULL, "filter=id%20eq", DECLINED,
      "400 filter: expected a quoted value after \"eq\" at character 6" },

    /*
     * regressions
     *
     * (page - 1) * limit wrapped around past 2^64 with a page size over
     * 2047 (users_pagination max= allows 100000): the page past 2^53 - 1
     * rows must stay past them, and empty
     */

    { USERS_CONF_ALL_TYPES, NULL, "p=9007199254740991&n=100000", OK,
      "100000 past 9007199254740991 a,-b" },
    { USERS_CONF_ALL_TYPES, NULL, "p=184467440737097&n=100000", OK,
      "100000 past 9007199254740991 a,-b" },      /* wrapped to 48384 */

    /* the value echoed in a reason is escaped, as the OData parser does */

    { USERS_CONF_ACCOUNTS, NULL, "status=%01%FF%22", DECLINED,
      "400 status: unknown value \"\\x01\\xFF\\\"\"" },
    { USERS_CONF_ACCOUNTS, NULL, "ordering=%0A", DECLINED,
      "400 ordering: unknown sort field \"\\x0A\"" },

    /* kind=int: integers only, any op (seed 000's group ids) */

    { USERS_CONF_ACCOUNTS, NULL, "groups=007,-0,-007", OK,
      "20 0 1 last_name" },
    { USERS_CONF_ACCOUNTS, NULL, "groups=1;2", DECLINED,
      "400 groups: invalid integer \"1;2\"" },
    { USERS_CONF_ACCOUNTS, NULL, "groups=3,%2B4", DECLINED,
      "400 groups: invalid integer \"+4\"" },
    { USERS_CONF_ACCOUNTS, NULL, "groups=-", DECLINED,
      "400 groups: invalid integer \"-\"" },
    { USERS_CONF_ACCOUNTS, NULL, "groups=00000000000000000000000000001", OK,
      "20 0 1 last_name" },
    { USERS_CONF_ACCOUNTS, NULL, "groups=10000000000000000000", DECLINED,
      "400 groups: invalid integer \"10000000000000000000\"" },
    { USERS_CONF_ALL_TYPES, NULL, "num=1e3", DECLINED,
      "422 num: invalid integer \"1e3\"" },

    /* has_perm() on the null string (no users_permissions): NULL + 0 */

    { USERS_CONF_ALL_TYPES, NULL, "until=2021-01-01", DECLINED,
      "403 until: requires the \"admin\" permission" },
};


static ngx_int_t
query_render(ngx_http_users_loc_conf_t *lcf, ngx_http_users_query_t *q,
    char *buf, size_t size)
{
    size_t                      n;
    ngx_uint_t                  i;
    ngx_http_users_sort_key_t  *key;

    if (lcf->paging.style == NGX_HTTP_USERS_PAGE_NUMBER
        && q->offset >= NGX_HTTP_USERS_MAX_PAGE
        && q->page - 1 > NGX_HTTP_USERS_MAX_PAGE / q->limit)
    {
        n = snprintf(buf, size, "%lu past %lu ", (unsigned long) q->limit,
                     (unsigned long) NGX_HTTP_USERS_MAX_PAGE);

    } else {
        n = snprintf(buf, size, "%lu %lu %lu ", (unsigned long) q->limit,
                     (unsigned long) q->offset, (unsigned long) q->page);
    }

    key = q->sort.elts;

    for (i = 0; i < q->sort.nelts && n < size; i++) {
        n += snprintf(buf + n, size - n, "%s%s%.*s", i ? "," : "",
                      key[i].desc ? "-" : "", (int) key[i].by->name.len,
                      key[i].by->name.data);
    }

    return NGX_OK;
}


int
main(void)
{
    char                        got[512];
    ngx_int_t                   rc;
    ngx_str_t                   args, perms;
    ngx_uint_t                  i, passed, failed;
    ngx_pool_t                 *pool;
    query_case_t               *c;
    ngx_http_users_query_t      q;
    ngx_http_users_query_err_t  err;
    ngx_http_users_loc_conf_t  *lcf;

    passed = 0;
    failed = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = &cases[i];
        lcf = users_conf(c->conf);
        pool = ngx_create_pool(1024, NULL);

        args.data = (u_char *) c->args;
        args.len = strlen(c->args);

        if (c->perms) {
            perms.data = (u_char *) c->perms;
            perms.len = strlen(c->perms);

        } else {
            ngx_str_null(&perms);
        }

        ngx_memzero(&err, sizeof(ngx_http_users_query_err_t));

        rc = ngx_http_users_query_parse(pool, lcf, &args, &perms, &q, &err);

        if (rc == NGX_OK) {
            query_render(lcf, &q, got, sizeof(got));

        } else {
            snprintf(got, sizeof(got), "%lu %.*s: %.*s",
                     (unsigned long) err.status, (int) err.param.len,
                     err.param.data, (int) err.reason.len, err.reason.data);
        }

        if (rc == c->rc && strcmp(got, c->expect) == 0) {
            passed++;

        } else {
            failed++;
            printf("FAIL %s \"%s\"\n  expected %ld %s\n  got      %ld %s\n",
                   users_conf_name(c->conf), c->args, (long) c->rc,
                   c->expect, (long) rc, got);
        }

        ngx_destroy_pool(pool);
    }

    printf("%lu passed, %lu failed\n", (unsigned long) passed,
           (unsigned long) failed);

    return failed ? 1 : 0;
}
