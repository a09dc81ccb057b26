
/*
 * libFuzzer harness: the store's Redis reply parsers on replies that
 * hiredis's own reader (redisReaderCreate/Feed/GetReply, as the module's
 * connections use it) builds from arbitrary RESP bytes.
 *
 * Multi-bulk counts over 65536 are skipped: hiredis 0.14's reader callocs
 * the element array as soon as it reads "*<count>", before any element
 * (a Redis that sends "*1000000000" costs the worker 8 GB), which is
 * hiredis's, not these parsers', and only runs the fuzzer out of memory.
 *
 * Input: byte 0: nsources (low 4 bits), and with its top bit set byte 1
 * makes that allocation fail; the rest is fed to the reader. The first
 * reply goes to page_reply() and, with the ids it found, the second to
 * rows_reply(), as the indexed plan does; every reply also goes to
 * scan_reply() and user_reply(). The sources are "id", "f1", "f2", ...;
 * the log lines of flaws (keys that are not hashes, values too large) are
 * formatted by the stubs.
 *
 * Each returns NGX_OK or NGX_DECLINED (user_reply() also NGX_ABORT: no
 * such user); NGX_ERROR only when an allocation was made to fail; what
 * NGX_OK returns is read back whole (ASan checks every byte is there) and
 * must agree with the reply.
 */


#include "ngx_stubs.h"
#include "ngx_http_users_store.h"

#include <hiredis/hiredis.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reply_parse(redisReply *reply, ngx_uint_t nsources,
    ngx_uint_t fail_at, ngx_http_users_result_t *page, ngx_uint_t *npage);
static void reply_reader(ngx_http_users_read_t *rd, ngx_pool_t *pool,
    ngx_uint_t nsources);
static const char *reply_check_rc(ngx_int_t rc, ngx_uint_t fail_at,
    ngx_uint_t abort_ok);
static const char *reply_check_rows(ngx_array_t *rows, ngx_uint_t nsources,
    redisReply **elements, size_t n);
static void reply_touch(ngx_str_t *s);
static int reply_huge(const uint8_t *p, size_t len);


static const char  *reply_where;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void                     *reply;
    ngx_uint_t                nsources, fail_at, n, npage;
    redisReader              *reader;
    ngx_http_users_result_t   page;

    if (size < 2 || reply_huge(data + 2, size - 2)) {
        return 0;
    }

    nsources = data[0] & 0x0f;
    fail_at = (data[0] & 0x80) ? data[1] : 0;

    reader = redisReaderCreate();
    if (reader == NULL) {
        abort();
    }

    if (redisReaderFeed(reader, (const char *) data + 2, size - 2)
        != REDIS_OK)
    {
        abort();
    }

    ngx_memzero(&page, sizeof(ngx_http_users_result_t));
    npage = 0;

    for (n = 0; n < 8; n++) {
        reply = NULL;

        if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == NULL)
        {
            break;
        }

        reply_parse(reply, nsources, fail_at, &page, &npage);

        freeReplyObject(reply);
    }

    redisReaderFree(reader);

    return 0;
}


static void
reply_parse(redisReply *reply, ngx_uint_t nsources, ngx_uint_t fail_at,
    ngx_http_users_result_t *page, ngx_uint_t *npage)
{
    const char               *why;
    ngx_int_t                 rc;
    ngx_str_t                 id;
    ngx_uint_t                i;
    ngx_pool_t               *pool;
    ngx_http_users_row_t      row;
    ngx_http_users_read_t     rd;
    ngx_http_users_result_t   res;

    static ngx_pool_t        *page_pool;

    pool = ngx_create_pool(1024, NULL);
    reply_reader(&rd, pool, nsources);

    /* scan: [total, examined, row...] */

    reply_where = "scan_reply";
    ngx_memzero(&res, sizeof(ngx_http_users_result_t));
    ngx_stub_allocs = 0;
    ngx_stub_fail_at = fail_at;

    rc = ngx_http_users_store_scan_reply(&rd, reply, &res);

    ngx_stub_fail_at = 0;
    why = reply_check_rc(rc, fail_at, 0);

    if (why == NULL && rc == NGX_OK) {
        if (reply->type != REDIS_REPLY_ARRAY
            || reply->element[0]->integer != (long long) res.total
            || res.rows.nelts != reply->elements - 2)
        {
            why = "total or rows do not match the reply";

        } else {
            why = reply_check_rows(&res.rows, nsources, NULL, 0);
        }
    }

    if (why) {
        goto failed;
    }

    /* user: users_rows of one id */

    reply_where = "user_reply";
    ngx_str_set(&id, "7");
    ngx_stub_allocs = 0;
    ngx_stub_fail_at = fail_at;

    rc = ngx_http_users_store_user_reply(&rd, reply, &id, &row);

    ngx_stub_fail_at = 0;
    why = reply_check_rc(rc, fail_at, 1);

    if (why == NULL && (rc == NGX_OK || rc == NGX_ABORT)) {
        for (i = 0; i < nsources; i++) {
            reply_touch(&row.values[i]);

            if (row.values[i].data != NULL && rc == NGX_ABORT) {
                why = "NGX_ABORT (no such user) with a value";
            }
        }
    }

    if (why) {
        goto failed;
    }

    /* the indexed plan: the page, then the rows of its ids */

    if ((*npage)++ == 0) {
        reply_where = "page_reply";

        if (page_pool == NULL) {
            page_pool = ngx_create_pool(1024, NULL);
        }

        ngx_stub_allocs = 0;
        ngx_stub_fail_at = fail_at;

        rc = ngx_http_users_store_page_reply(page_pool, reply, page);

        ngx_stub_fail_at = 0;
        why = reply_check_rc(rc, fail_at, 0);

        if (why == NULL && rc == NGX_OK) {
            if (page->ids.nelts != reply->element[1]->elements
                || (long long) page->total != reply->element[0]->integer)
            {
                why = "ids or total do not match the reply";
            }

            for (i = 0; i < page->ids.nelts; i++) {
                reply_touch(&((ngx_str_t *) page->ids.elts)[i]);
            }

            reply_touch(&page->version);
        }

        if (rc != NGX_OK) {
            /* no rows query follows a failed page */
            *npage = 8;
        }

    } else if (*npage == 2) {
        reply_where = "rows_reply";
        ngx_stub_allocs = 0;
        ngx_stub_fail_at = fail_at;

        rc = ngx_http_users_store_rows_reply(&rd, reply, page);

        ngx_stub_fail_at = 0;
        why = reply_check_rc(rc, fail_at, 0);

        if (why == NULL && rc == NGX_OK) {
            why = (page->rows.nelts > page->ids.nelts)
                  ? "more rows than ids"
                  : reply_check_rows(&page->rows, nsources, reply->element,
                                     reply->elements);
        }
    }

    if (why) {
        goto failed;
    }

    ngx_destroy_pool(pool);

    if (*npage >= 2 && page_pool) {
        ngx_destroy_pool(page_pool);
        page_pool = NULL;
    }

    return;

failed:

    fprintf(stderr, "reply_fuzz: %s, nsources %lu, rc %ld: %s\n",
            reply_where, (unsigned long) nsources, (long) rc, why);
    abort();
}


/* the sources "id", "f1", "f2", ... */

static void
reply_reader(ngx_http_users_read_t *rd, ngx_pool_t *pool, ngx_uint_t nsources)
{
    u_char      *p;
    ngx_str_t   *src;
    ngx_uint_t   i;

    static ngx_log_t  log;
    static ngx_str_t  ws = ngx_string("fuzz");

    log.log_level = NGX_LOG_DEBUG;

    rd->pool = pool;
    rd->log = &log;
    rd->ws = &ws;
    rd->sources = ngx_array_create(pool, ngx_max(nsources, 1),
                                   sizeof(ngx_str_t));
    if (rd->sources == NULL) {
        abort();
    }

    for (i = 0; i < nsources; i++) {
        src = ngx_array_push(rd->sources);
        p = ngx_pnalloc(pool, 8);
        if (src == NULL || p == NULL) {
            abort();
        }

        src->data = p;
        src->len = i ? (size_t) (ngx_sprintf(p, "f%ui", i) - p) : 2;

        if (i == 0) {
            ngx_memcpy(p, "id", 2);
        }
    }
}


static const char *
reply_check_rc(ngx_int_t rc, ngx_uint_t fail_at, ngx_uint_t abort_ok)
{
    if (rc == NGX_OK || rc == NGX_DECLINED || (rc == NGX_ABORT && abort_ok)) {
        return NULL;
    }

    if (rc == NGX_ERROR && fail_at && ngx_stub_allocs >= fail_at) {
        return NULL;
    }

    return "unexpected return code";
}


/*
 * Every value of every row is there; with the reply's elements (users_rows),
 * the rows kept are those that are not all nil (a deleted user).
 */

static const char *
reply_check_rows(ngx_array_t *rows, ngx_uint_t nsources,
    redisReply **elements, size_t n)
{
    size_t                 e, k;
    ngx_uint_t             i, j, kept;
    ngx_http_users_row_t  *row;

    row = rows->elts;

    for (i = 0; i < rows->nelts; i++) {
        for (j = 0; j < nsources; j++) {
            reply_touch(&row[i].values[j]);
        }
    }

    if (elements == NULL) {
        return NULL;
    }

    for (e = 0, kept = 0; e < n; e++) {
        if (elements[e]->type == REDIS_REPLY_STRING) {
            kept++;
            continue;
        }

        for (k = 0; k < elements[e]->elements; k++) {
            if (elements[e]->element[k]->type != REDIS_REPLY_NIL) {
                kept++;
                break;
            }
        }
    }

    return kept == rows->nelts ? NULL : "rows kept do not match the reply";
}


/* reads every byte: ASan reports any that is not there */

static void
reply_touch(ngx_str_t *s)
{
    size_t           i;
    volatile u_char  sum;

    if (s->data == NULL) {
        return;
    }

    for (i = 0, sum = 0; i < s->len; i++) {
        sum += s->data[i];
    }

    (void) sum;
}


/* a "*<count>" of more than 65536 elements anywhere */

static int
reply_huge(const uint8_t *p, size_t len)
{
    size_t  i, j, count;

    for (i = 0; i < len; i++) {
        if (p[i] != '*') {
            continue;
        }

        for (j = i + 1, count = 0;
             j < len && p[j] >= '0' && p[j] <= '9' && count <= 65536;
             j++)
        {
            count = count * 10 + (p[j] - '0');
        }

        if (count > 65536) {
            return 1;
        }
    }

    return 0;
}
