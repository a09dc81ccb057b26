
/*
 * ngx_http_users_module: the store, i.e. queries -> Redis commands -> rows.
 */


#include "ngx_http_users_store.h"


#define NGX_HTTP_USERS_MAX_REFS  1000   /* referenced ids a page expands */
#define NGX_HTTP_USERS_FLAWS     512    /* flaws a worker remembers logging */
#define NGX_HTTP_USERS_SHOW      64     /* bytes of an id in a log line */


static ngx_int_t ngx_http_users_store_index(ngx_pool_t *pool,
    ngx_http_users_query_t *q, ngx_str_t *index);
static ngx_int_t ngx_http_users_store_indexed(ngx_pool_t *pool,
    ngx_str_t *ws, ngx_http_users_query_t *q, ngx_str_t *index,
    ngx_http_users_batch_t *batch);
static ngx_int_t ngx_http_users_store_scan(ngx_pool_t *pool,
    ngx_http_users_loc_conf_t *lcf, ngx_str_t *ws,
    ngx_http_users_query_t *q, ngx_http_users_batch_t *batch);
static ngx_int_t ngx_http_users_store_sort(ngx_pool_t *pool,
    ngx_http_users_query_t *q, ngx_str_t *sort);
static ngx_int_t ngx_http_users_store_program(ngx_array_t *args,
    ngx_http_users_query_t *q);
static ngx_int_t ngx_http_users_store_pred(ngx_array_t *args,
    ngx_http_users_pred_t *pred);
static ngx_int_t ngx_http_users_store_push(ngx_array_t *args, ngx_str_t *s);
static ngx_int_t ngx_http_users_store_push_num(ngx_array_t *args,
    ngx_uint_t n);
static ngx_int_t ngx_http_users_store_num(ngx_pool_t *pool, ngx_uint_t n,
    ngx_http_users_redis_cmd_t *cmd, int i);
static ngx_int_t ngx_http_users_store_cmd(ngx_pool_t *pool,
    ngx_http_users_redis_cmd_t *cmd, int argc);
static ngx_int_t ngx_http_users_store_key(ngx_pool_t *pool, ngx_str_t *ws,
    char *kind, ngx_str_t *name, const char **arg, size_t *len);
static void ngx_http_users_store_word(ngx_http_users_redis_cmd_t *cmd,
    int i, char *word);
static ngx_int_t ngx_http_users_store_ids(ngx_array_t *ids,
    ngx_str_t *value);
static ngx_int_t ngx_http_users_store_fetch(ngx_pool_t *pool,
    ngx_str_t *ws, ngx_str_t *kind, ngx_array_t *sources, ngx_str_t *ids,
    ngx_uint_t n, ngx_http_users_redis_cmd_t *cmd);
static ngx_int_t ngx_http_users_store_row(ngx_http_users_read_t *rd,
    ngx_str_t *kind, ngx_array_t *sources, redisReply *vals, ngx_str_t *id,
    ngx_http_users_row_t *row);
static void ngx_http_users_store_large(ngx_http_users_read_t *rd,
    ngx_str_t *kind, ngx_array_t *sources, redisReply *vals, ngx_str_t *id,
    ngx_http_users_row_t *row);
static void ngx_http_users_store_flaw(ngx_http_users_read_t *rd,
    ngx_str_t *kind, ngx_str_t *id, ngx_str_t *field, long long size);
static uint32_t ngx_http_users_store_fnv(uint32_t h, ngx_str_t *s);
static void ngx_http_users_store_show(ngx_str_t *shown, u_char *buf,
    ngx_str_t *id);
static ngx_int_t ngx_http_users_store_copy(ngx_pool_t *pool,
    redisReply *reply, ngx_str_t *s);


/* the kind of users' keys: users:{ws}:u:<id> */
static ngx_str_t  ngx_http_users_store_u = ngx_string("u");


ngx_int_t
ngx_http_users_store_page(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *ws, ngx_http_users_query_t *q, ngx_http_users_batch_t *batch)
{
    ngx_str_t  index;

    switch (ngx_http_users_store_index(pool, q, &index)) {

    case NGX_OK:
        batch->scan = 0;
        return ngx_http_users_store_indexed(pool, ws, q, &index, batch);

    case NGX_DECLINED:
        batch->scan = 1;
        return ngx_http_users_store_scan(pool, lcf, ws, q, batch);

    default:
        return NGX_ERROR;
    }
}


/*
 * The index that answers q in order, if one does: "last_name", or
 * "last_name:status=active" for a single-valued filter on an enum whose
 * restricted copies the workspace keeps (users_filter ... indexed).
 */

static ngx_int_t
ngx_http_users_store_index(ngx_pool_t *pool, ngx_http_users_query_t *q,
    ngx_str_t *index)
{
    ngx_str_t                  *v;
    ngx_http_users_pred_t      *pred;
    ngx_http_users_filter_t    *f;
    ngx_http_users_sort_key_t  *key;

    if (q->sort.nelts != 1 || q->preds.nelts > 1) {
        return NGX_DECLINED;
    }

    key = q->sort.elts;

    if (q->preds.nelts == 0) {
        *index = key->by->field;
        return NGX_OK;
    }

    pred = q->preds.elts;
    f = pred->filter;

    if (!f->indexed || f->op != NGX_HTTP_USERS_FILTER_IN
        || pred->values.nelts != 1)
    {
        return NGX_DECLINED;
    }

    v = pred->values.elts;

    index->len = key->by->field.len + 2 + f->field.len + v->len;
    index->data = ngx_pnalloc(pool, index->len);
    if (index->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(index->data, "%V:%V=%V", &key->by->field, &f->field, v);

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_store_indexed(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_http_users_query_t *q, ngx_str_t *index,
    ngx_http_users_batch_t *batch)
{
    ngx_uint_t                   desc;
    ngx_http_users_redis_cmd_t  *cmd;
    ngx_http_users_sort_key_t   *key;

    key = q->sort.elts;
    desc = key->desc;

    static ngx_str_t  meta = ngx_string("meta");

    cmd = ngx_pcalloc(pool, 5 * sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    batch->cmds = cmd;
    batch->n = 5;

    if (ngx_http_users_store_cmd(pool, &cmd[0], 1) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[1], 2) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[2], desc ? 5 : 4) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[3], 3) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[4], 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(&cmd[0], 0, "MULTI");
    ngx_http_users_store_word(&cmd[1], 0, "ZCARD");
    ngx_http_users_store_word(&cmd[2], 0, "ZRANGE");
    ngx_http_users_store_word(&cmd[3], 0, "HGET");
    ngx_http_users_store_word(&cmd[3], 2, "ver");
    ngx_http_users_store_word(&cmd[4], 0, "EXEC");

    if (ngx_http_users_store_key(pool, ws, "ix", index,
                                 &cmd[1].argv[1], &cmd[1].argvlen[1])
        != NGX_OK
        || ngx_http_users_store_key(pool, ws, NULL, &meta,
                                    &cmd[3].argv[1], &cmd[3].argvlen[1])
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    cmd[2].argv[1] = cmd[1].argv[1];
    cmd[2].argvlen[1] = cmd[1].argvlen[1];

    if (ngx_http_users_store_num(pool, q->offset, &cmd[2], 2) != NGX_OK
        || ngx_http_users_store_num(pool, q->offset + q->limit - 1,
                                    &cmd[2], 3)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (desc) {
        ngx_http_users_store_word(&cmd[2], 4, "REV");
    }

    return NGX_OK;
}


/*
 * FCALL_RO users_query 1 users:{ws} <offset> <limit> <scan limit> <sort>
 *          <n> <field>... <program>...
 */

static ngx_int_t
ngx_http_users_store_scan(ngx_pool_t *pool, ngx_http_users_loc_conf_t *lcf,
    ngx_str_t *ws, ngx_http_users_query_t *q, ngx_http_users_batch_t *batch)
{
    ngx_str_t                   *src, *arg, key, sort;
    ngx_uint_t                   i;
    ngx_array_t                  args;
    ngx_http_users_redis_cmd_t  *cmd;

    static ngx_str_t  words[] = {
        ngx_string("FCALL_RO"), ngx_string("users_query"), ngx_string("1")
    };

    if (ngx_array_init(&args, pool, 32, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_users_store_key(pool, ws, NULL, NULL,
                                 (const char **) &key.data, &key.len)
        != NGX_OK
        || ngx_http_users_store_sort(pool, q, &sort) != NGX_OK)
    {
        return NGX_ERROR;
    }

    arg = ngx_array_push_n(&args, 4);
    if (arg == NULL) {
        return NGX_ERROR;
    }

    arg[0] = words[0];
    arg[1] = words[1];
    arg[2] = words[2];
    arg[3] = key;

    if (ngx_http_users_store_push_num(&args, q->offset) != NGX_OK
        || ngx_http_users_store_push_num(&args, q->limit) != NGX_OK
        || ngx_http_users_store_push_num(&args, lcf->scan_limit) != NGX_OK
        || ngx_http_users_store_push(&args, &sort) != NGX_OK
        || ngx_http_users_store_push_num(&args, lcf->sources->nelts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    src = lcf->sources->elts;

    for (i = 0; i < lcf->sources->nelts; i++) {
        if (ngx_http_users_store_push(&args, &src[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_users_store_program(&args, q) != NGX_OK) {
        return NGX_ERROR;
    }

    cmd = ngx_pcalloc(pool, sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL || ngx_http_users_store_cmd(pool, cmd, args.nelts)
                       != NGX_OK)
    {
        return NGX_ERROR;
    }

    arg = args.elts;

    for (i = 0; i < args.nelts; i++) {
        cmd->argv[i] = (char *) arg[i].data;
        cmd->argvlen[i] = arg[i].len;
    }

    batch->cmds = cmd;
    batch->n = 1;

    return NGX_OK;
}


/* "last_name:str:a,id:str:d": the keys; users_query breaks ties by id */

static ngx_int_t
ngx_http_users_store_sort(ngx_pool_t *pool, ngx_http_users_query_t *q,
    ngx_str_t *sort)
{
    u_char                     *p;
    size_t                      len;
    ngx_uint_t                  i;
    ngx_http_users_sort_key_t  *key;

    static char  *kinds[] = { "str", "int", "time" };

    key = q->sort.elts;
    len = 0;

    for (i = 0; i < q->sort.nelts; i++) {
        len += key[i].by->field.len + sizeof(":time:a,");
    }

    sort->data = ngx_pnalloc(pool, len + 1);
    if (sort->data == NULL) {
        return NGX_ERROR;
    }

    p = sort->data;

    for (i = 0; i < q->sort.nelts; i++) {
        p = ngx_sprintf(p, "%s%V:%s:%c", i ? "," : "", &key[i].by->field,
                        kinds[key[i].by->kind], key[i].desc ? 'd' : 'a');
    }

    sort->len = p - sort->data;

    return NGX_OK;
}


/* the predicates as a users_query program: all of them must hold */

static ngx_int_t
ngx_http_users_store_program(ngx_array_t *args, ngx_http_users_query_t *q)
{
    ngx_str_t               word;
    ngx_uint_t              i;
    ngx_http_users_pred_t  *pred;

    pred = q->preds.elts;

    if (q->preds.nelts > 1) {
        ngx_str_set(&word, "and");

        if (ngx_http_users_store_push(args, &word) != NGX_OK
            || ngx_http_users_store_push_num(args, q->preds.nelts) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < q->preds.nelts; i++) {
        if (ngx_http_users_store_pred(args, &pred[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_store_pred(ngx_array_t *args, ngx_http_users_pred_t *pred)
{
    ngx_str_t                *v, *t, word, kind;
    ngx_uint_t                i;
    ngx_http_users_filter_t  *f;

    static ngx_str_t  kinds[] = {
        ngx_string("str"), ngx_string("int"), ngx_string("time")
    };

    f = pred->filter;
    v = pred->values.elts;

    switch (f->op) {

    case NGX_HTTP_USERS_FILTER_IN:
    case NGX_HTTP_USERS_FILTER_MEMBER:
        if (f->op == NGX_HTTP_USERS_FILTER_IN) {
            ngx_str_set(&word, "in");
        } else {
            ngx_str_set(&word, "member");
        }

        if (ngx_http_users_store_push(args, &word) != NGX_OK
            || ngx_http_users_store_push(args, &f->field) != NGX_OK
            || ngx_http_users_store_push_num(args, pred->values.nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < pred->values.nelts; i++) {
            if (ngx_http_users_store_push(args, &v[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case NGX_HTTP_USERS_FILTER_SCOPE:
        ngx_str_set(&word, "scope");

        if (ngx_http_users_store_push(args, &word) != NGX_OK
            || ngx_http_users_store_push(args, &f->field) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_users_store_push(args, &v[0]);

    case NGX_HTTP_USERS_FILTER_SEARCH:
        ngx_str_set(&word, "search");
        t = f->fields->elts;

        if (ngx_http_users_store_push(args, &word) != NGX_OK
            || ngx_http_users_store_push_num(args, f->fields->nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < f->fields->nelts; i++) {
            if (ngx_http_users_store_push(args, &t[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return ngx_http_users_store_push(args, &v[0]);

    case NGX_HTTP_USERS_FILTER_ODATA:
        t = pred->tokens->elts;

        if (pred->tokens->nelts == 0) {
            ngx_str_set(&word, "true");
            return ngx_http_users_store_push(args, &word);
        }

        for (i = 0; i < pred->tokens->nelts; i++) {
            if (ngx_http_users_store_push(args, &t[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    default: /* EQ, FROM, TO: cmp <op> <field> <kind> <value> */
        ngx_str_set(&word, "cmp");
        kind = kinds[f->kind];

        if (ngx_http_users_store_push(args, &word) != NGX_OK) {
            return NGX_ERROR;
        }

        if (f->op == NGX_HTTP_USERS_FILTER_EQ) {
            ngx_str_set(&word, "eq");
        } else if (f->op == NGX_HTTP_USERS_FILTER_FROM) {
            ngx_str_set(&word, "ge");
        } else {
            ngx_str_set(&word, "le");
        }

        if (ngx_http_users_store_push(args, &word) != NGX_OK
            || ngx_http_users_store_push(args, &f->field) != NGX_OK
            || ngx_http_users_store_push(args, &kind) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_users_store_push(args, &v[0]);
    }
}


static ngx_int_t
ngx_http_users_store_push(ngx_array_t *args, ngx_str_t *s)
{
    ngx_str_t  *arg;

    arg = ngx_array_push(args);
    if (arg == NULL) {
        return NGX_ERROR;
    }

    *arg = *s;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_store_push_num(ngx_array_t *args, ngx_uint_t n)
{
    ngx_str_t  s;

    s.data = ngx_pnalloc(args->pool, NGX_INT_T_LEN);
    if (s.data == NULL) {
        return NGX_ERROR;
    }

    s.len = ngx_sprintf(s.data, "%ui", n) - s.data;

    return ngx_http_users_store_push(args, &s);
}


static ngx_int_t
ngx_http_users_store_num(ngx_pool_t *pool, ngx_uint_t n,
    ngx_http_users_redis_cmd_t *cmd, int i)
{
    u_char  *p;

    p = ngx_pnalloc(pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cmd->argv[i] = (char *) p;
    cmd->argvlen[i] = ngx_sprintf(p, "%ui", n) - p;

    return NGX_OK;
}


/* FCALL_RO users_rows 1 users:{ws} <kind> <n> <fields...> <ids...> */

static ngx_int_t
ngx_http_users_store_fetch(ngx_pool_t *pool, ngx_str_t *ws, ngx_str_t *kind,
    ngx_array_t *sources, ngx_str_t *ids, ngx_uint_t n,
    ngx_http_users_redis_cmd_t *cmd)
{
    ngx_str_t   *src;
    ngx_uint_t   i, k;

    k = 6 + sources->nelts;

    if (ngx_http_users_store_cmd(pool, cmd, k + n) != NGX_OK
        || ngx_http_users_store_key(pool, ws, NULL, NULL, &cmd->argv[3],
                                    &cmd->argvlen[3])
           != NGX_OK
        || ngx_http_users_store_num(pool, sources->nelts, cmd, 5) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(cmd, 0, "FCALL_RO");
    ngx_http_users_store_word(cmd, 1, "users_rows");
    ngx_http_users_store_word(cmd, 2, "1");

    cmd->argv[4] = (char *) kind->data;
    cmd->argvlen[4] = kind->len;

    src = sources->elts;

    for (i = 0; i < sources->nelts; i++) {
        cmd->argv[6 + i] = (char *) src[i].data;
        cmd->argvlen[6 + i] = src[i].len;
    }

    for (i = 0; i < n; i++) {
        cmd->argv[k + i] = (char *) ids[i].data;
        cmd->argvlen[k + i] = ids[i].len;
    }

    return NGX_OK;
}


/* EXEC -> [ZCARD integer, ZRANGE array of "<sort key>\0<id>", ver] */

ngx_int_t
ngx_http_users_store_page_reply(ngx_pool_t *pool, redisReply *reply,
    ngx_http_users_result_t *res)
{
    u_char      *p, *last;
    size_t       i;
    ngx_str_t   *id;
    redisReply  *range, *m;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return NGX_DECLINED;
    }

    res->total = reply->element[0]->integer;
    range = reply->element[1];

    ngx_str_null(&res->version);

    if (reply->element[2]->type == REDIS_REPLY_STRING
        && ngx_http_users_store_copy(pool, reply->element[2], &res->version)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_array_init(&res->ids, pool, ngx_max(range->elements, 1),
                       sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < range->elements; i++) {
        m = range->element[i];

        if (m->type != REDIS_REPLY_STRING) {
            return NGX_DECLINED;
        }

        /* the id follows the last NUL; a member without one is an id */

        last = (u_char *) m->str + m->len;
        p = last;

        while (p > (u_char *) m->str && p[-1] != '\0') {
            p--;
        }

        id = ngx_array_push(&res->ids);

        id->len = last - p;
        id->data = ngx_pnalloc(pool, id->len + 1);
        if (id->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(id->data, p, id->len);
    }

    return NGX_OK;
}


/* FCALL_RO users_rows 1 users:{ws} u <n> <fields...> <ids...> */

ngx_int_t
ngx_http_users_store_rows(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_array_t *sources, ngx_http_users_result_t *res,
    ngx_http_users_batch_t *batch)
{
    ngx_http_users_redis_cmd_t  *cmd;

    cmd = ngx_pcalloc(pool, sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL
        || ngx_http_users_store_fetch(pool, ws, &ngx_http_users_store_u,
                                      sources, res->ids.elts,
                                      res->ids.nelts, cmd)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    batch->cmds = cmd;
    batch->n = 1;

    return NGX_OK;
}


/* the ids the rows refer to, each once, for every expansion asked for */

ngx_int_t
ngx_http_users_store_collect(ngx_pool_t *pool, ngx_array_t *sources,
    ngx_array_t *rows, ngx_array_t *expansions)
{
    ngx_str_t                   *src, *from;
    ngx_uint_t                   i, j, k, n;
    ngx_http_users_row_t        *row;
    ngx_http_users_expansion_t  *x;

    x = expansions->elts;
    src = sources->elts;
    row = rows->elts;

    for (i = 0; i < expansions->nelts; i++) {

        if (ngx_array_init(&x[i].ids, pool, 8, sizeof(ngx_str_t)) != NGX_OK
            || ngx_array_init(&x[i].rows, pool, 8,
                              sizeof(ngx_http_users_row_t))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        from = x[i].expand->from->elts;

        for (j = 0; j < x[i].expand->from->nelts; j++) {

            for (k = 0; k < sources->nelts; k++) {
                if (src[k].len == from[j].len
                    && ngx_strncmp(src[k].data, from[j].data, from[j].len)
                       == 0)
                {
                    break;
                }
            }

            if (k == sources->nelts) {
                continue;           /* not a field of this location */
            }

            for (n = 0; n < rows->nelts; n++) {
                if (ngx_http_users_store_ids(&x[i].ids, &row[n].values[k])
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    return NGX_OK;
}


/* "1,2" -> ids 1 and 2, unless already there */

static ngx_int_t
ngx_http_users_store_ids(ngx_array_t *ids, ngx_str_t *value)
{
    u_char      *p, *last, *comma;
    ngx_str_t   *id, *have;
    ngx_uint_t   i;

    p = value->data;
    last = value->data + value->len;

    for ( /* void */ ; p && p < last; p = comma + 1) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (comma == p || ids->nelts == NGX_HTTP_USERS_MAX_REFS) {
            continue;
        }

        have = ids->elts;

        for (i = 0; i < ids->nelts; i++) {
            if (have[i].len == (size_t) (comma - p)
                && ngx_strncmp(have[i].data, p, comma - p) == 0)
            {
                break;
            }
        }

        if (i < ids->nelts) {
            continue;
        }

        id = ngx_array_push(ids);
        if (id == NULL) {
            return NGX_ERROR;
        }

        id->data = p;
        id->len = comma - p;
    }

    return NGX_OK;
}


/* MULTI, FCALL_RO users_rows for each kind with ids, EXEC */

ngx_int_t
ngx_http_users_store_refs(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_array_t *expansions, ngx_http_users_batch_t *batch)
{
    ngx_uint_t                   i, n;
    ngx_http_users_redis_cmd_t  *cmd;
    ngx_http_users_expansion_t  *x;

    x = expansions->elts;
    n = 0;

    for (i = 0; i < expansions->nelts; i++) {
        n += (x[i].ids.nelts > 0);
    }

    cmd = ngx_pcalloc(pool, (n + 2) * sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL
        || ngx_http_users_store_cmd(pool, &cmd[0], 1) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[n + 1], 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(&cmd[0], 0, "MULTI");
    ngx_http_users_store_word(&cmd[n + 1], 0, "EXEC");

    batch->cmds = cmd;
    batch->n = n + 2;
    batch->scan = 0;

    cmd++;

    for (i = 0; i < expansions->nelts; i++) {
        if (x[i].ids.nelts == 0) {
            continue;
        }

        if (ngx_http_users_store_fetch(pool, ws, &x[i].expand->key,
                                       x[i].expand->sources, x[i].ids.elts,
                                       x[i].ids.nelts, cmd++)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * EXEC -> a users_rows reply for each kind with ids; objects that do not
 * exist, or whose key is not a hash, are left out
 */

ngx_int_t
ngx_http_users_store_refs_reply(ngx_http_users_read_t *rd, redisReply *reply,
    ngx_array_t *expansions)
{
    size_t                       e, j;
    ngx_int_t                    rc;
    ngx_str_t                   *id;
    ngx_uint_t                   i;
    redisReply                  *rows;
    ngx_http_users_row_t        *row;
    ngx_http_users_expansion_t  *x;

    if (reply->type != REDIS_REPLY_ARRAY) {
        return NGX_DECLINED;
    }

    x = expansions->elts;
    e = 0;

    for (i = 0; i < expansions->nelts; i++) {
        if (x[i].ids.nelts == 0) {
            continue;
        }

        if (e >= reply->elements) {
            return NGX_DECLINED;
        }

        rows = reply->element[e++];
        id = x[i].ids.elts;

        if (rows->type != REDIS_REPLY_ARRAY
            || rows->elements != x[i].ids.nelts)
        {
            return NGX_DECLINED;
        }

        for (j = 0; j < rows->elements; j++) {
            row = ngx_array_push(&x[i].rows);
            if (row == NULL) {
                return NGX_ERROR;
            }

            rc = ngx_http_users_store_row(rd, &x[i].expand->key,
                                          x[i].expand->sources,
                                          rows->element[j], &id[j], row);
            if (rc == NGX_DECLINED || rc == NGX_ERROR) {
                return rc;
            }

            if (rc != NGX_OK) {
                x[i].rows.nelts--;
            }
        }
    }

    return e == reply->elements ? NGX_OK : NGX_DECLINED;
}


/* FCALL_RO users_rows 1 users:{ws} u <n> <fields...> <id> */

ngx_int_t
ngx_http_users_store_user(ngx_pool_t *pool, ngx_str_t *ws, ngx_str_t *id,
    ngx_array_t *sources, ngx_http_users_batch_t *batch)
{
    ngx_http_users_redis_cmd_t  *cmd;

    cmd = ngx_pcalloc(pool, sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL
        || ngx_http_users_store_fetch(pool, ws, &ngx_http_users_store_u,
                                      sources, id, 1, cmd)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    batch->cmds = cmd;
    batch->n = 1;
    batch->scan = 0;

    return NGX_OK;
}


/*
 * NGX_OK: the row (a user whose key is not a hash has its id alone);
 * NGX_ABORT: no such user; NGX_DECLINED: not users_rows's reply
 */

ngx_int_t
ngx_http_users_store_user_reply(ngx_http_users_read_t *rd, redisReply *reply,
    ngx_str_t *id, ngx_http_users_row_t *row)
{
    ngx_int_t  rc;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1) {
        return NGX_DECLINED;
    }

    rc = ngx_http_users_store_row(rd, &ngx_http_users_store_u, rd->sources,
                                  reply->element[0], id, row);

    return rc == NGX_AGAIN ? NGX_OK : rc;
}


/*
 * users_rows -> a row a user. A user deleted between the two round trips
 * comes back all nil and is left out of the page.
 */

ngx_int_t
ngx_http_users_store_rows_reply(ngx_http_users_read_t *rd, redisReply *reply,
    ngx_http_users_result_t *res)
{
    size_t                 i;
    ngx_int_t              rc;
    ngx_str_t             *id;
    ngx_http_users_row_t  *row;

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != res->ids.nelts)
    {
        return NGX_DECLINED;
    }

    if (ngx_array_init(&res->rows, rd->pool, ngx_max(reply->elements, 1),
                       sizeof(ngx_http_users_row_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    id = res->ids.elts;

    for (i = 0; i < reply->elements; i++) {
        row = ngx_array_push(&res->rows);
        if (row == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_users_store_row(rd, &ngx_http_users_store_u,
                                      rd->sources, reply->element[i], &id[i],
                                      row);
        if (rc == NGX_DECLINED || rc == NGX_ERROR) {
            return rc;
        }

        if (rc == NGX_ABORT) {
            res->rows.nelts--;
        }
    }

    return NGX_OK;
}


/* users_query -> [total, examined, row...] (rows as users_rows sends) */

ngx_int_t
ngx_http_users_store_scan_reply(ngx_http_users_read_t *rd, redisReply *reply,
    ngx_http_users_result_t *res)
{
    size_t                 i;
    ngx_int_t              rc;
    ngx_http_users_row_t  *row;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0)
    {
        return NGX_DECLINED;
    }

    res->total = reply->element[0]->integer;

    if (ngx_array_init(&res->rows, rd->pool,
                       ngx_max(reply->elements - 2, 1),
                       sizeof(ngx_http_users_row_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 2; i < reply->elements; i++) {
        row = ngx_array_push(&res->rows);
        if (row == NULL) {
            return NGX_ERROR;
        }

        /* a match whose fields are all absent is still a match */

        rc = ngx_http_users_store_row(rd, &ngx_http_users_store_u,
                                      rd->sources, reply->element[i], NULL,
                                      row);
        if (rc == NGX_DECLINED || rc == NGX_ERROR) {
            return rc;
        }
    }

    return NGX_OK;
}


/*
 * A row as users_rows and users_query send it (docs/SCHEMA.md, "Rows"):
 * an array of the values of the sources, each a string, nil (absent) or
 * an integer (the length of a value too large to send, read as absent);
 * or a string: the id of an object whose key is not a hash, read with
 * every value absent but a source "id", which holds that id. id is the
 * object's id when the caller knows it.
 *
 * NGX_OK: a row; NGX_ABORT: every value nil, no such object; NGX_AGAIN:
 * the key is not a hash; NGX_DECLINED: not a row.
 */

static ngx_int_t
ngx_http_users_store_row(ngx_http_users_read_t *rd, ngx_str_t *kind,
    ngx_array_t *sources, redisReply *vals, ngx_str_t *id,
    ngx_http_users_row_t *row)
{
    size_t       j, n;
    ngx_str_t   *src, name;
    ngx_uint_t   present, large;
    redisReply  *v;

    n = sources->nelts;
    src = sources->elts;

    row->values = ngx_pcalloc(rd->pool, ngx_max(n, 1) * sizeof(ngx_str_t));
    if (row->values == NULL) {
        return NGX_ERROR;
    }

    if (vals->type == REDIS_REPLY_STRING) {
        if (ngx_http_users_store_copy(rd->pool, vals, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        for (j = 0; j < n; j++) {
            if (src[j].len == 2 && ngx_strncmp(src[j].data, "id", 2) == 0) {
                row->values[j] = name;
            }
        }

        ngx_http_users_store_flaw(rd, kind, &name, NULL, 0);

        return NGX_AGAIN;
    }

    if (vals->type != REDIS_REPLY_ARRAY || vals->elements != n) {
        return NGX_DECLINED;
    }

    present = 0;
    large = 0;

    for (j = 0; j < n; j++) {
        v = vals->element[j];

        switch (v->type) {

        case REDIS_REPLY_NIL:
            continue;

        case REDIS_REPLY_INTEGER:
            present = 1;
            large = 1;
            continue;

        case REDIS_REPLY_STRING:
            present = 1;

            if (ngx_http_users_store_copy(rd->pool, v, &row->values[j])
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;

        default:
            return NGX_DECLINED;
        }
    }

    if (large) {
        ngx_http_users_store_large(rd, kind, sources, vals, id, row);
    }

    return present ? NGX_OK : NGX_ABORT;
}


/* logs the values users_rows did not send, naming the key and field */

static void
ngx_http_users_store_large(ngx_http_users_read_t *rd, ngx_str_t *kind,
    ngx_array_t *sources, redisReply *vals, ngx_str_t *id,
    ngx_http_users_row_t *row)
{
    size_t      j;
    ngx_str_t  *src, unknown;

    src = sources->elts;

    /* a row of users_query: its id, if it shows one */

    for (j = 0; id == NULL && j < sources->nelts; j++) {
        if (src[j].len == 2 && ngx_strncmp(src[j].data, "id", 2) == 0
            && row->values[j].data != NULL)
        {
            id = &row->values[j];
        }
    }

    if (id == NULL) {
        ngx_str_set(&unknown, "?");
        id = &unknown;
    }

    for (j = 0; j < sources->nelts; j++) {
        if (vals->element[j]->type == REDIS_REPLY_INTEGER) {
            ngx_http_users_store_flaw(rd, kind, id, &src[j],
                                      vals->element[j]->integer);
        }
    }
}


/*
 * Logs an object that cannot be shown as stored: its key is not a hash
 * (field NULL), or the value of field is too large to send. Once per key
 * (and field) and worker, as long as the line is among the last
 * NGX_HTTP_USERS_FLAWS remembered: a page that shows it on every request
 * does not log on every request.
 */

static void
ngx_http_users_store_flaw(ngx_http_users_read_t *rd, ngx_str_t *kind,
    ngx_str_t *id, ngx_str_t *field, long long size)
{
    u_char      buf[NGX_HTTP_USERS_SHOW * 4];
    uint32_t    h;
    ngx_str_t   shown;
    ngx_uint_t  slot;

    static uint32_t  logged[NGX_HTTP_USERS_FLAWS];

    h = 2166136261u;            /* FNV-1a over "ws:kind:id:field" */

    h = ngx_http_users_store_fnv(h, rd->ws);
    h = ngx_http_users_store_fnv(h, kind);
    h = ngx_http_users_store_fnv(h, id);

    if (field) {
        h = ngx_http_users_store_fnv(h, field);
    }

    h |= 1;                     /* 0 is an empty slot */
    slot = h % NGX_HTTP_USERS_FLAWS;

    if (logged[slot] == h) {
        return;
    }

    logged[slot] = h;

    ngx_http_users_store_show(&shown, buf, id);

    if (field == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "users: users:{%V}:%V:%V is not a hash, read as absent",
                      rd->ws, kind, &shown);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "users: field \"%V\" of users:{%V}:%V:%V is %O bytes, "
                  "too large to send, read as absent",
                  field, rd->ws, kind, &shown, (off_t) size);
}


static uint32_t
ngx_http_users_store_fnv(uint32_t h, ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        h = (h ^ s->data[i]) * 16777619u;
    }

    return (h ^ ':') * 16777619u;
}


/* an id as printable ASCII (\xHH otherwise), at most 64 bytes of it */

static void
ngx_http_users_store_show(ngx_str_t *shown, u_char *buf, ngx_str_t *id)
{
    u_char   c, *d;
    size_t   i;

    static u_char  hex[] = "0123456789ABCDEF";

    d = buf;

    for (i = 0; i < ngx_min(id->len, NGX_HTTP_USERS_SHOW); i++) {
        c = id->data[i];

        if (c > 0x20 && c < 0x7f && c != '\\' && c != '"') {
            *d++ = c;
            continue;
        }

        *d++ = '\\';
        *d++ = 'x';
        *d++ = hex[c >> 4];
        *d++ = hex[c & 0xf];
    }

    shown->data = buf;
    shown->len = d - buf;
}


static ngx_int_t
ngx_http_users_store_copy(ngx_pool_t *pool, redisReply *reply, ngx_str_t *s)
{
    if (reply->type != REDIS_REPLY_STRING) {
        return NGX_DECLINED;
    }

    /* never the empty string's NULL: data == NULL means null */

    s->len = reply->len;
    s->data = ngx_pnalloc(pool, reply->len + 1);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, reply->str, reply->len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_store_cmd(ngx_pool_t *pool, ngx_http_users_redis_cmd_t *cmd,
    int argc)
{
    cmd->argc = argc;

    cmd->argv = ngx_palloc(pool, argc * sizeof(char *));
    cmd->argvlen = ngx_palloc(pool, argc * sizeof(size_t));

    if (cmd->argv == NULL || cmd->argvlen == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_users_store_word(ngx_http_users_redis_cmd_t *cmd, int i, char *word)
{
    cmd->argv[i] = word;
    cmd->argvlen[i] = ngx_strlen(word);
}


/*
 * "users:{<ws>}:<kind>:<name>", "users:{<ws>}:<name>" (kind NULL), or
 * the base "users:{<ws>}" (both NULL)
 */

static ngx_int_t
ngx_http_users_store_key(ngx_pool_t *pool, ngx_str_t *ws, char *kind,
    ngx_str_t *name, const char **arg, size_t *len)
{
    u_char  *p, *key;
    size_t   size;

    size = sizeof("users:{}::") - 1 + ws->len
           + (kind ? ngx_strlen(kind) : 0) + (name ? name->len : 0);

    key = ngx_pnalloc(pool, size);
    if (key == NULL) {
        return NGX_ERROR;
    }

    if (kind == NULL && name == NULL) {
        p = ngx_sprintf(key, "users:{%V}", ws);

    } else if (kind == NULL) {
        p = ngx_sprintf(key, "users:{%V}:%V", ws, name);

    } else {
        p = ngx_sprintf(key, "users:{%V}:%s:%V", ws, kind, name);
    }

    *arg = (char *) key;
    *len = p - key;

    return NGX_OK;
}
