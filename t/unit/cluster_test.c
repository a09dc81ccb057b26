
/*
 * Unit test of what Redis Cluster says, read without I/O
 * (src/ngx_http_users_cluster_parse.c): CRC16 and hash slots against the
 * specification's vector and slots Redis 7.0 computed (CLUSTER KEYSLOT),
 * redirections, and CLUSTER SHARDS / CLUSTER SLOTS replies, built here
 * as hiredis would.
 */


#include "ngx_stubs.h"
#include "ngx_http_users_cluster_parse.h"


typedef struct {
    const char  *key;
    ngx_uint_t   slot;
} slot_case_t;


typedef struct {
    const char  *err;
    ngx_uint_t   kind;
    ngx_uint_t   slot;
    const char  *addr;
} redirect_case_t;


/* CLUSTER KEYSLOT of Redis 7.0.15 */
static slot_case_t  slot_cases[] = {
    { "123456789", 12739 },
    { "foo", 12182 },
    { "bar", 5061 },
    { "hello", 866 },
    { "{user1000}.following", 3443 },
    { "foo{}{bar}", 8363 },           /* empty tag: the whole key */
    { "foo{{bar}}zap", 4015 },        /* "{bar" */
    { "foo{bar}{zap}", 5061 },        /* "bar", as the key "bar" */
    { "{", 4092 },
    { "}", 12090 },
    { "{}", 15257 },
    { "a{b", 13340 },                 /* no closing brace */
    { "users:{t030}", 11188 },
    { "users:{t030}:meta", 11188 },   /* a workspace is one slot */
    { "users:token:abc", 13921 },
    { "", 0 },
    { NULL, 0 }
};


static redirect_case_t  redirect_cases[] = {
    { "MOVED 3999 127.0.0.1:6381", NGX_HTTP_USERS_REDIRECT_MOVED, 3999,
      "127.0.0.1:6381" },
    { "ASK 16383 ::1:7000", NGX_HTTP_USERS_REDIRECT_ASK, 16383,
      "::1:7000" },
    { "MOVED 0 10.0.0.1:1", NGX_HTTP_USERS_REDIRECT_MOVED, 0,
      "10.0.0.1:1" },
    { "TRYAGAIN Multiple keys request during rehashing of slot",
      NGX_HTTP_USERS_REDIRECT_TRYAGAIN, 0, NULL },
    { "CLUSTERDOWN The cluster is down",
      NGX_HTTP_USERS_REDIRECT_CLUSTERDOWN, 0, NULL },
    { "CLUSTERDOWN Hash slot not served",
      NGX_HTTP_USERS_REDIRECT_CLUSTERDOWN, 0, NULL },
    { "READONLY You can't write against a read only replica.",
      NGX_HTTP_USERS_REDIRECT_READONLY, 0, NULL },
    { "MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
      "is set to 'no'.", NGX_HTTP_USERS_REDIRECT_MASTERDOWN, 0, NULL },
    { "LOADING Redis is loading the dataset in memory",
      NGX_HTTP_USERS_REDIRECT_LOADING, 0, NULL },
    { "TRYAGAIN", NGX_HTTP_USERS_REDIRECT_TRYAGAIN, 0, NULL },

    /* not redirections */
    { "EXECABORT Transaction discarded because of previous errors.",
      NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "ERR users: scan limit 10 exceeded", NGX_HTTP_USERS_REDIRECT_NONE,
      0, NULL },
    { "MOVEDX 1 127.0.0.1:1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED 1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED 1 ", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED  127.0.0.1:1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED 16384 127.0.0.1:1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "MOVED -1 127.0.0.1:1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "ASK x 127.0.0.1:1", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { "", NGX_HTTP_USERS_REDIRECT_NONE, 0, NULL },
    { NULL, 0, 0, NULL }
};


static ngx_uint_t  failures;


#define check(cond, ...)                                                    \
    if (!(cond)) {                                                          \
        failures++;                                                         \
        fprintf(stderr, "FAIL line %d: ", __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                       \
        fprintf(stderr, "\n");                                              \
    }


/* replies as hiredis builds them; freed together by release() */

static void   *allocs[1024];
static size_t  nallocs;


static void *
alloc(size_t n, size_t size)
{
    void  *p;

    p = calloc(n, size);
    if (p == NULL || nallocs == sizeof(allocs) / sizeof(allocs[0])) {
        abort();
    }

    allocs[nallocs++] = p;

    return p;
}


static void
release(void)
{
    while (nallocs) {
        free(allocs[--nallocs]);
    }
}


static redisReply *
str(const char *s)
{
    redisReply  *r;

    r = alloc(1, sizeof(redisReply));
    r->type = REDIS_REPLY_STRING;
    r->str = (char *) s;
    r->len = strlen(s);

    return r;
}


static redisReply *
num(long long n)
{
    redisReply  *r;

    r = alloc(1, sizeof(redisReply));
    r->type = REDIS_REPLY_INTEGER;
    r->integer = n;

    return r;
}


static redisReply *
nil(void)
{
    redisReply  *r;

    r = alloc(1, sizeof(redisReply));
    r->type = REDIS_REPLY_NIL;

    return r;
}


static redisReply *
arr(size_t n, ...)
{
    size_t       i;
    va_list      args;
    redisReply  *r;

    r = alloc(1, sizeof(redisReply));
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = alloc(n ? n : 1, sizeof(redisReply *));

    va_start(args, n);

    for (i = 0; i < n; i++) {
        r->element[i] = va_arg(args, redisReply *);
    }

    va_end(args);

    return r;
}


static redisReply *
shard_node(const char *ip, long long port, const char *role,
    const char *health)
{
    return arr(14, str("id"), str("0123456789abcdef0123456789abcdef01234567"),
               str("port"), num(port), str("ip"), str(ip),
               str("endpoint"), str(ip), str("role"), str(role),
               str("replication-offset"), num(1234),
               str("health"), str(health));
}


static void
test_slots(void)
{
    slot_case_t  *c;
    ngx_uint_t    slot;

    check(ngx_http_users_cluster_crc16((u_char *) "123456789", 9) == 0x31C3,
          "CRC16(\"123456789\") is 0x%04x, not 0x31C3",
          ngx_http_users_cluster_crc16((u_char *) "123456789", 9));

    for (c = slot_cases; c->key; c++) {
        slot = ngx_http_users_cluster_slot((u_char *) c->key,
                                           strlen(c->key));
        check(slot == c->slot, "slot of \"%s\": %lu, not %lu", c->key,
              (unsigned long) slot, (unsigned long) c->slot);
    }
}


static void
test_redirects(void)
{
    ngx_str_t         addr;
    ngx_uint_t        kind, slot;
    redirect_case_t  *c;

    for (c = redirect_cases; c->err; c++) {
        slot = 99999;
        ngx_str_null(&addr);

        kind = ngx_http_users_cluster_redirect((u_char *) c->err,
                                               strlen(c->err), &slot, &addr);

        check(kind == c->kind, "\"%s\": kind %lu, not %lu", c->err,
              (unsigned long) kind, (unsigned long) c->kind);

        if (c->addr == NULL || kind != c->kind) {
            continue;
        }

        check(slot == c->slot, "\"%s\": slot %lu", c->err,
              (unsigned long) slot);
        check(addr.len == strlen(c->addr)
              && memcmp(addr.data, c->addr, addr.len) == 0,
              "\"%s\": address \"%.*s\"", c->err, (int) addr.len,
              addr.data);
    }
}


static const char *
member(ngx_array_t *shards, ngx_uint_t s, ngx_uint_t m, ngx_uint_t *primary,
    ngx_uint_t *online)
{
    static char                       buf[64];
    ngx_http_users_cluster_shard_t   *shard;
    ngx_http_users_cluster_member_t  *mb;

    shard = shards->elts;
    mb = shard[s].members.elts;

    if (m >= shard[s].members.nelts) {
        return "(none)";
    }

    snprintf(buf, sizeof(buf), "%.*s", (int) mb[m].addr.len,
             mb[m].addr.data);
    *primary = mb[m].primary;
    *online = mb[m].online;

    return buf;
}


static void
test_shards(void)
{
    ngx_int_t                        rc;
    ngx_uint_t                       p, o, *r;
    ngx_pool_t                      *pool;
    redisReply                      *reply;
    ngx_array_t                      shards;
    const char                      *a;
    ngx_http_users_cluster_shard_t  *shard;

    pool = ngx_create_pool(1024, NULL);

    /*
     * three shards: one with two ranges and its replica listed first, one
     * whose replica failed, and one that serves no slot
     */

    reply = arr(3,
        arr(4, str("slots"), arr(4, num(0), num(5460), num(10923),
                                 num(10999)),
               str("nodes"), arr(2,
                   shard_node("127.0.0.1", 7004, "replica", "online"),
                   shard_node("127.0.0.1", 7000, "master", "online"))),
        arr(4, str("slots"), arr(2, num(5461), num(10922)),
               str("nodes"), arr(2,
                   shard_node("127.0.0.1", 7001, "master", "online"),
                   shard_node("::1", 7005, "replica", "failed"))),
        arr(4, str("slots"), arr(0),
               str("nodes"), arr(1,
                   shard_node("127.0.0.1", 7002, "master", "failed"))));

    rc = ngx_http_users_cluster_parse_shards(pool, reply, &shards);

    check(rc == NGX_OK, "shards: rc %ld", (long) rc);
    check(shards.nelts == 2, "shards: %lu shards, not 2",
          (unsigned long) shards.nelts);

    if (rc == NGX_OK && shards.nelts == 2) {
        shard = shards.elts;
        r = shard[0].ranges.elts;

        check(shard[0].ranges.nelts == 4 && r[0] == 0 && r[1] == 5460
              && r[2] == 10923 && r[3] == 10999, "shards: ranges of 0");

        a = member(&shards, 0, 0, &p, &o);
        check(strcmp(a, "127.0.0.1:7000") == 0 && p && o,
              "shards: the primary first, not %s", a);

        a = member(&shards, 0, 1, &p, &o);
        check(strcmp(a, "127.0.0.1:7004") == 0 && !p && o,
              "shards: then the replica, not %s", a);

        a = member(&shards, 1, 1, &p, &o);
        check(strcmp(a, "::1:7005") == 0 && !p && !o,
              "shards: a failed replica, not %s", a);
    }

    /* malformed */

    reply = arr(1, arr(3, str("slots"), arr(0), str("nodes")));
    rc = ngx_http_users_cluster_parse_shards(pool, reply, &shards);
    check(rc == NGX_DECLINED, "shards: odd map: rc %ld", (long) rc);

    reply = arr(1, arr(2, str("slots"), arr(2, num(5), num(16384))));
    rc = ngx_http_users_cluster_parse_shards(pool, reply, &shards);
    check(rc == NGX_DECLINED, "shards: slot 16384: rc %ld", (long) rc);

    reply = arr(1, arr(2, str("slots"), arr(2, num(9), num(8))));
    rc = ngx_http_users_cluster_parse_shards(pool, reply, &shards);
    check(rc == NGX_DECLINED, "shards: first > last: rc %ld", (long) rc);

    rc = ngx_http_users_cluster_parse_shards(pool, str("x"), &shards);
    check(rc == NGX_DECLINED, "shards: not an array: rc %ld", (long) rc);

    ngx_destroy_pool(pool);
    release();
}


static void
test_slots_reply(void)
{
    ngx_int_t                        rc;
    ngx_uint_t                       p, o, *r;
    ngx_pool_t                      *pool;
    redisReply                      *reply;
    ngx_array_t                      shards;
    const char                      *a;
    ngx_http_users_cluster_shard_t  *shard;

    pool = ngx_create_pool(1024, NULL);

    reply = arr(2,
        arr(4, num(0), num(8191),
               arr(3, str("127.0.0.1"), num(7000), str("id0")),
               arr(3, str("127.0.0.1"), num(7003), str("id3"))),
        arr(4, num(8192), num(16383),
               arr(3, str("127.0.0.1"), num(7001), str("id1")),
               arr(3, nil(), num(7004), str("id4"))));

    rc = ngx_http_users_cluster_parse_slots(pool, reply, &shards);

    check(rc == NGX_OK && shards.nelts == 2, "slots: rc %ld, %lu shards",
          (long) rc, (unsigned long) shards.nelts);

    if (rc == NGX_OK && shards.nelts == 2) {
        shard = shards.elts;
        r = shard[1].ranges.elts;

        check(r[0] == 8192 && r[1] == 16383, "slots: range of 1");

        a = member(&shards, 0, 1, &p, &o);
        check(strcmp(a, "127.0.0.1:7003") == 0 && !p && o,
              "slots: the replica, not %s", a);

        /* an unknown endpoint is left out */
        check(shard[1].members.nelts == 1, "slots: %lu members of 1",
              (unsigned long) shard[1].members.nelts);
    }

    reply = arr(1, arr(3, num(0), num(1), arr(2, nil(), num(7000))));
    rc = ngx_http_users_cluster_parse_slots(pool, reply, &shards);
    check(rc == NGX_DECLINED, "slots: no primary endpoint: rc %ld",
          (long) rc);

    reply = arr(1, arr(2, num(0), num(1)));
    rc = ngx_http_users_cluster_parse_slots(pool, reply, &shards);
    check(rc == NGX_DECLINED, "slots: no node: rc %ld", (long) rc);

    ngx_destroy_pool(pool);
    release();
}


int
main(void)
{
    test_slots();
    test_redirects();
    test_shards();
    test_slots_reply();

    if (failures) {
        fprintf(stderr, "cluster_test: %lu failures\n",
                (unsigned long) failures);
        return 1;
    }

    printf("cluster_test: ok\n");

    return 0;
}
