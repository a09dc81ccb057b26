
/*
 * Copyright (C) ngx_http_users_module authors
 *
 * users-admin: the command-line writer of docs/SCHEMA.md. It loads the
 * Redis Functions library redis/users.lua, sets a workspace's index spec
 * (from the options or from a conf file's schema line), imports users and
 * the objects users refer to from JSON Lines, deletes them, creates and
 * revokes tokens. Every check of stored data is the library's: the tool
 * has no time or integer parser of its own.
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
#include <strings.h>
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
#define UA_REPORT        10        /* bad lines reported by name */
#define UA_MAX_DEPTH     32        /* nesting of objects in a line */
#define UA_MAX_FOLDS     64        /* fields of a workspace's "case" */
#define UA_WS_MAX        64
#define UA_TOKEN_BYTES   32
#define UA_TOKEN_PREFIX  "uk_"
#define UA_TOKEN_MIN     16        /* bytes of a given token */
#define UA_TOKEN_MAX     512       /* the module's NGX_HTTP_USERS_MAX_TOKEN */
#define UA_EXPIRED_KEEP  86400     /* seconds an expired token's record stays */
#define UA_MAX_SECONDS   (100L * 366 * 86400)
#define UA_TIMEOUT       60        /* seconds, per Redis reply */
#define UA_SCHEMA_WORDS  16        /* words of a conf's schema line */
#define UA_SLOT_WAIT     600       /* 100 ms waits for a migrating slot */


typedef struct {
    const char          *host;
    int                  port;
    const char          *password;
    const char          *user;
    int                  db;
    int                  cluster;       /* -c: -h/-p is a cluster's node */
} ua_conf_t;


typedef int (*ua_handler_pt)(ua_conf_t *cf, int argc, char **argv);


typedef struct {
    const char          *name;
    ua_handler_pt        handler;
    const char          *help;
} ua_command_t;


typedef struct {
    char                *data;
    size_t               len;
    size_t               cap;
} ua_buf_t;


/* a field whose values are folded to one case ("role:lower") */
typedef struct {
    const char          *name;
    size_t               len;
    int                  upper;
} ua_fold_t;


/* one JSON line turned into FCALL arguments */
typedef struct {
    char               **argv;
    size_t              *argvlen;
    int                  argc;
    int                  nalloc;
    int                  fixed;         /* arguments before the fields */

    const ua_fold_t     *folds;
    int                  nfolds;

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
    const char          *kind;          /* NULL: users, else "group", ... */
    const char          *cmd;           /* FCALL_RO, then FCALL */
    const char          *fn;            /* the validating, then the writing */
    int                  writing;

    char                *case_spec;     /* users:{ws}:meta "case" */
    ua_fold_t            folds[UA_MAX_FOLDS];
    int                  nfolds;

    long                 lines[2 * UA_WINDOW];   /* ring of sent lines */
    int                  head;
    int                  pending;
    long                 done;          /* lines the library took */
    long                 created;
    long                 bad;           /* lines refused */
    int                  failed;        /* I/O or Redis failed: stop */
} ua_import_t;


/* token-create's options */
typedef struct {
    const char          *role;
    const char          *perms;
    const char          *expires;       /* NULL: never */
    const char          *given;         /* NULL: a new token; "-": stdin */
    char                 ttl[32];
} ua_token_opts_t;


static int ua_cmd_help(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_load(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_schema(ua_conf_t *cf, int argc, char **argv);
static const char *ua_schema_options(int argc, char **argv,
    const char **spec);
static int ua_conf_schema(const char *file, char *words[], int *nwords,
    long *lineno);
static int ua_cmd_import(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_import_objects(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_delete(ua_conf_t *cf, int argc, char **argv);
static int ua_cmd_delete_objects(ua_conf_t *cf, int argc, char **argv);
static int ua_delete(ua_conf_t *cf, const char *ws, const char *kind,
    int n, char **ids);
static int ua_cmd_token_create(ua_conf_t *cf, int argc, char **argv);
static int ua_token_options(int argc, char **argv, ua_token_opts_t *o);
static int ua_token_given(const char *given, char *token, size_t size);
static int ua_token_expiry(redisContext *c, const char *base,
    const char *when, time_t now, long *exp);
static int ua_token_store(redisContext *c, const char *key, char **argv,
    ua_token_opts_t *o, long exp, time_t now);
static int ua_cmd_token_revoke(ua_conf_t *cf, int argc, char **argv);

static int ua_import(ua_conf_t *cf, const char *ws, const char *kind,
    const char *file);
static void ua_import_folds(ua_import_t *im);
static int ua_import_pass(ua_import_t *im, const char *data, size_t len);
static int ua_import_send(ua_import_t *im, ua_line_t *l, long lineno);
static void ua_import_flush(ua_import_t *im, int n);
static void ua_import_bad(ua_import_t *im, long lineno, const char *msg);

static int ua_line_parse(ua_line_t *l, ua_import_t *im, const char *s,
    size_t len);
static int ua_line_arg(ua_line_t *l, const char *s, size_t len);
static int ua_line_id(ua_line_t *l, const char *s, size_t len);
static int ua_line_value(void *ctx, const char *s, size_t len);
static void ua_line_fold(ua_line_t *l);
static int ua_json_null(void *ctx);
static int ua_json_boolean(void *ctx, int b);
static int ua_json_number(void *ctx, const char *s, size_t len);
static int ua_json_string(void *ctx, const unsigned char *s, size_t len);
static int ua_json_start_map(void *ctx);
static int ua_json_map_key(void *ctx, const unsigned char *s, size_t len);
static int ua_json_end_map(void *ctx);
static int ua_json_start_array(void *ctx);
static int ua_json_end_array(void *ctx);
static void ua_line_reset(ua_line_t *l);
static void ua_line_free(ua_line_t *l);

static redisContext *ua_connect(ua_conf_t *cf);
static redisContext *ua_connect_slot(ua_conf_t *cf, const char *key);
static redisContext *ua_moved(ua_conf_t *cf, redisContext *c,
    const char *err);
static int ua_load_primaries(ua_conf_t *cf, const char *code, size_t len,
    const char *path);
static redisReply *ua_command(redisContext *c, const char *fmt, ...);
static redisReply *ua_reply_check(redisReply *r);
static const char *ua_library_error(const char *err);

static int ua_usage(const char *fmt, ...);
static void ua_error(const char *fmt, ...);
static int ua_buf_add(ua_buf_t *b, const char *s, size_t len);
static char *ua_read_file(const char *name, size_t *len);
static int ua_check_ws(const char *ws, char *base, size_t size);
static void ua_base64url(const unsigned char *in, size_t n, char *out);
static int ua_sha256_hex(const char *s, size_t len, char *hex);
static void ua_utc(long t, char *buf, size_t size);
static double ua_now(void);


static const char  ua_usage_head[] =
"usage: users-admin [options] <command> [arguments]\n"
"       users-admin <command> --help\n"
"\n"
"options (before the command):\n"
"  -h <host>        Redis host, or a unix socket path (default 127.0.0.1)\n"
"  -p <port>        Redis port (default 6379)\n"
"  -a <password>    AUTH with this password (also $REDISCLI_AUTH)\n"
"  --user <name>    ACL user for AUTH (with -a)\n"
"  -n <db>          database number (default 0)\n"
"  -c               a Redis Cluster: -h/-p name any of its nodes; each\n"
"                   command goes to the primary of its workspace's (or\n"
"                   token's) slot, following MOVED and waiting while the\n"
"                   slot migrates; load-functions loads every primary\n"
"  --help           this text\n"
"\n"
"commands:\n";


static const char  ua_usage_tail[] =
"\n"
"exit status: 0 done, 1 data or Redis error, 2 usage error\n";


static const char  ua_help_load[] =
"  load-functions [file]\n"
"      FUNCTION LOAD REPLACE the library (default: redis/users.lua of the\n"
"      source tree the binary was built in, else ./redis/users.lua)\n";


static const char  ua_help_schema[] =
"  schema <ws> [--sort f:str|int|time,...] [--enum f,...]\n"
"              [--member f:kind,...] [--case f:lower|upper,...]\n"
"  schema <ws> --from-conf <file.conf>\n"
"      set the workspace's whole index spec (an option left out is\n"
"      empty) and rebuild its indexes:\n"
"        --sort    sortable fields and their kinds (id:str is implied;\n"
"                  id:int makes ids sort as integers)\n"
"        --enum    fields each of whose values gets a restricted copy of\n"
"                  every sort index (a conf's \"indexed\" filters)\n"
"        --member  id-list fields and the membership kind each keeps\n"
"                  (a conf's \"member\" filters and users_scope)\n"
"        --case    fields whose values import folds to lower or upper\n"
"                  case (a conf's \"case=\" filters): kept in the\n"
"                  schema in Redis, so every later import folds them;\n"
"                  users already stored are not changed\n"
"      --from-conf takes the options from the file's one line\n"
"        # users-admin schema <ws> --sort ... --enum ...\n"
"      (every conf/*.conf that lists users carries one)\n";


static const char  ua_help_import[] =
"  import <ws> [file.jsonl|-]\n"
"      upsert one user per line (a JSON object with an \"id\"; no file or\n"
"      \"-\": standard input). Nested objects are flattened with \"_\",\n"
"      arrays of scalars joined with \",\", booleans stored as 1/0, nulls\n"
"      left out; the values of the workspace's --case fields are folded\n"
"      (ASCII). Every line is parsed, then checked by the library\n"
"      (FCALL_RO users_validate): exactly what users_upsert takes passes,\n"
"      e.g. in time fields RFC 3339 times, bare dates, lower-case t and z.\n"
"      Bad lines are reported as file:LINE (the first 10, then a count)\n"
"      and then nothing is written. Each user is one atomic users_upsert.\n";


static const char  ua_help_import_objects[] =
"  import-objects <ws> <kind> [file.jsonl|-]\n"
"      the same for the objects users refer to (kind \"group\", \"role\":\n"
"      what users_expand shows): each line replaces the hash\n"
"      users:{ws}:<kind>:<id> with exactly its fields and \"id\", checked\n"
"      first by users_object_validate, written by users_object_upsert.\n"
"      Kinds u, ix, m and meta are refused: the library's own keys.\n";


static const char  ua_help_delete[] =
"  delete <ws> <id>...\n"
"      delete users and all their index entries\n";


static const char  ua_help_delete_objects[] =
"  delete-objects <ws> <kind> <id>...\n"
"      delete objects users refer to\n";


static const char  ua_help_token_create[] =
"  token-create <ws> <user-id> [--role R] [--perms a,b]\n"
"               [--expires WHEN | --ttl seconds] [--token T | --token -]\n"
"      store a bearer token of the user: users:token:<sha256 hex>\n"
"        --role     the role (default \"user\")\n"
"        --perms    permission names, comma-separated (default none)\n"
"        --expires  an RFC 3339 time or a date (2030-01-01T12:00:00Z,\n"
"                   2030-01-01) or a duration from now (90s, 45m, 12h,\n"
"                   30d); a past time or a negative duration makes an\n"
"                   expired token, for tests (its record stays 24 hours).\n"
"                   Default: it never expires\n"
"        --ttl      seconds from now, as --expires <N>s\n"
"        --token    store this token rather than a new one (moving tokens\n"
"                   from another system; \"-\" reads one line of standard\n"
"                   input, which keeps it out of the process list): an\n"
"                   RFC 6750 b64token (letters, digits, \"-._~+/\", then\n"
"                   \"=\" padding) of 16 to 512 bytes. It is never printed\n"
"      Without --token, a new token (\"uk_\" + 43 base64url characters of\n"
"      32 random bytes) is printed once, on standard output. A token\n"
"      whose digest is already stored is refused.\n";


static const char  ua_help_token_revoke[] =
"  token-revoke <token> | --digest <sha256 hex>\n"
"      delete a token record\n";


static const char  ua_help_help[] =
"  help [command]\n"
"      this text, or a command's\n";


static ua_command_t  ua_commands[] = {
    { "load-functions", ua_cmd_load, ua_help_load },
    { "schema", ua_cmd_schema, ua_help_schema },
    { "import", ua_cmd_import, ua_help_import },
    { "import-objects", ua_cmd_import_objects, ua_help_import_objects },
    { "delete", ua_cmd_delete, ua_help_delete },
    { "delete-objects", ua_cmd_delete_objects, ua_help_delete_objects },
    { "token-create", ua_cmd_token_create, ua_help_token_create },
    { "token-revoke", ua_cmd_token_revoke, ua_help_token_revoke },
    { "help", ua_cmd_help, ua_help_help },
    { NULL, NULL, NULL }
};


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
    int            i, k;
    char          *end;
    ua_conf_t      cf;
    ua_command_t  *cmd;

    cf.host = "127.0.0.1";
    cf.port = 6379;
    cf.password = getenv("REDISCLI_AUTH");
    cf.user = NULL;
    cf.db = 0;
    cf.cluster = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {

        if (strcmp(argv[i], "--help") == 0) {
            return ua_cmd_help(&cf, 0, NULL);
        }

        if (strcmp(argv[i], "-c") == 0) {
            cf.cluster = 1;
            continue;
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

    if (cf.cluster && cf.db) {
        return ua_usage("a cluster has database 0 only (-c with -n)");
    }

    for (cmd = ua_commands; cmd->name; cmd++) {
        if (strcmp(argv[i], cmd->name) == 0) {
            break;
        }
    }

    if (cmd->name == NULL) {
        return ua_usage("unknown command \"%s\"", argv[i]);
    }

    /* "<command> ... --help": that command's help */

    for (k = i + 1; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0) {
            return ua_cmd_help(&cf, 1, &argv[i]);
        }
    }

    return cmd->handler(&cf, argc - i - 1, argv + i + 1);
}


/* Commands ----------------------------------------------------------------- */


static int
ua_cmd_help(ua_conf_t *cf, int argc, char **argv)
{
    ua_command_t  *cmd;

    (void) cf;

    if (argc > 1) {
        return ua_usage("help takes at most one command");
    }

    if (argc == 1) {
        for (cmd = ua_commands; cmd->name; cmd++) {
            if (strcmp(argv[0], cmd->name) == 0) {
                printf("usage: users-admin [options] %s ...\n\n%s\n"
                       "(users-admin --help: the options and every"
                       " command)\n", cmd->name, cmd->help);
                return UA_OK;
            }
        }

        return ua_usage("unknown command \"%s\"", argv[0]);
    }

    fputs(ua_usage_head, stdout);

    for (cmd = ua_commands; cmd->name; cmd++) {
        fputs(cmd->help, stdout);
    }

    fputs(ua_usage_tail, stdout);

    return UA_OK;
}


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

    if (cf->cluster) {
        rc = ua_load_primaries(cf, code, len, path);
        free(code);
        return rc;
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


/*
 * The case spec goes first: it cannot fail on data, and a rebuild that
 * fails (a stored user its new sort kinds refuse) leaves the old spec.
 */

static int
ua_cmd_schema(ua_conf_t *cf, int argc, char **argv)
{
    int            i, nwords;
    long           lineno;
    char           base[UA_WS_MAX + 16], *words[UA_SCHEMA_WORDS];
    const char    *err, *spec[4];
    redisReply    *r;
    redisContext  *c;

    if (argc < 1) {
        return ua_usage("schema needs a workspace");
    }

    if (ua_check_ws(argv[0], base, sizeof(base)) != UA_OK) {
        return UA_USAGE;
    }

    if (argc == 3 && strcmp(argv[1], "--from-conf") == 0) {
        if (ua_conf_schema(argv[2], words, &nwords, &lineno) != UA_OK) {
            return UA_ERROR;
        }

        err = ua_schema_options(nwords, words, spec);
        if (err) {
            ua_error("%s:%ld: %s", argv[2], lineno, err);
            return UA_ERROR;
        }

        printf("users-admin: %s:%ld: schema", argv[2], lineno);
        for (i = 0; i < nwords; i++) {
            printf(" %s", words[i]);
        }
        printf("\n");

    } else {
        err = ua_schema_options(argc - 1, argv + 1, spec);
        if (err) {
            return ua_usage("%s", err);
        }
    }

    c = ua_connect_slot(cf, base);
    if (c == NULL) {
        return UA_ERROR;
    }

    r = ua_command(c, "FCALL users_case 1 %s %s", base, spec[3]);
    if (r) {
        freeReplyObject(r);
        r = ua_command(c, "FCALL users_schema 1 %s %s %s %s",
                       base, spec[0], spec[1], spec[2]);
    }

    redisFree(c);

    if (r == NULL) {
        return UA_ERROR;
    }

    printf("users-admin: schema of \"%s\" set, %lld users reindexed\n",
           argv[0], r->integer);
    freeReplyObject(r);

    return UA_OK;
}


/* "--sort x --enum y ..." -> spec[]: sort, enum, member, case; or why not */

static const char *
ua_schema_options(int argc, char **argv, const char **spec)
{
    int          i, k;
    static char  err[256];
    static char *names[] = { "--sort", "--enum", "--member", "--case" };

    for (k = 0; k < 4; k++) {
        spec[k] = "";
    }

    for (i = 0; i < argc; i += 2) {

        for (k = 0; k < 4; k++) {
            if (strcmp(argv[i], names[k]) == 0) {
                break;
            }
        }

        if (strcmp(argv[i], "--from-conf") == 0) {
            return "--from-conf takes the whole spec from the file:"
                   " give no other option";
        }

        if (k == 4) {
            snprintf(err, sizeof(err), "unknown schema option \"%s\"",
                     argv[i]);
            return err;
        }

        if (i + 1 == argc) {
            snprintf(err, sizeof(err), "option \"%s\" needs a value",
                     argv[i]);
            return err;
        }

        spec[k] = argv[i + 1];
    }

    return NULL;
}


/*
 * The words after "<ws>" of the file's only line
 * "# users-admin schema <ws> ...", in a buffer that lives as long as the
 * process.
 */

static int
ua_conf_schema(const char *file, char *words[], int *nwords, long *lineno)
{
    long     n, found;
    size_t   len;
    char    *data, *p, *line, *next;
    static char  head[] = "users-admin schema <ws>";

    data = ua_read_file(file, &len);
    if (data == NULL) {
        return UA_ERROR;
    }

    found = 0;

    for (n = 1, line = data; line; n++, line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }

        if (line[0] != '#') {
            continue;
        }

        for (p = line + 1; *p == ' ' || *p == '\t'; p++) { /* void */ }

        if (strncmp(p, head, sizeof(head) - 1) != 0
            || (p[sizeof(head) - 1] && !isspace((unsigned char)
                                                p[sizeof(head) - 1])))
        {
            continue;
        }

        if (found) {
            ua_error("%s:%ld: a second schema line (the first is line %ld)",
                     file, n, found);
            return UA_ERROR;
        }

        found = n;
        *nwords = 0;

        for (p = strtok(p + sizeof(head) - 1, " \t\r"); p;
             p = strtok(NULL, " \t\r"))
        {
            if (*nwords == UA_SCHEMA_WORDS) {
                ua_error("%s:%ld: more than %d words", file, n,
                         UA_SCHEMA_WORDS);
                return UA_ERROR;
            }

            words[(*nwords)++] = p;
        }
    }

    if (!found) {
        ua_error("%s: no line \"# %s ...\"", file, head);
        return UA_ERROR;
    }

    *lineno = found;

    return UA_OK;
}


static int
ua_cmd_import(ua_conf_t *cf, int argc, char **argv)
{
    if (argc < 1 || argc > 2) {
        return ua_usage("import needs a workspace and at most one file");
    }

    return ua_import(cf, argv[0], NULL, argc == 2 ? argv[1] : "-");
}


static int
ua_cmd_import_objects(ua_conf_t *cf, int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        return ua_usage("import-objects needs a workspace, a kind and at"
                        " most one file");
    }

    return ua_import(cf, argv[0], argv[1], argc == 3 ? argv[2] : "-");
}


static int
ua_cmd_delete(ua_conf_t *cf, int argc, char **argv)
{
    if (argc < 2) {
        return ua_usage("delete needs a workspace and at least one id");
    }

    return ua_delete(cf, argv[0], NULL, argc - 1, argv + 1);
}


static int
ua_cmd_delete_objects(ua_conf_t *cf, int argc, char **argv)
{
    if (argc < 3) {
        return ua_usage("delete-objects needs a workspace, a kind and at"
                        " least one id");
    }

    return ua_delete(cf, argv[0], argv[1], argc - 2, argv + 2);
}


static int
ua_delete(ua_conf_t *cf, const char *ws, const char *kind, int n, char **ids)
{
    int            i, rc;
    char           base[UA_WS_MAX + 16];
    redisReply    *r;
    redisContext  *c;

    if (ua_check_ws(ws, base, sizeof(base)) != UA_OK) {
        return UA_USAGE;
    }

    c = ua_connect_slot(cf, base);
    if (c == NULL) {
        return UA_ERROR;
    }

    rc = UA_OK;

    for (i = 0; i < n; i++) {
        if (kind) {
            r = ua_command(c, "FCALL users_object_delete 1 %s %s %s",
                           base, kind, ids[i]);

        } else {
            r = ua_command(c, "FCALL users_delete 1 %s %s", base, ids[i]);
        }

        if (r == NULL) {
            rc = UA_ERROR;
            continue;
        }

        if (r->integer == 0) {
            ua_error("no %s \"%s\" in \"%s\"", kind ? kind : "user", ids[i],
                     ws);
            rc = UA_ERROR;

        } else {
            printf("users-admin: deleted %s%s\"%s\" from \"%s\"\n",
                   kind ? kind : "", kind ? " " : "", ids[i], ws);
        }

        freeReplyObject(r);
    }

    redisFree(c);

    return rc;
}


/* Tokens ------------------------------------------------------------------- */


static int
ua_cmd_token_create(ua_conf_t *cf, int argc, char **argv)
{
    int              rc;
    long             exp;
    char             base[UA_WS_MAX + 16], key[128], hex[65], when[32];
    char             token[UA_TOKEN_MAX + 3];
    time_t           now;
    unsigned char    raw[UA_TOKEN_BYTES];
    redisReply      *r;
    redisContext    *c;
    ua_token_opts_t  o;

    if (argc < 2) {
        return ua_usage("token-create needs a workspace and a user id");
    }

    if (ua_check_ws(argv[0], base, sizeof(base)) != UA_OK
        || ua_token_options(argc - 2, argv + 2, &o) != UA_OK)
    {
        return UA_USAGE;
    }

    if (o.given) {
        rc = ua_token_given(o.given, token, sizeof(token));
        if (rc != UA_OK) {
            return rc;
        }

    } else if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw)) {
        ua_error("getrandom: %s", strerror(errno));
        return UA_ERROR;

    } else {
        strcpy(token, UA_TOKEN_PREFIX);
        ua_base64url(raw, sizeof(raw), token + sizeof(UA_TOKEN_PREFIX) - 1);
    }

    c = NULL;

    if (ua_sha256_hex(token, strlen(token), hex) == UA_OK) {
        c = ua_connect_slot(cf, base);
    }

    if (c == NULL) {
        explicit_bzero(token, sizeof(token));
        return UA_ERROR;
    }

    snprintf(key, sizeof(key), "users:token:%s", hex);
    now = time(NULL);
    exp = 0;

    rc = o.expires ? ua_token_expiry(c, base, o.expires, now, &exp) : UA_OK;

    if (rc == UA_OK) {
        r = ua_command(c, "EXISTS %s:u:%s", base, argv[1]);

        if (r == NULL || r->integer == 0) {
            if (r) {
                ua_error("no user \"%s\" in \"%s\"", argv[1], argv[0]);
            }

            rc = UA_ERROR;
        }

        freeReplyObject(r);
    }

    if (rc == UA_OK && cf->cluster) {
        /* the record lives in its own slot, not the workspace's */
        redisFree(c);
        c = ua_connect_slot(cf, key);
        rc = c ? UA_OK : UA_ERROR;
    }

    if (rc == UA_OK) {
        rc = ua_token_store(c, key, argv, &o, exp, now);
    }

    if (c) {
        redisFree(c);
    }

    if (rc == UA_OK) {
        if (!o.given) {
            /* the only place the token ever appears */
            printf("%s\n", token);
        }

        ua_utc(exp, when, sizeof(when));
        fprintf(stderr, "users-admin: token for \"%s\" in \"%s\" stored as"
                " %s, %s%s%s\n", argv[1], argv[0], key,
                exp == 0 ? "no expiry" : exp > now ? "expires " : "expired ",
                exp ? when : "",
                exp && exp <= now ? " (the record stays 24 hours)" : "");
    }

    explicit_bzero(token, sizeof(token));

    return rc;
}


static int
ua_token_options(int argc, char **argv, ua_token_opts_t *o)
{
    int    i;
    long   ttl;
    char  *end;

    memset(o, 0, sizeof(ua_token_opts_t));
    o->role = "user";
    o->perms = "";

    for (i = 0; i < argc; i += 2) {

        if (i + 1 == argc) {
            return ua_usage("option \"%s\" needs a value", argv[i]);
        }

        if (strcmp(argv[i], "--role") == 0) {
            o->role = argv[i + 1];

        } else if (strcmp(argv[i], "--perms") == 0) {
            o->perms = argv[i + 1];

        } else if (strcmp(argv[i], "--token") == 0) {
            o->given = argv[i + 1];

        } else if (strcmp(argv[i], "--expires") == 0) {
            if (o->expires) {
                return ua_usage("give --expires or --ttl, once");
            }

            o->expires = argv[i + 1];

        } else if (strcmp(argv[i], "--ttl") == 0) {
            errno = 0;
            ttl = strtol(argv[i + 1], &end, 10);
            if (errno || *end || end == argv[i + 1] || ttl < 1
                || ttl > UA_MAX_SECONDS)
            {
                return ua_usage("invalid ttl \"%s\"", argv[i + 1]);
            }

            if (o->expires) {
                return ua_usage("give --expires or --ttl, once");
            }

            snprintf(o->ttl, sizeof(o->ttl), "%lds", ttl);
            o->expires = o->ttl;

        } else {
            return ua_usage("unknown token-create option \"%s\"", argv[i]);
        }
    }

    return UA_OK;
}


/*
 * --token: the argument, or ("-") one line of standard input, in a buffer
 * of UA_TOKEN_MAX + 3 bytes: one too long shows, it is not cut. Messages
 * never show it.
 */

static int
ua_token_given(const char *given, char *token, size_t size)
{
    size_t  len, n;

    if (strcmp(given, "-") == 0) {
        if (fgets(token, size, stdin) == NULL) {
            token[0] = '\0';
        }

        token[strcspn(token, "\r\n")] = '\0';

    } else {
        snprintf(token, size, "%s", given);
    }

    len = strlen(token);

    if (len > UA_TOKEN_MAX) {
        explicit_bzero(token, size);
        return ua_usage("invalid --token: longer than %d bytes",
                        UA_TOKEN_MAX);
    }

    if (len < UA_TOKEN_MIN) {
        explicit_bzero(token, size);
        return ua_usage("invalid --token: %zu bytes, fewer than %d", len,
                        UA_TOKEN_MIN);
    }

    /*
     * b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
     *            *"="
     */

    n = strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-._~+/");

    if (n == 0 || strspn(token + n, "=") != len - n) {
        explicit_bzero(token, size);
        return ua_usage("invalid --token: not an RFC 6750 b64token (letters,"
                        " digits, \"-._~+/\", then \"=\" padding)");
    }

    return UA_OK;
}


/*
 * --expires: "[+-]N" and s, m, h or d from now, or a time the library's
 * parser takes (FCALL_RO users_time), in Unix seconds
 */

static int
ua_token_expiry(redisContext *c, const char *base, const char *when,
    time_t now, long *exp)
{
    int           ok;
    long          n, unit;
    char         *end;
    redisReply   *r;
    const char   *units = "smhd";
    static long   mult[] = { 1, 60, 3600, 86400 };

    errno = 0;
    n = strtol(when, &end, 10);

    if (end != when && isdigit((unsigned char) end[-1]) && end[0] != '\0'
        && end[1] == '\0' && strchr(units, end[0]))
    {
        unit = mult[strchr(units, end[0]) - units];

        if (errno || n > UA_MAX_SECONDS / unit || n < -UA_MAX_SECONDS / unit)
        {
            return ua_usage("invalid --expires \"%s\": at most 100 years",
                            when);
        }

        *exp = (long) now + n * unit;

    } else {
        r = redisCommand(c, "FCALL_RO users_time 1 %s %s", base, when);
        if (r == NULL) {
            ua_error("redis: %s", c->errstr);
            return UA_ERROR;
        }

        if (r->type == REDIS_REPLY_ERROR
            && strncasecmp(r->str, "ERR users", 9) != 0)
        {
            ua_error("redis: %s", r->str);
            freeReplyObject(r);
            return UA_ERROR;
        }

        ok = (r->type == REDIS_REPLY_INTEGER);
        n = ok ? (long) r->integer : 0;
        freeReplyObject(r);

        if (!ok) {
            return ua_usage("invalid --expires \"%s\": not an RFC 3339 time"
                            " (2030-01-01T12:00:00Z, 2030-01-01) nor a"
                            " duration (90s, 45m, 12h, 30d)", when);
        }

        *exp = n;
    }

    if (*exp <= 0) {
        return ua_usage("invalid --expires \"%s\": before"
                        " 1970-01-01T00:00:01Z", when);
    }

    return UA_OK;
}


/*
 * HSET and the key's expiry in one MULTI, after a WATCHed check that no
 * record has the digest. A record expired at creation stays a day.
 */

static int
ua_token_store(redisContext *c, const char *key, char **argv,
    ua_token_opts_t *o, long exp, time_t now)
{
    int          i, n;
    redisReply  *r;

    r = ua_command(c, "WATCH %s", key);
    if (r == NULL) {
        return UA_ERROR;
    }

    freeReplyObject(r);

    r = ua_command(c, "EXISTS %s", key);
    if (r == NULL) {
        return UA_ERROR;
    }

    n = (int) r->integer;
    freeReplyObject(r);

    if (n) {
        ua_error("a token with this digest is stored already: %s"
                 " (token-revoke --digest removes it)", key);
        return UA_ERROR;
    }

    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "HSET %s user %s ws %s role %s perms %s exp %ld",
                       key, argv[1], argv[0], o->role, o->perms, exp);
    n = 3;

    if (exp > now) {
        redisAppendCommand(c, "EXPIREAT %s %ld", key, exp);
        n++;

    } else if (exp) {
        redisAppendCommand(c, "EXPIRE %s %d", key, UA_EXPIRED_KEEP);
        n++;
    }

    redisAppendCommand(c, "EXEC");

    for (i = 0; i < n; i++) {
        if (redisGetReply(c, (void **) &r) != REDIS_OK) {
            ua_error("redis: %s", c->errstr);
            return UA_ERROR;
        }

        if (ua_reply_check(r) == NULL) {
            return UA_ERROR;
        }

        if (i == n - 1 && r->type == REDIS_REPLY_NIL) {
            ua_error("%s was written meanwhile: nothing stored", key);
            freeReplyObject(r);
            return UA_ERROR;
        }

        freeReplyObject(r);
    }

    return UA_OK;
}


static int
ua_cmd_token_revoke(ua_conf_t *cf, int argc, char **argv)
{
    int            rc;
    char           hex[65], key[128];
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

    snprintf(key, sizeof(key), "users:token:%s", digest);

    c = ua_connect_slot(cf, key);
    if (c == NULL) {
        return UA_ERROR;
    }

    r = ua_command(c, "DEL %s", key);
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
 * Pass 1 parses every line and has the library check it (FCALL_RO, nothing
 * written); only when every line passed, pass 2 writes them, one atomic
 * FCALL each. Both pipeline.
 */

static int
ua_import(ua_conf_t *cf, const char *ws, const char *kind, const char *file)
{
    int            rc;
    char          *data, what[128];
    size_t         len;
    double         start;
    redisReply    *r;
    ua_import_t    im;

    memset(&im, 0, sizeof(ua_import_t));

    if (ua_check_ws(ws, im.base, sizeof(im.base)) != UA_OK) {
        return UA_USAGE;
    }

    im.name = file;
    im.kind = kind;
    if (kind) {
        snprintf(what, sizeof(what), "\"%s\" objects", kind);

    } else {
        strcpy(what, "users");
    }

    start = ua_now();

    data = ua_read_file(im.name, &len);
    if (data == NULL) {
        return UA_ERROR;
    }

    rc = UA_ERROR;

    im.c = ua_connect_slot(cf, im.base);
    if (im.c == NULL) {
        goto done;
    }

    if (kind == NULL) {
        r = ua_command(im.c, "HGET %s:meta case", im.base);
        if (r == NULL) {
            goto done;
        }

        im.case_spec = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
        freeReplyObject(r);

        if (im.case_spec == NULL) {
            ua_error("out of memory");
            goto done;
        }

        ua_import_folds(&im);
    }

    im.cmd = "FCALL_RO";
    im.fn = kind ? "users_object_validate" : "users_validate";

    if (ua_import_pass(&im, data, len) != UA_OK) {
        if (im.bad) {
            ua_error("%s: %ld invalid line%s, nothing written", im.name,
                     im.bad, im.bad == 1 ? "" : "s");
        }

        goto done;
    }

    im.cmd = "FCALL";
    im.fn = kind ? "users_object_upsert" : "users_upsert";
    im.writing = 1;
    im.done = 0;

    if (ua_import_pass(&im, data, len) != UA_OK) {
        ua_error("%s: import stopped, %ld %s written", im.name, im.done,
                 what);
        goto done;
    }

    printf("users-admin: imported %ld %s into \"%s\" (%ld new) in %.3f s\n",
           im.done, what, ws, im.created, ua_now() - start);
    rc = UA_OK;

done:

    if (im.c) {
        redisFree(im.c);
    }

    free(im.case_spec);
    free(data);

    return rc;
}


/* "role:lower,status:upper" (as users_case stored it) -> im->folds */

static void
ua_import_folds(ua_import_t *im)
{
    size_t       n;
    const char  *p, *colon;

    for (p = im->case_spec; *p; p += n + (p[n] == ',')) {
        n = strcspn(p, ",");
        colon = memchr(p, ':', n);

        if (colon == NULL || im->nfolds == UA_MAX_FOLDS) {
            continue;
        }

        im->folds[im->nfolds].name = p;
        im->folds[im->nfolds].len = colon - p;
        im->folds[im->nfolds].upper = (p + n - colon == 6
                                       && memcmp(colon, ":upper", 6) == 0);
        im->nfolds++;
    }
}


/*
 * Walks the input line by line, sending each as "<im->cmd> <im->fn>", at
 * most 2 * UA_WINDOW commands in flight. Checking, it goes through every
 * line; writing, it sends nothing more after a refusal. Bad lines are
 * reported in their order.
 */

static int
ua_import_pass(ua_import_t *im, const char *data, size_t len)
{
    long          lineno;
    size_t        n;
    const char   *p, *end, *nl;
    ua_line_t     l;

    memset(&l, 0, sizeof(ua_line_t));

    end = data + len;
    lineno = 0;

    for (p = data; p < end && !im->failed; p = nl ? nl + 1 : end) {
        nl = memchr(p, '\n', end - p);
        n = (nl ? nl : end) - p;
        lineno++;

        if (n && p[n - 1] == '\r') {
            n--;
        }

        if (strspn(p, " \t") >= n) {            /* a blank line */
            continue;
        }

        if (im->writing && im->bad) {
            break;
        }

        if (ua_line_parse(&l, im, p, n) != UA_OK) {
            /* the replies of the lines before it first */
            ua_import_flush(im, im->pending);
            ua_import_bad(im, lineno, l.err);
            continue;
        }

        if (ua_import_send(im, &l, lineno) != UA_OK) {
            break;
        }
    }

    ua_line_free(&l);

    /* all that was appended has been sent: read (and report) every reply */

    ua_import_flush(im, im->pending);

    return (im->failed || im->bad) ? UA_ERROR : UA_OK;
}


static int
ua_import_send(ua_import_t *im, ua_line_t *l, long lineno)
{
    if (redisAppendCommandArgv(im->c, l->argc, (const char **) l->argv,
                               l->argvlen)
        != REDIS_OK)
    {
        ua_error("%s:%ld: out of memory", im->name, lineno);
        im->failed = 1;
        return UA_ERROR;
    }

    im->lines[(im->head + im->pending++) % (2 * UA_WINDOW)] = lineno;

    /*
     * reading one window while another is buffered keeps Redis busy
     * while the next window is parsed
     */

    if (im->pending == 2 * UA_WINDOW) {
        ua_import_flush(im, UA_WINDOW);
    }

    return im->failed ? UA_ERROR : UA_OK;
}


/*
 * Reads the n oldest replies. A refusal by the library is the line's
 * fault; any other error (no library, a lost connection) stops the import.
 */

static void
ua_import_flush(ua_import_t *im, int n)
{
    int          i;
    long         line;
    redisReply  *r;

    for (i = 0; i < n && !im->failed; i++) {
        line = im->lines[im->head];
        im->head = (im->head + 1) % (2 * UA_WINDOW);
        im->pending--;

        if (redisGetReply(im->c, (void **) &r) != REDIS_OK) {
            ua_error("%s:%ld: redis: %s", im->name, line, im->c->errstr);
            im->failed = 1;
            return;
        }

        if (r->type != REDIS_REPLY_ERROR) {
            im->done++;
            im->created += (r->type == REDIS_REPLY_INTEGER && r->integer);

        } else if (strncasecmp(r->str, "ERR users", 9) == 0) {
            ua_import_bad(im, line, ua_library_error(r->str));

        } else {
            ua_error("%s:%ld: redis: %s", im->name, line, r->str);
            im->failed = 1;
        }

        freeReplyObject(r);
    }
}


static void
ua_import_bad(ua_import_t *im, long lineno, const char *msg)
{
    if (++im->bad <= UA_REPORT) {
        ua_error("%s:%ld: %s", im->name, lineno, msg);
    }
}


/* JSON line -> FCALL arguments --------------------------------------------- */


/*
 * "<cmd> <fn> 1 users:{ws} [kind] <id> <field> <value> ...": the fixed
 * arguments, then the flattened fields in the order of the line
 */

static int
ua_line_parse(ua_line_t *l, ua_import_t *im, const char *s, size_t len)
{
    int            ok;
    unsigned char *msg;
    yajl_handle    h;
    yajl_status    st;

    ua_line_reset(l);

    l->folds = im->folds;
    l->nfolds = im->nfolds;

    if (ua_line_arg(l, im->cmd, strlen(im->cmd)) != UA_OK
        || ua_line_arg(l, im->fn, strlen(im->fn)) != UA_OK
        || ua_line_arg(l, "1", 1) != UA_OK
        || ua_line_arg(l, im->base, strlen(im->base)) != UA_OK
        || (im->kind && ua_line_arg(l, im->kind, strlen(im->kind)) != UA_OK)
        || ua_line_arg(l, "", 0) != UA_OK)                /* the id */
    {
        return UA_ERROR;
    }

    l->fixed = l->argc;

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


/* the top-level "id" goes to the last fixed argument */

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

    free(l->argv[l->fixed - 1]);
    l->argv[l->fixed - 1] = id;
    l->argvlen[l->fixed - 1] = len;
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

    for (i = l->fixed; i < l->argc; i += 2) {
        if (l->argvlen[i] == l->path.len
            && memcmp(l->argv[i], l->path.data, l->path.len) == 0)
        {
            snprintf(l->err, sizeof(l->err), "duplicate field \"%.*s\"",
                     (int) l->path.len, l->path.data);
            return 0;
        }
    }

    if (ua_line_arg(l, l->path.data, l->path.len) != UA_OK
        || ua_line_arg(l, s, len) != UA_OK)
    {
        return 0;
    }

    ua_line_fold(l);

    return 1;
}


/*
 * The value just added, in the case its field's fold names: in the C
 * locale (setlocale() is never called) toupper() and tolower() change
 * ASCII letters only, as the module's case= does.
 */

static void
ua_line_fold(ua_line_t *l)
{
    int      i;
    char    *v;
    size_t   k;

    for (i = 0; i < l->nfolds; i++) {
        if (l->folds[i].len == l->argvlen[l->argc - 2]
            && memcmp(l->folds[i].name, l->argv[l->argc - 2],
                      l->folds[i].len) == 0)
        {
            v = l->argv[l->argc - 1];

            for (k = 0; k < l->argvlen[l->argc - 1]; k++) {
                v[k] = l->folds[i].upper ? toupper((unsigned char) v[k])
                                         : tolower((unsigned char) v[k]);
            }

            return;
        }
    }
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
        free(l->argv[i]);
    }

    l->argc = 0;
    l->fixed = 0;
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


/*
 * With -c, the primary of the slot of key: asked with EXISTS key,
 * following MOVED. While the slot migrates (ASK, TRYAGAIN) it waits: a
 * library call must find the whole workspace on one node. Without -c,
 * the node of -h/-p.
 */

static redisContext *
ua_connect_slot(ua_conf_t *cf, const char *key)
{
    int            i, waited;
    redisReply    *r;
    redisContext  *c;

    c = ua_connect(cf);

    waited = 0;

    for (i = 0; c != NULL && cf->cluster && i < UA_SLOT_WAIT; i++) {

        r = redisCommand(c, "EXISTS %s", key);
        if (r == NULL) {
            ua_error("Redis: %s", c->errstr);
            redisFree(c);
            return NULL;
        }

        if (r->type != REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            return c;
        }

        if (strncmp(r->str, "MOVED ", 6) == 0) {
            c = ua_moved(cf, c, r->str);
            freeReplyObject(r);
            continue;
        }

        if (strncmp(r->str, "ASK ", 4) != 0
            && strncmp(r->str, "TRYAGAIN", 8) != 0
            && strncmp(r->str, "CLUSTERDOWN", 11) != 0)
        {
            ua_error("Redis: %s", r->str);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }

        if (!waited++) {
            fprintf(stderr, "users-admin: the slot of %s is moving or"
                    " down (%.40s); waiting\n", key, r->str);
        }

        freeReplyObject(r);
        usleep(100000);
    }

    if (c != NULL && cf->cluster) {
        ua_error("the slot of %s did not settle in %d s", key,
                 UA_SLOT_WAIT / 10);
        redisFree(c);
        return NULL;
    }

    return c;
}


/* "MOVED <slot> <ip>:<port>": a connection to that node instead */

static redisContext *
ua_moved(ua_conf_t *cf, redisContext *c, const char *err)
{
    char       host[64];
    const char *addr, *colon;
    ua_conf_t  node;

    redisFree(c);

    addr = strchr(err + 6, ' ');
    colon = addr ? strrchr(addr, ':') : NULL;

    if (colon == NULL || (size_t) (colon - addr - 1) >= sizeof(host)
        || colon == addr + 1)
    {
        ua_error("Redis: %s", err);
        return NULL;
    }

    memcpy(host, addr + 1, colon - addr - 1);
    host[colon - addr - 1] = '\0';

    node = *cf;
    node.host = host;
    node.port = atoi(colon + 1);

    return ua_connect(&node);
}


/*
 * load-functions -c: every primary of CLUSTER NODES ("<id> <ip>:<port>@
 * <bus port> <flags> ..."), replicas get the library by replication
 */

static int
ua_load_primaries(ua_conf_t *cf, const char *code, size_t len,
    const char *path)
{
    int            n, failed;
    char          *line, *next, host[64], flags[128];
    unsigned       port;
    ua_conf_t      node;
    redisReply    *r, *l;
    redisContext  *c, *p;

    c = ua_connect(cf);
    if (c == NULL) {
        return UA_ERROR;
    }

    r = ua_command(c, "CLUSTER NODES");
    redisFree(c);

    if (r == NULL) {
        return UA_ERROR;
    }

    n = 0;
    failed = 0;

    for (line = r->str; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }

        if (sscanf(line, "%*s %63[^:]:%u@%*s %127s", host, &port, flags)
            != 3
            || strstr(flags, "master") == NULL || strstr(flags, "fail"))
        {
            continue;
        }

        node = *cf;
        node.host = host;
        node.port = (int) port;

        p = ua_connect(&node);
        l = p ? ua_command(p, "FUNCTION LOAD REPLACE %b", code, len) : NULL;

        if (l) {
            printf("users-admin: loaded library \"%s\" from %s on %s:%u\n",
                   l->type == REDIS_REPLY_STRING ? l->str : "?", path, host,
                   port);
            freeReplyObject(l);
            n++;

        } else {
            failed++;
        }

        if (p) {
            redisFree(p);
        }
    }

    freeReplyObject(r);

    if (n == 0 && failed == 0) {
        ua_error("no primary in CLUSTER NODES");
        return UA_ERROR;
    }

    return failed ? UA_ERROR : UA_OK;
}

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

    return ua_reply_check(r);
}


static redisReply *
ua_reply_check(redisReply *r)
{
    size_t  i;

    if (r->type == REDIS_REPLY_ERROR) {
        ua_error("%s", ua_library_error(r->str));
        freeReplyObject(r);
        return NULL;
    }

    /* EXEC: an array that may hold errors */
    if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            if (r->element[i]->type == REDIS_REPLY_ERROR) {
                ua_error("%s", ua_library_error(r->element[i]->str));
                freeReplyObject(r);
                return NULL;
            }
        }
    }

    return r;
}


/* the library's "ERR users: what to fix" as "what to fix" */

static const char *
ua_library_error(const char *err)
{
    static char  buf[1024];

    if (strncmp(err, "ERR users: ", 11) == 0) {
        return err + 11;
    }

    snprintf(buf, sizeof(buf), "redis: %s", err);

    return buf;
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

/* Unix seconds as "YYYY-MM-DDThh:mm:ssZ" */

static void
ua_utc(long t, char *buf, size_t size)
{
    time_t     tt;
    struct tm  tm;

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL
        || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        snprintf(buf, size, "%ld", t);
    }
}


static double
ua_now(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return tv.tv_sec + tv.tv_usec / 1e6;
}
