
/*
 * Unit test of ngx_http_users_odata_parse(): each case is a filter and
 * either the program (tokens joined by spaces) or the exact error.
 */


#include "ngx_stubs.h"
#include "odata_check.h"


#define OK        NGX_OK
#define DECLINED  NGX_DECLINED


typedef struct {
    ngx_int_t    rc;
    const char  *filter;
    const char  *expect;
    size_t       len;           /* 0: strlen(filter) */
} odata_case_t;


static odata_case_t  cases[] = {

    /* every example of the API documentation */

    { OK, "id eq '7600415a-8876-5722-9f3c-b0fd11112283'",
      "cmp eq id str 7600415a-8876-5722-9f3c-b0fd11112283", 0 },
    { OK, "username eq 'user@example.com'",
      "cmp eq username str user@example.com", 0 },
    { OK, "userStatus ne 'UNVERIFIED'",
      "cmp ne user_status str UNVERIFIED", 0 },
    { OK, "createdAt gt '2020-09-21T14:19:09.769747'",
      "cmp gt created_at time 2020-09-21T14:19:09.769747", 0 },
    { OK, "updatedAt gt '2020-09-21T14:19:09.769747'",
      "cmp gt updated_at time 2020-09-21T14:19:09.769747", 0 },
    { OK, "lastLogin lt '2020-09-21T14:19:09.769747'",
      "cmp lt last_login time 2020-09-21T14:19:09.769747", 0 },

    /* operators */

    { OK, "id ge 'a'", "cmp ge id str a", 0 },
    { OK, "id le 'a'", "cmp le id str a", 0 },
    { OK, "id eq ''", "cmp eq id str ", 0 },

    /* precedence and associativity */

    { OK, "id eq 'a' and id eq 'b' or id eq 'c'",
      "or 2 and 2 cmp eq id str a cmp eq id str b cmp eq id str c", 0 },
    { OK, "id eq 'a' or id eq 'b' and id eq 'c'",
      "or 2 cmp eq id str a and 2 cmp eq id str b cmp eq id str c", 0 },
    { OK, "id eq 'a' and id eq 'b' and id eq 'c'",
      "and 3 cmp eq id str a cmp eq id str b cmp eq id str c", 0 },
    { OK, "id eq 'a' or id eq 'b' or id eq 'c' or id eq 'd'",
      "or 4 cmp eq id str a cmp eq id str b cmp eq id str c"
      " cmp eq id str d", 0 },
    { OK, "(id eq 'a' and id eq 'b') and id eq 'c'",
      "and 3 cmp eq id str a cmp eq id str b cmp eq id str c", 0 },
    { OK, "id eq 'a' and (id eq 'b' or id eq 'c')",
      "and 2 cmp eq id str a or 2 cmp eq id str b cmp eq id str c", 0 },
    { OK, "not id eq 'a' and id eq 'b'",
      "and 2 not cmp eq id str a cmp eq id str b", 0 },
    { OK, "not (id eq 'a' or id eq 'b')",
      "not or 2 cmp eq id str a cmp eq id str b", 0 },
    { OK, "not not id eq 'a'", "not not cmp eq id str a", 0 },
    { OK, "((((id eq 'a'))))", "cmp eq id str a", 0 },
    { OK, "(id eq 'a' or (username eq 'b' and (not (userStatus eq 'c'))))",
      "or 2 cmp eq id str a and 2 cmp eq username str b"
      " not cmp eq user_status str c", 0 },

    /* whitespace */

    { OK, "  id   eq\t'a'  ", "cmp eq id str a", 0 },
    { OK, "(id eq'a')and(id eq'b')",
      "and 2 cmp eq id str a cmp eq id str b", 0 },
    { OK, "not(id eq 'a')", "not cmp eq id str a", 0 },
    { OK, "id eq 'a'or id eq 'b'",
      "or 2 cmp eq id str a cmp eq id str b", 0 },

    /* string literals */

    { OK, "username eq 'O''Brien'", "cmp eq username str O'Brien", 0 },
    { OK, "username eq ''''", "cmp eq username str '", 0 },
    { OK, "username eq 'a b  c'", "cmp eq username str a b  c", 0 },
    { OK, "username eq 'and or not ( )'",
      "cmp eq username str and or not ( )", 0 },
    { OK, "username eq 'caf\xc3\xa9'", "cmp eq username str caf\xc3\xa9", 0 },

    /* date-times */

    { OK, "createdAt ge '2020-09-21'",
      "cmp ge created_at time 2020-09-21", 0 },
    { OK, "createdAt ge '2020-09-21T14:19:09'",
      "cmp ge created_at time 2020-09-21T14:19:09", 0 },
    { OK, "createdAt ge '2020-09-21T14:19:09Z'",
      "cmp ge created_at time 2020-09-21T14:19:09Z", 0 },
    { OK, "createdAt ge '2020-09-21T14:19:09.1+05:30'",
      "cmp ge created_at time 2020-09-21T14:19:09.1+05:30", 0 },
    { OK, "createdAt ge '2020-09-21T14:19:09.123456789-08:00'",
      "cmp ge created_at time 2020-09-21T14:19:09.123456789-08:00", 0 },
    { OK, "createdAt ge '2020-02-29'", "cmp ge created_at time 2020-02-29",
      0 },
    { OK, "createdAt ge '2000-02-29'", "cmp ge created_at time 2000-02-29",
      0 },
    { OK, "createdAt ge '2016-12-31T23:59:60Z'",
      "cmp ge created_at time 2016-12-31T23:59:60Z", 0 },
    { OK, "lastLogin lt '2020-09-21' and updatedAt ge '2020-01-01T00:00:00Z'",
      "and 2 cmp lt last_login time 2020-09-21"
      " cmp ge updated_at time 2020-01-01T00:00:00Z", 0 },

    /* bounds */

    { DECLINED, "", "empty filter", 0 },
    { DECLINED, "   ", "empty filter", 0 },

    /* syntax errors */

    { DECLINED, "foo eq 'x'", "unknown field \"foo\" at character 1", 0 },
    { DECLINED, "id eq 'x' and Id eq 'y'",
      "unknown field \"Id\" at character 15 "
      "(field names are case-sensitive: \"id\")", 0 },
    { DECLINED, "id eq 'x",
      "unterminated string starting at character 7", 0 },
    { DECLINED, "id eq 'x''",
      "unterminated string starting at character 7", 0 },
    { OK, "id eq 'x'''", "cmp eq id str x'", 0 },
    { DECLINED, "id eq",
      "expected a quoted value after \"eq\" at character 6", 0 },
    { DECLINED, "userStatus eq",
      "expected a quoted value after \"eq\" at character 14", 0 },
    { DECLINED, "id eq 5",
      "expected a quoted value after \"eq\", found \"5\" at character 7", 0 },
    { DECLINED, "id eq \"x\"",
      "strings are in single quotes: found \"\\\"x\\\"\" at character 7", 0 },
    { DECLINED, "id EQ 'x'",
      "operators are lowercase: found \"EQ\" at character 4", 0 },
    { DECLINED, "id eq 'x' AND id eq 'y'",
      "operators are lowercase: found \"AND\" at character 11", 0 },
    { DECLINED, "NOT id eq 'y'",
      "operators are lowercase: found \"NOT\" at character 1", 0 },
    { DECLINED, "id",
      "expected a comparison operator (eq, ne, gt, ge, lt, le) after \"id\""
      " at character 3", 0 },
    { DECLINED, "id = 'x'",
      "expected a comparison operator (eq, ne, gt, ge, lt, le) after \"id\","
      " found \"=\" at character 4", 0 },
    { DECLINED, "ideq 'x'", "unknown field \"ideq\" at character 1", 0 },
    { DECLINED, "id eq 'x' id eq 'y'",
      "expected \"and\", \"or\" or the end after \"'x'\", found \"id\""
      " at character 11", 0 },
    { DECLINED, "id eq 'x'and", "expected a condition after \"and\""
      " at character 13", 0 },
    { DECLINED, "id eq 'x' or", "expected a condition after \"or\""
      " at character 13", 0 },
    { DECLINED, "and id eq 'x'",
      "expected a condition, found \"and\" at character 1", 0 },
    { DECLINED, "not", "expected a condition after \"not\" at character 4",
      0 },
    { DECLINED, "'x' eq id",
      "a comparison starts with a field name, as in field eq 'value':"
      " found \"'x'\" at character 1", 0 },
    { DECLINED, "()",
      "expected a condition after \"(\", found \")\" at character 2", 0 },
    { DECLINED, "(id eq 'x'", "unclosed parenthesis at character 1", 0 },
    { DECLINED, "((id eq 'x')", "unclosed parenthesis at character 1", 0 },
    { DECLINED, "id eq 'x')", "unbalanced parenthesis at character 10", 0 },
    { DECLINED, ")", "expected a condition, found \")\" at character 1", 0 },
    { DECLINED, "(id eq 'x' id",
      "expected \"and\", \"or\" or \")\" after \"'x'\", found \"id\""
      " at character 12", 0 },
    { DECLINED, "id eq 'x' and ()",
      "expected a condition after \"(\", found \")\" at character 16", 0 },

    /* what a message shows of the input */

    { DECLINED, "abcdefghijklmnopqrstuvwxyz eq 'x'",
      "unknown field \"abcdefghijklmnopqrst...\" at character 1", 0 },
    { DECLINED, "id\x01 eq 'x'", "unknown field \"id\\x01\" at character 1",
      0 },
    { DECLINED, "a\\b\xff eq 'x'",
      "unknown field \"a\\\\b\\xFF\" at character 1", 0 },
    { DECLINED, "id eq 'x' and \"\n\"",
      "unknown field \"\\\"\\x0A\\\"\" at character 15", 0 },
    { DECLINED, "id\0eq 'x'", "unknown field \"id\\x00eq\" at character 1",
      9 },

    /* invalid date-times */

    { DECLINED, "createdAt gt 'yesterday'",
      "invalid date-time \"yesterday\" at character 14"
      " (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])", 0 },
    { DECLINED, "createdAt gt '2021-02-29'",
      "invalid date-time \"2021-02-29\" at character 14"
      " (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])", 0 },
    { DECLINED, "createdAt gt '1900-02-29'",
      "invalid date-time \"1900-02-29\" at character 14"
      " (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])", 0 },
    { DECLINED, "createdAt gt '2020-09-21T14:19:09.769747+01:00:00'",
      "invalid date-time \"2020-09-21T14:19:09....\" at character 14"
      " (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])", 0 },

    { 0, NULL, NULL, 0 }
};


/* date-times on their own: 1 valid, 0 not */

static struct {
    ngx_int_t    valid;
    const char  *text;
} datetimes[] = {
    { 1, "2020-09-21" },
    { 1, "0000-01-01" },
    { 1, "9999-12-31T23:59:59.999999999Z" },
    { 1, "2020-09-21T14:19:09.769747" },
    { 1, "2020-09-21T14:19:09+23:59" },
    { 1, "2024-02-29T00:00:00-00:00" },
    { 1, "2020-04-30" },
    { 0, "" },
    { 0, "2020-9-21" },
    { 0, "2020-09-21T" },
    { 0, "2020-09-21 14:19:09" },
    { 1, "2020-09-21t14:19:09" },
    { 1, "2020-09-21T14:19:09z" }    /* RFC 3339 5.6 */,
    { 0, "2020-09-21T14:19" },
    { 0, "2020-00-10" },
    { 0, "2020-13-10" },
    { 0, "2020-04-31" },
    { 0, "2020-01-00" },
    { 0, "2020-01-32" },
    { 0, "2023-02-29" },
    { 0, "2100-02-29" },
    { 0, "2020-09-21T24:00:00" },
    { 0, "2020-09-21T23:60:00" },
    { 0, "2020-09-21T23:59:61" },
    { 0, "2020-09-21T14:19:09." },
    { 0, "2020-09-21T14:19:09.1234567890" },
    { 0, "2020-09-21T14:19:09.5ZZ" },
    { 0, "2020-09-21T14:19:09+24:00" },
    { 0, "2020-09-21T14:19:09+05:60" },
    { 0, "2020-09-21T14:19:09+0530" },
    { 0, "2020-09-21T14:19:09+05" },
    { 0, "2020-09-21T14:19:09 " },
    { 0, "+020-09-21" },
    { 0, "2020-09-21x" },
    { 0, "2020-09-21T14:19:0a" },
    { 0, NULL }
};


static ngx_uint_t  passed, failed;


static void odata_test_case(odata_case_t *c);
static void odata_test_generated(void);
static void odata_test_datetimes(void);
static void odata_test_alloc_failures(void);
static void odata_test_expect(const char *name, ngx_int_t rc,
    ngx_int_t want_rc, const char *got, const char *want);


int
main(void)
{
    odata_case_t  *c;

    for (c = cases; c->filter; c++) {
        odata_test_case(c);
    }

    odata_test_generated();
    odata_test_datetimes();
    odata_test_alloc_failures();

    printf("%lu passed, %lu failed\n", (unsigned long) passed,
           (unsigned long) failed);

    return failed ? 1 : 0;
}


static ngx_int_t
odata_test_run(const char *filter, size_t len, char **got)
{
    const char   *why;
    ngx_int_t     rc;
    ngx_str_t     text, err;
    ngx_uint_t    fail_at;
    ngx_pool_t   *pool;
    ngx_array_t   out;

    /* allocations fail, when asked to, only inside the parser */
    fail_at = ngx_stub_fail_at;
    ngx_stub_fail_at = 0;

    pool = ngx_create_pool(1024, NULL);

    if (ngx_array_init(&out, pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        abort();
    }

    /* a copy of exactly len bytes, so that ASan sees overreads */
    text.len = len;
    text.data = malloc(len ? len : 1);
    memcpy(text.data, filter, len);

    ngx_stub_fail_at = fail_at;
    rc = ngx_http_users_odata_parse(pool, &text, odata_check_fields,
                                    odata_check_nfields, &out, &err);
    ngx_stub_fail_at = 0;

    if (rc == NGX_OK) {
        why = odata_check_program(&out);

        if (why == NULL) {
            why = odata_check_roundtrip(pool, &out);
        }

        if (why) {
            printf("checker: %s\n", why);
            rc = NGX_ERROR;
        }

        *got = odata_check_join(&out);

    } else {
        why = (rc == NGX_DECLINED) ? odata_check_message(&err) : NULL;

        if (why) {
            printf("checker: %s\n", why);
            rc = NGX_ERROR;
        }

        *got = err.len ? strndup((char *) err.data, err.len)
                       : strdup("(no message)");
    }

    free(text.data);
    ngx_destroy_pool(pool);

    return rc;
}


static void
odata_test_case(odata_case_t *c)
{
    char       *got;
    size_t      len;
    ngx_int_t   rc;

    len = c->len ? c->len : strlen(c->filter);

    rc = odata_test_run(c->filter, len, &got);
    odata_test_expect(c->filter, rc, c->rc, got, c->expect);
    free(got);
}


/* filters built here: bounds of length, nesting and comparisons */

static void
odata_test_generated(void)
{
    char        *got, *want, *p;
    size_t       n;
    ngx_int_t    rc;
    ngx_uint_t   i;

    p = malloc(4096);
    want = malloc(4096);

    /* 1024 bytes parse, 1025 do not */

    n = sprintf(p, "username eq '");
    memset(p + n, 'x', 1024 - n - 1);
    p[1023] = '\'';
    rc = odata_test_run(p, 1024, &got);
    odata_test_expect("1024 bytes", rc, NGX_OK, got, NULL);
    free(got);

    rc = odata_test_run(p, 1025, &got);
    odata_test_expect("1025 bytes", rc, NGX_DECLINED, got,
                      "filter longer than 1024 bytes");
    free(got);

    /* 32 levels of nesting parse, 33 do not */

    for (i = 0; i < 2; i++) {
        n = 32 + i;
        memset(p, '(', n);
        strcpy(p + n, "id eq 'x'");
        memset(p + n + 9, ')', n);
        p[2 * n + 9] = '\0';

        if (i == 0) {
            strcpy(want, "cmp eq id str x");

        } else {
            strcpy(want, "nesting deeper than 32 levels at character 33");
        }

        rc = odata_test_run(p, strlen(p), &got);
        odata_test_expect("32 or 33 parentheses", rc,
                          i ? NGX_DECLINED : NGX_OK, got, want);
        free(got);
    }

    p[0] = '\0';

    for (i = 0; i < 33; i++) {
        strcat(p, i % 2 ? "(" : "not ");
    }

    strcat(p, "id eq 'x'");

    for (i = 0; i < 16; i++) {
        strcat(p, ")");
    }

    rc = odata_test_run(p, strlen(p), &got);
    odata_test_expect("33 levels of not and parentheses", rc, NGX_DECLINED,
                      got, "nesting deeper than 32 levels at character 81");
    free(got);

    /* 64 comparisons parse, 65 do not */

    for (i = 0; i < 2; i++) {
        p[0] = '\0';
        strcpy(want, "or 64");

        for (n = 0; n < 64 + i; n++) {
            strcat(p, n ? " or id eq 'x'" : "id eq 'x'");
            strcat(want, " cmp eq id str x");
        }

        if (i) {
            strcpy(want, "more than 64 comparisons at character 833");
        }

        rc = odata_test_run(p, strlen(p), &got);
        odata_test_expect("64 or 65 comparisons", rc,
                          i ? NGX_DECLINED : NGX_OK, got, want);
        free(got);
    }

    free(p);
    free(want);
}


static void
odata_test_datetimes(void)
{
    ngx_int_t   rc;
    ngx_uint_t  i;
    u_char     *p;
    size_t      len;

    for (i = 0; datetimes[i].text; i++) {
        len = strlen(datetimes[i].text);
        p = malloc(len ? len : 1);
        memcpy(p, datetimes[i].text, len);

        rc = ngx_http_users_datetime_valid(p, len);

        odata_test_expect(datetimes[i].text, rc, datetimes[i].valid,
                          NULL, NULL);
        free(p);
    }
}


/* every allocation in turn fails: NGX_ERROR, never a crash or a leak */

static void
odata_test_alloc_failures(void)
{
    char        *got;
    ngx_int_t    rc;
    ngx_uint_t   i, n, errors;

    static const char  *filters[] = {
        "not (id eq 'a' or username eq 'b''c') and createdAt gt '2020-01-01'",
        "id eq 'a' and (id eq 'b'",
        NULL
    };

    for (i = 0; filters[i]; i++) {
        errors = 0;

        for (n = 1; ; n++) {
            ngx_stub_fail_at = n;
            ngx_stub_allocs = 0;

            rc = odata_test_run(filters[i], strlen(filters[i]), &got);
            free(got);

            if (rc != NGX_ERROR) {
                break;
            }

            errors++;
        }

        odata_test_expect(filters[i], errors > 0 ? NGX_OK : NGX_ERROR,
                          NGX_OK, NULL, NULL);
    }
}


static void
odata_test_expect(const char *name, ngx_int_t rc, ngx_int_t want_rc,
    const char *got, const char *want)
{
    if (rc == want_rc && (want == NULL || strcmp(got, want) == 0)) {
        passed++;
        return;
    }

    failed++;

    printf("FAIL: %s\n  rc %ld, want %ld\n", name, (long) rc, (long) want_rc);

    if (want) {
        printf("  got:  %s\n  want: %s\n", got ? got : "(null)", want);
    }
}
