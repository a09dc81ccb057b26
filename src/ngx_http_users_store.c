
/*
 * ngx_http_users_module: the store, i.e. queries -> Redis commands -> rows.
 */


#include "ngx_http_users_store.h"


static ngx_int_t ngx_http_users_store_cmd(ngx_pool_t *pool,
    ngx_http_users_redis_cmd_t *cmd, int argc);
static ngx_int_t ngx_http_users_store_key(ngx_pool_t *pool, ngx_str_t *ws,
    char *kind, ngx_str_t *name, const char **arg, size_t *len);
static void ngx_http_users_store_word(ngx_http_users_redis_cmd_t *cmd,
    int i, char *word);
static ngx_int_t ngx_http_users_store_copy(ngx_pool_t *pool,
    redisReply *reply, ngx_str_t *s);


ngx_int_t
ngx_http_users_store_page(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_http_users_query_t *q, ngx_http_users_batch_t *batch)
{
    u_char                      *p;
    ngx_http_users_redis_cmd_t  *cmd;

    cmd = ngx_pcalloc(pool, 4 * sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    batch->cmds = cmd;
    batch->n = 4;

    if (ngx_http_users_store_cmd(pool, &cmd[0], 1) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[1], 2) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[2], q->desc ? 5 : 4) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[3], 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(&cmd[0], 0, "MULTI");

    ngx_http_users_store_word(&cmd[1], 0, "ZCARD");

    if (ngx_http_users_store_key(pool, ws, "ix", &q->sort,
                                 &cmd[1].argv[1], &cmd[1].argvlen[1])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(&cmd[2], 0, "ZRANGE");
    cmd[2].argv[1] = cmd[1].argv[1];
    cmd[2].argvlen[1] = cmd[1].argvlen[1];

    p = ngx_pnalloc(pool, 2 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cmd[2].argv[2] = (char *) p;
    p = ngx_sprintf(p, "%ui", q->offset);
    cmd[2].argvlen[2] = (u_char *) p - (u_char *) cmd[2].argv[2];

    cmd[2].argv[3] = (char *) p;
    p = ngx_sprintf(p, "%ui", q->offset + q->limit - 1);
    cmd[2].argvlen[3] = (u_char *) p - (u_char *) cmd[2].argv[3];

    if (q->desc) {
        ngx_http_users_store_word(&cmd[2], 4, "REV");
    }

    ngx_http_users_store_word(&cmd[3], 0, "EXEC");

    return NGX_OK;
}


/* EXEC -> [ZCARD integer, ZRANGE array of "<sort key>\0<id>"] */

ngx_int_t
ngx_http_users_store_page_reply(ngx_pool_t *pool, redisReply *reply,
    ngx_http_users_result_t *res)
{
    u_char      *p, *last;
    size_t       i;
    ngx_str_t   *id;
    redisReply  *range, *m;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return NGX_DECLINED;
    }

    res->total = reply->element[0]->integer;
    range = reply->element[1];

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


ngx_int_t
ngx_http_users_store_rows(ngx_pool_t *pool, ngx_str_t *ws,
    ngx_array_t *sources, ngx_http_users_result_t *res,
    ngx_http_users_batch_t *batch)
{
    ngx_str_t                   *id, *src;
    ngx_uint_t                   i, j, n;
    ngx_http_users_redis_cmd_t  *cmd;

    n = res->ids.nelts;
    id = res->ids.elts;
    src = sources->elts;

    cmd = ngx_pcalloc(pool, (n + 2) * sizeof(ngx_http_users_redis_cmd_t));
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    batch->cmds = cmd;
    batch->n = n + 2;

    if (ngx_http_users_store_cmd(pool, &cmd[0], 1) != NGX_OK
        || ngx_http_users_store_cmd(pool, &cmd[n + 1], 1) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_users_store_word(&cmd[0], 0, "MULTI");
    ngx_http_users_store_word(&cmd[n + 1], 0, "EXEC");

    for (i = 0; i < n; i++) {
        if (ngx_http_users_store_cmd(pool, &cmd[i + 1], 2 + sources->nelts)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_users_store_word(&cmd[i + 1], 0, "HMGET");

        if (ngx_http_users_store_key(pool, ws, "u", &id[i],
                                     &cmd[i + 1].argv[1],
                                     &cmd[i + 1].argvlen[1])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (j = 0; j < sources->nelts; j++) {
            cmd[i + 1].argv[2 + j] = (char *) src[j].data;
            cmd[i + 1].argvlen[2 + j] = src[j].len;
        }
    }

    return NGX_OK;
}


/*
 * EXEC -> one HMGET array a user. A user deleted between the two round
 * trips comes back all nil and is left out of the page.
 */

ngx_int_t
ngx_http_users_store_rows_reply(ngx_pool_t *pool, redisReply *reply,
    ngx_uint_t nsources, ngx_http_users_result_t *res)
{
    size_t                 i, j;
    ngx_uint_t             found;
    redisReply            *vals;
    ngx_http_users_row_t  *row;

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != res->ids.nelts)
    {
        return NGX_DECLINED;
    }

    if (ngx_array_init(&res->rows, pool, ngx_max(reply->elements, 1),
                       sizeof(ngx_http_users_row_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < reply->elements; i++) {
        vals = reply->element[i];

        if (vals->type != REDIS_REPLY_ARRAY || vals->elements != nsources) {
            return NGX_DECLINED;
        }

        row = ngx_array_push(&res->rows);
        if (row == NULL) {
            return NGX_ERROR;
        }

        row->values = ngx_pcalloc(pool, nsources * sizeof(ngx_str_t));
        if (row->values == NULL) {
            return NGX_ERROR;
        }

        found = 0;

        for (j = 0; j < nsources; j++) {
            if (vals->element[j]->type == REDIS_REPLY_NIL) {
                continue;
            }

            if (ngx_http_users_store_copy(pool, vals->element[j],
                                          &row->values[j])
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            found = 1;
        }

        if (!found) {
            res->rows.nelts--;
        }
    }

    return NGX_OK;
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


/* "users:{<ws>}:<kind>:<name>" */

static ngx_int_t
ngx_http_users_store_key(ngx_pool_t *pool, ngx_str_t *ws, char *kind,
    ngx_str_t *name, const char **arg, size_t *len)
{
    u_char  *p, *key;
    size_t   size;

    size = sizeof("users:{}::") - 1 + ws->len + ngx_strlen(kind) + name->len;

    key = ngx_pnalloc(pool, size);
    if (key == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(key, "users:{%V}:%s:%V", ws, kind, name);

    *arg = (char *) key;
    *len = p - key;

    return NGX_OK;
}
