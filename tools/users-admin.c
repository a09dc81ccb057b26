
/*
 * Copyright (C) ngx_http_users_module authors
 *
 * users-admin: the command-line writer of docs/SCHEMA.md. It loads the
 * Redis Functions library redis/users.lua, sets a workspace's index spec,
 * imports users from JSON Lines, deletes users, creates and revokes tokens.
 *
 * Exit status: 0 done, 1 data or Redis error, 2 usage error.
 */


#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <yajl/yajl_parse.h>
#include <openssl/evp.h>


#define UA_OK            0
#define UA_ERROR         1
#define UA_USAGE         2

#define UA_WINDOW        1000      /* replies read at a time when importing */
#define UA_MAX_DEPTH     32        /* nesting of objects in a user */
#define UA_WS_MAX        64
#define UA_TOKEN_BYTES   32
#define UA_TOKEN_PREFIX  "uk_"
#define UA_TIMEOUT       60        /* seconds, per Redis reply */
#define UA_FIXED_ARGS    5         /* FCALL fn 1 users:{ws} <id> */


typedef struct {
    const char          *host;
    int                  port;
    const char          *password;
    const char          *user;
    int                  db;
    const char          *argv0;
} ua_conf_t;


typedef struct {
    char                *data;
    size_t               len;
    size_t               cap;
} ua_buf_t;


/* one JSON line turned into FCALL arguments */
typedef struct {
    char               **argv;
    size_t              *argvlen;
    int                  argc;
    int                  nalloc;

    ua_buf_t             path;          /* "invite_id" */
    size_t               prefix[UA_MAX_DEPTH + 1];
    int                  depth;
    int                  in_array;
    ua_buf_t             array;         /* "1,2,3" */
    int                  array_n;
    int                  have_id;

    char                 err[256];
} ua_line_t;


/* an import in progress */
typedef struct {
    redisContext        *c;
    const char          *name;          /* file name for messages */
    char                 base[UA_WS_MAX + 16];
    const char          *fn;            /* users_validate or users_upsert */
    const char          *cmd;           /* FCALL */
    char                *sort;          /* the workspace's sort spec */
    long                 lines[2 * UA_WINDOW];   /* ring of sent lines */
    int                  head;
    int                  pending;
    long                 sent;
    long                 created;
    int                  failed;
} ua_import_t;


static int ua_usage(const char *fmt, ...);
static void ua_error(const char *fmt, ...);
static int ua_buf_add(ua_buf_t *b, const char *s, size_t len);
static char *ua_read_file(const char *name, size_t *len);
static int ua_check_ws(const char *ws, char *base, size_t size);
static redisContext *ua_connect(ua_conf_t *cf);
static redisReply *ua_command(redisContext *c, const char *fmt, ...);
static redisReply *ua_reply_check(redisContext *c, redisReply *r);

static int ua_line_arg(ua_line_t *l, const char *s, size_t len);
static int ua_line_value(void *ctx, const char *s, size_t len);
static int ua_json_null(void *ctx);
static int ua_json_boolean(void *ctx, int b);
static int ua_json_number(void *ctx, const char *s, size_t len);
static int ua_json_string(void *ctx, const unsigned char *s, size_t len);
static int ua_json_start_map(void *ctx);
static int ua_json_map_key(void *ctx, const unsigned char *s, size_t len);
static int ua_json_end_map(void *ctx);
static int ua_json_start_array(void *ctx);
static int ua_json_end_array(void *ctx);
static int ua_line_parse(ua_line_t *l, const char *cmd, const char *fn,
    const char *base, const char *s, size_t len);
static int ua_line_id(ua_line_t *l, const char *s, size_t len);
static void ua_line_reset(ua_line_t *l);
static void ua_line_free(ua_line_t *l);

static int ua_import_flush(ua_import_t *im, int n);
static int ua_line_check(ua_line_t *l, const char *sort);
static int ua_check_int(const char *s, size_t len);
static int ua_check_time(const char *s, size_t len);
static int ua_import_pass(ua_import_t *im, const char *data, size_t len,
    int send);
static double ua_now(void);

static int ua_cmd_load(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_schema(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_import(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_delete(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_token_create(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_token_revoke(ua_conf_t *cf, int argc, char **argv);
static void ua_base64url(const unsigned char *in, size_t n, char *out);
static int ua_sha256_hex(const char *s, size_t len, char *hex);


static const char  ua_usage_text[] =
"usage: users-admin [options] <command> [arguments]\n"
"\n"
"options (before the command):\n"
"  -h <host>        Redis host, or a unix socket path (default 127.0.0.1)\n"
"  -p <port>        Redis port (default 6379)\n"
"  -a <password>    AUTH with this password (also $REDISCLI_AUTH)\n"
"  --user <name>    ACL user for AUTH (with -a)\n"
"  -n <db>          database number (default 0)\n"
"  --help           this text\n"
"\n"
"commands:\n"
"  load-functions [file]\n"
"      FUNCTION LOAD REPLACE the library (default: redis/users.lua of the\n"
"      source tree the binary was built in, else ./redis/users.lua)\n"
"  schema <ws> [--sort f:str|int|time,...] [--enum f,...]\n"
"              [--member f:kind,...]\n"
"      set the workspace's index spec and rebuild its indexes\n"
"  import <ws> [file.jsonl|-]\n"
"      upsert one user per line (an object with an \"id\"); nested objects\n"
"      are flattened with \"_\", arrays of scalars joined with \",\",\n"
"      booleans stored as 1/0, nulls omitted. The whole input is checked\n"
"      first (JSON, ids, the int and time fields the sort spec indexes):\n"
"      a bad line is reported as file:LINE and nothing is written.\n"
"  delete <ws> <id>...\n"
"      delete users and all their index entries\n"
"  token-create <ws> <user-id> [--role R] [--perms a,b] [--ttl seconds]\n"
"      print a new token (\"uk_\" + 43 base64url characters) once and store\n"
"      users:token:<sha256 hex of the whole token>; role defaults to\n"
"      \"user\", perms to none, ttl to never\n"
"  token-revoke <token> | --digest <sha256 hex>\n"
"      delete a token record\n"
"\n"
"exit status: 0 done, 1 data or Redis error, 2 usage error\n";


static yajl_callbacks  ua_json_callbacks = {
    ua_json_null,
    ua_json_boolean,
    NULL,
    NULL,
    ua_json_number,
    ua_json_string,
    ua_json_start_map,
    ua_json_map_key,
    ua_json_end_map,
    ua_json_start_array,
    ua_json_end_array
};


int
main(int argc, char **argv)
{
    int         i;
    char       *end;
    ua_conf_t   cf;

    cf.host = "127.0.0.1";
    cf.port = 6379;
    cf.password = getenv("REDISCLI_AUTH");
    cf.user = NULL;
    cf.db = 0;
    cf.argv0 = argv[0];

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {

        if (strcmp(argv[i], "--help") == 0) {
            fputs(ua_usage_text, stdout);
            return UA_OK;
        }

        if (i + 1 == argc) {
            return ua_usage("option \"%s\" needs a value", argv[i]);
        }

        if (strcmp(argv[i], "-h") == 0) {
            cf.host = argv[++i];

        } else if (strcmp(argv[i], "-p") == 0) {
            cf.port = (int) strtol(argv[++i], &end, 10);
            if (*end || cf.port < 1 || cf.port > 65535) {
                return ua_usage("invalid port \"%s\"", argv[i]);
            }

        } else if (strcmp(argv[i], "-a") == 0) {
            cf.password = argv[++i];

        } else if (strcmp(argv[i], "--user") == 0) {
            cf.user = argv[++i];

        } else if (strcmp(argv[i], "-n") == 0) {
            cf.db = (int) strtol(argv[++i], &end, 10);
            if (*end || cf.db < 0) {
                return ua_usage("invalid database \"%s\"", argv[i]);
            }

        } else {
            return ua_usage("unknown option \"%s\"", argv[i]);
        }
    }

    if (i == argc) {
        return ua_usage("no command");
    }

    argc -= i + 1;
    argv += i + 1;

    if (strcmp(argv[-1], "load-functions") == 0) {
        return ua_cmd_load(&cf, argc, argv);
    }

    if (strcmp(argv[-1], "schema") == 0) {
        return ua_cmd_schema(&cf, argc, argv);
    }

    if (strcmp(argv[-1], "import") == 0) {
        return ua_cmd_import(&cf, argc, argv);
    }

    if (strcmp(argv[-1], "delete") == 0) {
        return ua_cmd_delete(&cf, argc, argv);
    }

    if (strcmp(argv[-1], "token-create") == 0) {
        return ua_cmd_token_create(&cf, argc, argv);
    }

    if (strcmp(argv[-1], "token-revoke") == 0) {
        return ua_cmd_token_revoke(&cf, argc, argv);
    }

    return ua_usage("unknown command \"%s\"", argv[-1]);
}


/* Commands ----------------------------------------------------------------- */


static int
ua_cmd_load(ua_conf_t *cf, int argc, char **argv)
{
    int            rc;
    char          *code, *p, path[PATH_MAX];
    size_t         len;
    ssize_t        n;
    struct stat    st;
    redisReply    *r;
    redisContext  *c;

    if (argc > 1) {
        return ua_usage("load-functions takes at most one file");
    }

    if (argc == 1) {
        snprintf(path, sizeof(path), "%s", argv[0]);

    } else {
        /* <repo>/build/users-admin -> <repo>/redis/users.lua */
        n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';

        p = strrchr(path, '/');
        if (p) {
            *p = '\0';
            p = strrchr(path, '/');
        }

        if (p && (size_t) (p - path) + sizeof("/redis/users.lua")
                 <= sizeof(path))
        {
            strcpy(p, "/redis/users.lua");
        }

        if (p == NULL || stat(path, &st) != 0) {
            strcpy(path, "redis/users.lua");
        }
    }

    code = ua_read_file(path, &len);
    if (code == NULL) {
        return UA_ERROR;
    }

    c = ua_connect(cf);
    if (c == NULL) {
        free(code);
        return UA_ERROR;
    }

    r = ua_command(c, "FUNCTION LOAD REPLACE %b", code, len);
    rc = UA_ERROR;

    if (r) {
        printf("users-admin: loaded library \"%s\" from %s\n",
               r->type == REDIS_REPLY_STRING ? r->str : "?", path);
        freeReplyObject(r);
        rc = UA_OK;
    }

    free(code);
    redisFree(c);

    return rc;
}


static int
ua_cmd_schema(ua_conf_t *cf, int argc, char **argv)
{
    int            i;
    char           base[UA_WS_MAX + 16];
    const char    *sort, *enums, *member, **opt;
    redisReply    *r;
    redisContext  *c;

    if (argc < 1) {
        return ua_usage("schema needs a workspace");
    }

    if (ua_check_ws(argv[0], base, sizeof(base)) != UA_OK) {
        return UA_USAGE;
    }

    sort = "";
    enums = "";
    member = "";

    for (i = 1; i < argc; i += 2) {

        if (strcmp(argv[i], "--sort") == 0) {
            opt = &sort;

        } else if (strcmp(argv[i], "--enum") == 0) {
            opt = &enums;

        } else if (strcmp(argv[i], "--member") == 0) {
            opt = &member;

        } else {
            return ua_usage("unknown schema option \"%s\"", argv[i]);
        }

        if (i + 1 == argc) {
            return ua_usage("option \"%s\" needs a value", argv[i]);
        }

        *opt = argv[i + 1];
    }

    c = ua_connect(cf);
    if (c == NULL) {
        return UA_ERROR;
    }

    r = ua_command(c, "FCALL users_schema 1 %s %s %s %s",
                   base, sort, enums, member);
    redisFree(c);

    if (r == NULL) {
        return UA_ERROR;
    }

    printf("users-admin: schema of \"%s\" set, %lld users reindexed\n",
           argv[0], r->integer);
    freeReplyObject(r);

    return UA_OK;
}


static int
ua_cmd_import(ua_conf_t *cf, int argc, char **argv)
{
    int            rc;
    char          *data;
    size_t         len;
    double         start;
    redisReply    *r;
    ua_import_t    im;

    if (argc < 1 || argc > 2) {
        return ua_usage("import needs a workspace and at most one file");
    }

    memset(&im, 0, sizeof(ua_import_t));

    if (ua_check_ws(argv[0], im.base, sizeof(im.base)) != UA_OK) {
        return UA_USAGE;
    }

    im.name = (argc == 2) ? argv[1] : "-";
    im.cmd = "FCALL";
    im.fn = "users_upsert";

    start = ua_now();

    data = ua_read_file(im.name, &len);
    if (data == NULL) {
        return UA_ERROR;
    }

    rc = UA_ERROR;

    im.c = ua_connect(cf);
    if (im.c == NULL) {
        goto done;
    }

    r = ua_command(im.c, "HGET %s:meta sort", im.base);
    if (r == NULL) {
        goto done;
    }

    im.sort = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);

    /*
     * pass 1 checks every line, including the int and time fields the sort
     * spec indexes, without sending anything; pass 2 writes
     */

    if (im.sort == NULL || ua_import_pass(&im, data, len, 0) != UA_OK) {
        goto done;
    }

    if (ua_import_pass(&im, data, len, 1) != UA_OK) {
        ua_error("%s: import stopped, %ld users written", im.name, im.sent);
        goto done;
    }

    printf("users-admin: imported %ld users into \"%s\" (%ld new)"
           " in %.3f s\n", im.sent, argv[0], im.created, ua_now() - start);
    rc = UA_OK;

done:

    if (im.c) {
        redisFree(im.c);
    }

    free(im.sort);
    free(data);

    return rc;
}


static int
ua_cmd_delete(ua_conf_t *cf, int argc, char **argv)
{
    int            i, rc;
    char           base[UA_WS_MAX + 16];
    redisReply    *r;
    redisContext  *c;

    if (argc < 2) {
        return ua_usage("delete needs a workspace and at least one id");
    }

    if (ua_check_ws(argv[0], base, sizeof(base)) != UA_OK) {
        return UA_USAGE;
    }

    c = ua_connect(cf);
    if (c == NULL) {
        return UA_ERROR;
    }

    rc = UA_OK;

    for (i = 1; i < argc; i++) {
        r = ua_command(c, "FCALL users_delete 1 %s %s", base, argv[i]);
        if (r == NULL) {
            rc = UA_ERROR;
            continue;
        }

        if (r->integer == 0) {
            ua_error("no user \"%s\" in \"%s\"", argv[i], argv[0]);
            rc = UA_ERROR;

        } else {
            printf("users-admin: deleted \"%s\" from \"%s\"\n",
                   argv[i], argv[0]);
        }

        freeReplyObject(r);
    }

    redisFree(c);

    return rc;
}


static int
ua_cmd_token_create(ua_conf_t *cf, int argc, char **argv)
{
    int             i, rc;
    long            ttl, exp;
    char           *end, base[UA_WS_MAX + 16], key[128], hex[65];
    char            token[sizeof(UA_TOKEN_PREFIX) + UA_TOKEN_BYTES * 2];
    const char     *role, *perms;
    unsigned char   raw[UA_TOKEN_BYTES];
    redisReply     *r;
    redisContext   *c;

    if (argc < 2) {
        return ua_usage("token-create needs a workspace and a user id");
    }

    if (ua_check_ws(argv[0], base, sizeof(base)) != UA_OK) {
        return UA_USAGE;
    }

    role = "user";
    perms = "";
    ttl = 0;

    for (i = 2; i < argc; i += 2) {

        if (i + 1 == argc) {
            return ua_usage("option \"%s\" needs a value", argv[i]);
        }

        if (strcmp(argv[i], "--role") == 0) {
            role = argv[i + 1];

        } else if (strcmp(argv[i], "--perms") == 0) {
            perms = argv[i + 1];

        } else if (strcmp(argv[i], "--ttl") == 0) {
            errno = 0;
            ttl = strtol(argv[i + 1], &end, 10);
            if (errno || *end || ttl < 1 || ttl > 100L * 365 * 86400) {
                return ua_usage("invalid ttl \"%s\"", argv[i + 1]);
            }

        } else {
            return ua_usage("unknown token-create option \"%s\"", argv[i]);
        }
    }

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw)) {
        ua_error("getrandom: %s", strerror(errno));
        return UA_ERROR;
    }

    strcpy(token, UA_TOKEN_PREFIX);
    ua_base64url(raw, sizeof(raw), token + sizeof(UA_TOKEN_PREFIX) - 1);

    if (ua_sha256_hex(token, strlen(token), hex) != UA_OK) {
        return UA_ERROR;
    }

    snprintf(key, sizeof(key), "users:token:%s", hex);
    exp = ttl ? (long) time(NULL) + ttl : 0;

    c = ua_connect(cf);
    if (c == NULL) {
        return UA_ERROR;
    }

    rc = UA_ERROR;

    r = ua_command(c, "EXISTS %s:u:%s", base, argv[1]);
    if (r == NULL) {
        goto done;
    }

    i = (int) r->integer;
    freeReplyObject(r);

    if (i == 0) {
        ua_error("no user \"%s\" in \"%s\"", argv[1], argv[0]);
        goto done;
    }

    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "HSET %s user %s ws %s role %s perms %s exp %ld",
                       key, argv[1], argv[0], role, perms, exp);
    if (exp) {
        redisAppendCommand(c, "EXPIREAT %s %ld", key, exp);
    }
    redisAppendCommand(c, "EXEC");

    for (i = 0; i < (exp ? 4 : 3); i++) {
        if (redisGetReply(c, (void **) &r) != REDIS_OK) {
            ua_error("redis: %s", c->errstr);
            goto done;
        }

        if (ua_reply_check(c, r) == NULL) {
            goto done;
        }

        freeReplyObject(r);
    }

    /* the only place the token ever appears */
    printf("%s\n", token);
    fprintf(stderr, "users-admin: token for \"%s\" in \"%s\" stored as %s\n",
            argv[1], argv[0], key);
    rc = UA_OK;

done:

    redisFree(c);

    return rc;
}


static int
ua_cmd_token_revoke(ua_conf_t *cf, int argc, char **argv)
{
    int            rc;
    char           hex[65];
    const char    *digest;
    redisReply    *r;
    redisContext  *c;

    if (argc == 2 && strcmp(argv[0], "--digest") == 0) {
        digest = argv[1];

        if (strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64)
        {
            return ua_usage("a digest is 64 lower-case hex digits");
        }

    } else if (argc == 1 && argv[0][0] != '-') {
        if (ua_sha256_hex(argv[0], strlen(argv[0]), hex) != UA_OK) {
            return UA_ERROR;
        }

        digest = hex;

    } else {
        return ua_usage("token-revoke needs a token or --digest <hex>");
    }

    c = ua_connect(cf);
    if (c == NULL) {
        return UA_ERROR;
    }

    r = ua_command(c, "DEL users:token:%s", digest);
    redisFree(c);

    if (r == NULL) {
        return UA_ERROR;
    }

    rc = UA_OK;

    if (r->integer == 0) {
        ua_error("no token users:token:%s", digest);
        rc = UA_ERROR;

    } else {
        printf("users-admin: revoked users:token:%s\n", digest);
    }

    freeReplyObject(r);

    return rc;
}


/* Import ------------------------------------------------------------------- */


/*
 * Walks the input line by line. Without "send", every line is parsed and the
 * first malformed one is reported. With it, every line is sent as
 * "<im->cmd> <im->fn>", at most 2 * UA_WINDOW commands in flight; after the
 * first window with an error reply nothing more is sent, and every reply of
 * what was sent is read and its errors reported.
 */

static int
ua_import_pass(ua_import_t *im, const char *data, size_t len, int send)
{
    long          lineno;
    size_t        n;
    const char   *p, *end, *nl;
    ua_line_t     l;

    memset(&l, 0, sizeof(ua_line_t));
    im->failed = 0;

    p = data;
    end = data + len;
    lineno = 0;

    while (p < end) {
        nl = memchr(p, '\n', end - p);
        n = (nl ? nl : end) - p;
        lineno++;

        if (n && p[n - 1] == '\r') {
            n--;
        }

        if (strspn(p, " \t") >= n) {            /* a blank line */
            p = nl ? nl + 1 : end;
            continue;
        }

        if (ua_line_parse(&l, im->cmd, im->fn, im->base, p, n) != UA_OK
            || (!send && ua_line_check(&l, im->sort) != UA_OK))
        {
            ua_error("%s:%ld: %s", im->name, lineno, l.err);
            ua_line_free(&l);
            return UA_ERROR;
        }

        if (send) {
            if (redisAppendCommandArgv(im->c, l.argc, (const char **) l.argv,
                                       l.argvlen)
                != REDIS_OK)
            {
                ua_error("%s:%ld: out of memory", im->name, lineno);
                break;
            }

            im->lines[(im->head + im->pending++) % (2 * UA_WINDOW)] = lineno;

            if (im->pending == 2 * UA_WINDOW
                && ua_import_flush(im, UA_WINDOW) != UA_OK)
            {
                break;
            }
        }

        p = nl ? nl + 1 : end;
    }

    ua_line_free(&l);

    /* all that was appended has been sent: read (and report) every reply */

    if (send && ua_import_flush(im, im->pending) != UA_OK) {
        return UA_ERROR;
    }

    return (p < end) ? UA_ERROR : UA_OK;
}


/*
 * Reads the n oldest replies; reports each error with its line. Reading
 * only one window while another is buffered keeps Redis busy while the
 * next window is parsed.
 */

static int
ua_import_flush(ua_import_t *im, int n)
{
    int          i;
    long         line;
    redisReply  *r;

    for (i = 0; i < n; i++) {
        line = im->lines[im->head];
        im->head = (im->head + 1) % (2 * UA_WINDOW);
        im->pending--;

        if (redisGetReply(im->c, (void **) &r) != REDIS_OK) {
            ua_error("%s:%ld: redis: %s", im->name, line, im->c->errstr);
            return UA_ERROR;
        }

        if (r->type == REDIS_REPLY_ERROR) {
            ua_error("%s:%ld: %s", im->name, line, r->str);
            im->failed++;

        } else {
            im->sent++;
            im->created += (r->type == REDIS_REPLY_INTEGER && r->integer);
        }

        freeReplyObject(r);
    }

    return im->failed ? UA_ERROR : UA_OK;
}


static double
ua_now(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return tv.tv_sec + tv.tv_usec / 1e6;
}


/* JSON line -> FCALL arguments --------------------------------------------- */


/*
 * The values of int and time fields that the sort spec ("f:kind,...")
 * indexes must parse as redis/users.lua parses them; users_upsert checks
 * them again.
 */

static int
ua_line_check(ua_line_t *l, const char *sort)
{
    int          i, (*check)(const char *, size_t);
    size_t       n;
    const char  *p, *kind, *what;

    for (p = sort; *p; p += n + (p[n] == ',')) {
        n = strcspn(p, ",");
        kind = memchr(p, ':', n);

        if (kind == NULL) {
            continue;
        }

        if (p + n - kind == 4 && memcmp(kind, ":int", 4) == 0) {
            check = ua_check_int;
            what = "an integer of at most 19 digits";

        } else if (p + n - kind == 5 && memcmp(kind, ":time", 5) == 0) {
            check = ua_check_time;
            what = "an RFC 3339 timestamp";

        } else {
            continue;
        }

        if (kind - p == 2 && memcmp(p, "id", 2) == 0) {
            i = UA_FIXED_ARGS - 1;

        } else {
            for (i = UA_FIXED_ARGS; i < l->argc; i += 2) {
                if ((size_t) (kind - p) == l->argvlen[i]
                    && memcmp(p, l->argv[i], kind - p) == 0)
                {
                    i++;
                    break;
                }
            }
        }

        if (i < l->argc) {
            if (check(l->argv[i], l->argvlen[i]) != UA_OK) {
                snprintf(l->err, sizeof(l->err), "field \"%.*s\" is not %s:"
                         " \"%.*s\"", (int) (kind - p), p, what,
                         (int) l->argvlen[i], l->argv[i]);
                return UA_ERROR;
            }
        }
    }

    return UA_OK;
}


/* "-?[0-9]+" with at most 19 significant digits */

static int
ua_check_int(const char *s, size_t len)
{
    size_t  i, start;

    start = (len && s[0] == '-');

    if (len == start) {
        return UA_ERROR;
    }

    for (i = start; i < len; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return UA_ERROR;
        }
    }

    while (start < len && s[start] == '0') {
        start++;
    }

    return (len - start <= 19) ? UA_OK : UA_ERROR;
}


/* YYYY-MM-DDThh:mm:ss[.frac][Z|z|+hh:mm|-hh:mm], no offset meaning UTC */

static int
ua_check_time(const char *s, size_t len)
{
    int          i, v[8], mdays;
    size_t       p;
    static int   at[] = { 0, 5, 8, 11, 14, 17, 20, 23 };
    static int   mlen[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    static char  tmpl[] = "dddd-dd-ddTdd:dd:dd";

    if (len < 19) {
        return UA_ERROR;
    }

    for (i = 0; i < 19; i++) {
        if (tmpl[i] == 'd' ? !isdigit((unsigned char) s[i])
            : tmpl[i] == 'T' ? strchr("Tt ", s[i]) == NULL
            : s[i] != tmpl[i])
        {
            return UA_ERROR;
        }
    }

    p = 19;

    if (p < len && s[p] == '.') {
        for (p++; p < len && isdigit((unsigned char) s[p]); p++) { /* void */ }

        if (p == 20) {
            return UA_ERROR;
        }
    }

    v[6] = 0;
    v[7] = 0;

    if (p + 6 == len && (s[p] == '+' || s[p] == '-')
        && isdigit((unsigned char) s[p + 1])
        && isdigit((unsigned char) s[p + 2]) && s[p + 3] == ':'
        && isdigit((unsigned char) s[p + 4])
        && isdigit((unsigned char) s[p + 5]))
    {
        v[6] = (s[p + 1] - '0') * 10 + s[p + 2] - '0';
        v[7] = (s[p + 4] - '0') * 10 + s[p + 5] - '0';

    } else if (!(p == len || (p + 1 == len && (s[p] == 'Z' || s[p] == 'z'))))
    {
        return UA_ERROR;
    }

    v[0] = atoi(s);

    for (i = 1; i < 6; i++) {
        v[i] = (s[at[i]] - '0') * 10 + s[at[i] + 1] - '0';
    }

    if (v[1] < 1 || v[1] > 12) {
        return UA_ERROR;
    }

    mdays = mlen[v[1] - 1];

    if (v[1] == 2 && v[0] % 4 == 0 && (v[0] % 100 != 0 || v[0] % 400 == 0)) {
        mdays = 29;
    }

    return (v[2] >= 1 && v[2] <= mdays && v[3] <= 23 && v[4] <= 59
            && v[5] <= 60 && v[6] <= 23 && v[7] <= 59) ? UA_OK : UA_ERROR;
}


static int
ua_line_parse(ua_line_t *l, const char *cmd, const char *fn, const char *base,
    const char *s, size_t len)
{
    int            ok;
    unsigned char *msg;
    yajl_handle    h;
    yajl_status    st;

    ua_line_reset(l);

    /* argv[0] is the constant cmd; ua_line_reset() does not free it */

    if (ua_line_arg(l, "", 0) != UA_OK
        || ua_line_arg(l, fn, strlen(fn)) != UA_OK
        || ua_line_arg(l, "1", 1) != UA_OK
        || ua_line_arg(l, base, strlen(base)) != UA_OK
        || ua_line_arg(l, "", 0) != UA_OK)                /* the id */
    {
        return UA_ERROR;
    }

    free(l->argv[0]);
    l->argv[0] = (char *) cmd;
    l->argvlen[0] = strlen(cmd);

    h = yajl_alloc(&ua_json_callbacks, NULL, l);
    if (h == NULL) {
        snprintf(l->err, sizeof(l->err), "out of memory");
        return UA_ERROR;
    }

    st = yajl_parse(h, (const unsigned char *) s, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    ok = (st == yajl_status_ok);

    if (st == yajl_status_error) {
        msg = yajl_get_error(h, 0, (const unsigned char *) s, len);
        snprintf(l->err, sizeof(l->err), "invalid JSON: %.*s",
                 (int) strcspn((char *) msg, "\n"), (char *) msg);
        yajl_free_error(h, msg);
    }

    yajl_free(h);

    if (ok && !l->have_id) {
        snprintf(l->err, sizeof(l->err), "no \"id\"");
        ok = 0;
    }

    return ok ? UA_OK : UA_ERROR;
}


static int
ua_line_arg(ua_line_t *l, const char *s, size_t len)
{
    int       n;
    char    **argv;
    size_t   *argvlen;

    if (l->argc == l->nalloc) {
        n = l->nalloc ? l->nalloc * 2 : 32;

        argv = realloc(l->argv, n * sizeof(char *));
        if (argv) {
            l->argv = argv;
        }

        argvlen = realloc(l->argvlen, n * sizeof(size_t));
        if (argvlen) {
            l->argvlen = argvlen;
        }

        if (argv == NULL || argvlen == NULL) {
            snprintf(l->err, sizeof(l->err), "out of memory");
            return UA_ERROR;
        }

        l->nalloc = n;
    }

    l->argv[l->argc] = malloc(len + 1);
    if (l->argv[l->argc] == NULL) {
        snprintf(l->err, sizeof(l->err), "out of memory");
        return UA_ERROR;
    }

    memcpy(l->argv[l->argc], s, len);
    l->argv[l->argc][len] = '\0';
    l->argvlen[l->argc++] = len;

    return UA_OK;
}


/* the top-level "id" goes to argv[UA_FIXED_ARGS - 1] */

static int
ua_line_id(ua_line_t *l, const char *s, size_t len)
{
    char  *id;

    if (l->have_id) {
        snprintf(l->err, sizeof(l->err), "duplicate field \"id\"");
        return UA_ERROR;
    }

    if (len == 0 || memchr(s, '\0', len)) {
        snprintf(l->err, sizeof(l->err), "empty id or one with a NUL");
        return UA_ERROR;
    }

    id = malloc(len + 1);
    if (id == NULL) {
        snprintf(l->err, sizeof(l->err), "out of memory");
        return UA_ERROR;
    }

    memcpy(id, s, len);
    id[len] = '\0';

    free(l->argv[UA_FIXED_ARGS - 1]);
    l->argv[UA_FIXED_ARGS - 1] = id;
    l->argvlen[UA_FIXED_ARGS - 1] = len;
    l->have_id = 1;

    return UA_OK;
}


/* a scalar: the id, an element of an array, or a field */

static int
ua_line_value(void *ctx, const char *s, size_t len)
{
    int         i;
    ua_line_t  *l = ctx;

    if (l->depth == 0) {
        snprintf(l->err, sizeof(l->err), "not a JSON object");
        return 0;
    }

    if (l->in_array) {
        if (memchr(s, ',', len)) {
            snprintf(l->err, sizeof(l->err),
                     "an element of \"%.*s\" contains a comma",
                     (int) l->path.len, l->path.data);
            return 0;
        }

        return (l->array_n++ == 0 || ua_buf_add(&l->array, ",", 1) == UA_OK)
               && ua_buf_add(&l->array, s, len) == UA_OK;
    }

    if (l->depth == 1 && l->path.len == 2 && memcmp(l->path.data, "id", 2) == 0)
    {
        return ua_line_id(l, s, len) == UA_OK;
    }

    for (i = UA_FIXED_ARGS; i < l->argc; i += 2) {
        if (l->argvlen[i] == l->path.len
            && memcmp(l->argv[i], l->path.data, l->path.len) == 0)
        {
            snprintf(l->err, sizeof(l->err), "duplicate field \"%.*s\"",
                     (int) l->path.len, l->path.data);
            return 0;
        }
    }

    return ua_line_arg(l, l->path.data, l->path.len) == UA_OK
           && ua_line_arg(l, s, len) == UA_OK;
}


static int
ua_json_null(void *ctx)
{
    ua_line_t  *l = ctx;

    if (l->in_array) {
        snprintf(l->err, sizeof(l->err), "null in array \"%.*s\"",
                 (int) l->path.len, l->path.data);
        return 0;
    }

    if (l->depth == 1 && l->path.len == 2 && memcmp(l->path.data, "id", 2) == 0)
    {
        snprintf(l->err, sizeof(l->err), "null id");
        return 0;
    }

    return l->depth > 0;            /* a null field is left out */
}


static int
ua_json_boolean(void *ctx, int b)
{
    return ua_line_value(ctx, b ? "1" : "0", 1);
}


static int
ua_json_number(void *ctx, const char *s, size_t len)
{
    return ua_line_value(ctx, s, len);
}


static int
ua_json_string(void *ctx, const unsigned char *s, size_t len)
{
    return ua_line_value(ctx, (const char *) s, len);
}


static int
ua_json_start_map(void *ctx)
{
    ua_line_t  *l = ctx;

    if (l->in_array) {
        snprintf(l->err, sizeof(l->err), "objects in array \"%.*s\" are not"
                 " supported", (int) l->path.len, l->path.data);
        return 0;
    }

    if (l->depth == UA_MAX_DEPTH) {
        snprintf(l->err, sizeof(l->err), "objects nested too deep");
        return 0;
    }

    if (l->depth == 1 && l->path.len == 2 && memcmp(l->path.data, "id", 2) == 0)
    {
        snprintf(l->err, sizeof(l->err), "the id is an object");
        return 0;
    }

    l->prefix[++l->depth] = l->path.len;

    return 1;
}


static int
ua_json_map_key(void *ctx, const unsigned char *s, size_t len)
{
    ua_line_t  *l = ctx;

    if (len == 0 || memchr(s, '\0', len)) {
        snprintf(l->err, sizeof(l->err), "empty field name or one with a NUL");
        return 0;
    }

    l->path.len = l->prefix[l->depth];

    return (l->depth == 1 || ua_buf_add(&l->path, "_", 1) == UA_OK)
           && ua_buf_add(&l->path, (const char *) s, len) == UA_OK;
}


static int
ua_json_end_map(void *ctx)
{
    ua_line_t  *l = ctx;

    l->path.len = l->prefix[l->depth--];

    return 1;
}


static int
ua_json_start_array(void *ctx)
{
    ua_line_t  *l = ctx;

    if (l->depth == 0) {
        snprintf(l->err, sizeof(l->err), "not a JSON object");
        return 0;
    }

    if (l->in_array) {
        snprintf(l->err, sizeof(l->err), "nested array in \"%.*s\"",
                 (int) l->path.len, l->path.data);
        return 0;
    }

    if (l->depth == 1 && l->path.len == 2 && memcmp(l->path.data, "id", 2) == 0)
    {
        snprintf(l->err, sizeof(l->err), "the id is an array");
        return 0;
    }

    l->in_array = 1;
    l->array_n = 0;
    l->array.len = 0;

    return 1;
}


static int
ua_json_end_array(void *ctx)
{
    ua_line_t  *l = ctx;

    l->in_array = 0;

    return ua_line_value(ctx, l->array.len ? l->array.data : "",
                         l->array.len);
}


static void
ua_line_reset(ua_line_t *l)
{
    int  i;

    for (i = 0; i < l->argc; i++) {
        if (i != 0) {                   /* argv[0] may be a constant */
            free(l->argv[i]);
        }
    }

    l->argc = 0;
    l->path.len = 0;
    l->depth = 0;
    l->in_array = 0;
    l->array.len = 0;
    l->have_id = 0;
    l->err[0] = '\0';
}


static void
ua_line_free(ua_line_t *l)
{
    ua_line_reset(l);
    free(l->argv);
    free(l->argvlen);
    free(l->path.data);
    free(l->array.data);
    memset(l, 0, sizeof(ua_line_t));
}


/* Redis -------------------------------------------------------------------- */


static redisContext *
ua_connect(ua_conf_t *cf)
{
    redisReply      *r;
    redisContext    *c;
    struct timeval   tv;

    tv.tv_sec = 5;
    tv.tv_usec = 0;

    if (cf->host[0] == '/') {
        c = redisConnectUnixWithTimeout(cf->host, tv);
    } else {
        c = redisConnectWithTimeout(cf->host, cf->port, tv);
    }

    if (c == NULL || c->err) {
        ua_error("cannot connect to Redis at %s:%d: %s", cf->host, cf->port,
                 c ? c->errstr : "out of memory");
        if (c) {
            redisFree(c);
        }
        return NULL;
    }

    tv.tv_sec = UA_TIMEOUT;
    redisSetTimeout(c, tv);

    r = NULL;

    if (cf->password && cf->user) {
        r = ua_command(c, "AUTH %s %s", cf->user, cf->password);

    } else if (cf->password) {
        r = ua_command(c, "AUTH %s", cf->password);
    }

    if (cf->password && r == NULL) {
        redisFree(c);
        return NULL;
    }

    freeReplyObject(r);

    if (cf->db) {
        r = ua_command(c, "SELECT %d", cf->db);
        if (r == NULL) {
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    return c;
}


/* a reply, or NULL after reporting the I/O or Redis error */

static redisReply *
ua_command(redisContext *c, const char *fmt, ...)
{
    va_list      args;
    redisReply  *r;

    va_start(args, fmt);
    r = redisvCommand(c, fmt, args);
    va_end(args);

    if (r == NULL) {
        ua_error("redis: %s", c->errstr);
        return NULL;
    }

    return ua_reply_check(c, r);
}


static redisReply *
ua_reply_check(redisContext *c, redisReply *r)
{
    size_t  i;

    (void) c;

    if (r->type == REDIS_REPLY_ERROR) {
        ua_error("redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }

    /* EXEC: an array that may hold errors */
    if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            if (r->element[i]->type == REDIS_REPLY_ERROR) {
                ua_error("redis: %s", r->element[i]->str);
                freeReplyObject(r);
                return NULL;
            }
        }
    }

    return r;
}


/* Utilities ---------------------------------------------------------------- */


static int
ua_usage(const char *fmt, ...)
{
    va_list  args;

    fputs("users-admin: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputs("\n(users-admin --help for usage)\n", stderr);

    return UA_USAGE;
}


static void
ua_error(const char *fmt, ...)
{
    va_list  args;

    fputs("users-admin: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}


static int
ua_buf_add(ua_buf_t *b, const char *s, size_t len)
{
    size_t   cap;
    char    *p;

    if (b->len + len + 1 > b->cap) {
        cap = (b->len + len + 1) * 2;

        p = realloc(b->data, cap);
        if (p == NULL) {
            return UA_ERROR;
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';

    return UA_OK;
}


/* the whole file ("-": standard input) in memory, or NULL after a message */

static char *
ua_read_file(const char *name, size_t *len)
{
    size_t     n;
    FILE      *f;
    ua_buf_t   b;
    char       chunk[65536];

    f = (strcmp(name, "-") == 0) ? stdin : fopen(name, "r");
    if (f == NULL) {
        ua_error("%s: %s", name, strerror(errno));
        return NULL;
    }

    memset(&b, 0, sizeof(ua_buf_t));

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (ua_buf_add(&b, chunk, n) != UA_OK) {
            ua_error("%s: out of memory", name);
            break;
        }
    }

    if (ferror(f) || n > 0) {
        if (ferror(f)) {
            ua_error("%s: %s", name, strerror(errno));
        }
        free(b.data);
        b.data = NULL;

    } else if (b.data == NULL) {
        b.data = calloc(1, 1);
    }

    if (f != stdin) {
        fclose(f);
    }

    *len = b.len;

    return b.data;
}


static int
ua_check_ws(const char *ws, char *base, size_t size)
{
    size_t  i, len;

    len = strlen(ws);

    for (i = 0; i < len; i++) {
        if (ws[i] == '{' || ws[i] == '}' || ws[i] == ':'
            || isspace((unsigned char) ws[i]))
        {
            break;
        }
    }

    if (len == 0 || len > UA_WS_MAX || i < len) {
        ua_usage("invalid workspace \"%s\": 1 to %d bytes without"
                 " \"{\", \"}\", \":\" or whitespace", ws, UA_WS_MAX);
        return UA_USAGE;
    }

    snprintf(base, size, "users:{%s}", ws);

    return UA_OK;
}


static void
ua_base64url(const unsigned char *in, size_t n, char *out)
{
    size_t       i;
    uint32_t     v;
    static char  abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_";

    for (i = 0; i + 2 < n; i += 3) {
        v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
        *out++ = abc[v >> 18 & 63];
        *out++ = abc[v >> 12 & 63];
        *out++ = abc[v >> 6 & 63];
        *out++ = abc[v & 63];
    }

    if (i < n) {                                  /* 1 or 2 bytes, no '=' */
        v = (uint32_t) in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t) in[i + 1] << 8;
        }

        *out++ = abc[v >> 18 & 63];
        *out++ = abc[v >> 12 & 63];
        if (i + 1 < n) {
            *out++ = abc[v >> 6 & 63];
        }
    }

    *out = '\0';
}


static int
ua_sha256_hex(const char *s, size_t len, char *hex)
{
    unsigned int   i, n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(s, len, md, &n, EVP_sha256(), NULL) != 1) {
        ua_error("sha256 failed");
        return UA_ERROR;
    }

    for (i = 0; i < n; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }

    return UA_OK;
}
