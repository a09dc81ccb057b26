
/*
 * ngx_http_users_module: the OData 4.0 $filter subset -> a prefix program.
 *
 *     or      := and ("or" and)*
 *     and     := unary ("and" unary)*
 *     unary   := "not" unary | "(" or ")" | field op 'literal'
 *
 * Words run until whitespace, a parenthesis or a quote, so operators need
 * whitespace around them except next to parentheses and quotes.
 */


#include "ngx_http_users_odata.h"


#define NGX_HTTP_USERS_ODATA_END        0
#define NGX_HTTP_USERS_ODATA_LPAREN     1
#define NGX_HTTP_USERS_ODATA_RPAREN     2
#define NGX_HTTP_USERS_ODATA_STRING     3
#define NGX_HTTP_USERS_ODATA_WORD       4

/* node types, also indexes into ngx_http_users_odata_words[] */
#define NGX_HTTP_USERS_ODATA_AND        0
#define NGX_HTTP_USERS_ODATA_OR         1
#define NGX_HTTP_USERS_ODATA_NOT        2
#define NGX_HTTP_USERS_ODATA_CMP        3

#define NGX_HTTP_USERS_ODATA_SHOW       20    /* input bytes in a message */
#define NGX_HTTP_USERS_ODATA_SHOWN      96    /* 20 x "\xHH" + "..." */
#define NGX_HTTP_USERS_ODATA_ERRLEN     512


typedef struct {
    ngx_uint_t                      type;
    u_char                         *start;
    size_t                          len;         /* quotes included */
} ngx_http_users_odata_tok_t;


typedef struct ngx_http_users_odata_node_s  ngx_http_users_odata_node_t;

struct ngx_http_users_odata_node_s {
    ngx_uint_t                      type;
    ngx_uint_t                      n;           /* children of and, or */
    ngx_http_users_odata_node_t    *child;
    ngx_http_users_odata_node_t    *last;
    ngx_http_users_odata_node_t    *next;
    ngx_str_t                      *op;
    ngx_http_users_odata_field_t   *field;
    ngx_str_t                       value;
};


typedef struct {
    ngx_pool_t                     *pool;
    ngx_str_t                      *text;
    ngx_http_users_odata_field_t   *fields;
    ngx_uint_t                      nfields;
    ngx_str_t                      *err;
    ngx_http_users_odata_tok_t      tok;         /* the current token */
    ngx_http_users_odata_tok_t      prev;        /* len 0: none yet */
    ngx_uint_t                      depth;
    ngx_uint_t                      ncmp;
} ngx_http_users_odata_ctx_t;


static ngx_int_t ngx_http_users_odata_next(ngx_http_users_odata_ctx_t *ctx);
static ngx_int_t ngx_http_users_odata_expr(ngx_http_users_odata_ctx_t *ctx,
    ngx_uint_t type, ngx_http_users_odata_node_t **np);
static void ngx_http_users_odata_adopt(ngx_http_users_odata_node_t *node,
    ngx_http_users_odata_node_t *sub);
static ngx_int_t ngx_http_users_odata_unary(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np);
static ngx_int_t ngx_http_users_odata_group(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np);
static ngx_int_t ngx_http_users_odata_not(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np);
static ngx_int_t ngx_http_users_odata_cmp(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_field_t *field, ngx_http_users_odata_node_t **np);
static ngx_int_t ngx_http_users_odata_value(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t *node);
static ngx_int_t ngx_http_users_odata_unknown(ngx_http_users_odata_ctx_t *ctx);
static ngx_int_t ngx_http_users_odata_junk(ngx_http_users_odata_ctx_t *ctx,
    char *expected);
static ngx_int_t ngx_http_users_odata_fail(ngx_http_users_odata_ctx_t *ctx,
    const char *fmt, ...);
static ngx_str_t *ngx_http_users_odata_show(ngx_str_t *s, u_char *buf,
    u_char *p, size_t len);
static ngx_http_users_odata_field_t *ngx_http_users_odata_field(
    ngx_http_users_odata_ctx_t *ctx, ngx_uint_t caseless);
static ngx_str_t *ngx_http_users_odata_find(ngx_http_users_odata_tok_t *tok,
    ngx_str_t *words, ngx_uint_t caseless);
static ngx_int_t ngx_http_users_odata_emit(ngx_pool_t *pool,
    ngx_http_users_odata_node_t *node, ngx_array_t *out);
static ngx_int_t ngx_http_users_datetime_digits(u_char *p, ngx_uint_t n);
static ngx_int_t ngx_http_users_datetime_offset(u_char *p, u_char *last);


/* indexed by node type */
static ngx_str_t  ngx_http_users_odata_words[] = {
    ngx_string("and"),
    ngx_string("or"),
    ngx_string("not"),
    ngx_string("cmp")
};


static ngx_str_t  ngx_http_users_odata_logic[] = {
    ngx_string("and"),
    ngx_string("or"),
    ngx_string("not"),
    ngx_null_string
};


static ngx_str_t  ngx_http_users_odata_ops[] = {
    ngx_string("eq"),
    ngx_string("ne"),
    ngx_string("gt"),
    ngx_string("ge"),
    ngx_string("lt"),
    ngx_string("le"),
    ngx_null_string
};


static ngx_str_t  ngx_http_users_odata_kinds[] = {
    ngx_string("str"),
    ngx_string("time")
};


#define ngx_http_users_odata_is(tok, s)                                      \
    ((tok)->type == NGX_HTTP_USERS_ODATA_WORD                                \
     && (tok)->len == sizeof(s) - 1                                          \
     && ngx_memcmp((tok)->start, s, sizeof(s) - 1) == 0)

#define ngx_http_users_odata_word(tok, w)                                    \
    ((tok)->type == NGX_HTTP_USERS_ODATA_WORD                                \
     && (tok)->len == (w)->len                                               \
     && ngx_memcmp((tok)->start, (w)->data, (w)->len) == 0)

#define ngx_http_users_odata_pos(ctx, p)                                     \
    ((size_t) ((p) - (ctx)->text->data) + 1)


ngx_int_t
ngx_http_users_odata_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_http_users_odata_field_t *fields, ngx_uint_t nfields,
    ngx_array_t *out, ngx_str_t *err)
{
    ngx_int_t                     rc;
    ngx_http_users_odata_ctx_t    ctx;
    ngx_http_users_odata_node_t  *root;

    ngx_str_null(err);

    if (text->len > NGX_HTTP_USERS_ODATA_MAX_LEN) {
        ngx_str_set(err, "filter longer than 1024 bytes");
        return NGX_DECLINED;
    }

    if (text->len == 0) {
        ngx_str_set(err, "empty filter");
        return NGX_DECLINED;
    }

    ngx_memzero(&ctx, sizeof(ngx_http_users_odata_ctx_t));

    ctx.pool = pool;
    ctx.text = text;
    ctx.fields = fields;
    ctx.nfields = nfields;
    ctx.err = err;
    ctx.tok.start = text->data;

    rc = ngx_http_users_odata_next(&ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx.tok.type == NGX_HTTP_USERS_ODATA_END) {
        ngx_str_set(err, "empty filter");
        return NGX_DECLINED;
    }

    rc = ngx_http_users_odata_expr(&ctx, NGX_HTTP_USERS_ODATA_OR, &root);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx.tok.type == NGX_HTTP_USERS_ODATA_RPAREN) {
        return ngx_http_users_odata_fail(&ctx,
                                   "unbalanced parenthesis at character %uz",
                                   ngx_http_users_odata_pos(&ctx,
                                                            ctx.tok.start));
    }

    if (ctx.tok.type != NGX_HTTP_USERS_ODATA_END) {
        return ngx_http_users_odata_junk(&ctx,
                                       "\"and\", \"or\" or the end");
    }

    return ngx_http_users_odata_emit(pool, root, out);
}


static ngx_int_t
ngx_http_users_odata_next(ngx_http_users_odata_ctx_t *ctx)
{
    u_char                      *p, *last;
    ngx_http_users_odata_tok_t  *tok;

    tok = &ctx->tok;
    ctx->prev = *tok;

    p = tok->start + tok->len;
    last = ctx->text->data + ctx->text->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    tok->start = p;
    tok->len = 1;

    if (p == last) {
        tok->type = NGX_HTTP_USERS_ODATA_END;
        tok->len = 0;
        return NGX_OK;
    }

    switch (*p) {

    case '(':
        tok->type = NGX_HTTP_USERS_ODATA_LPAREN;
        return NGX_OK;

    case ')':
        tok->type = NGX_HTTP_USERS_ODATA_RPAREN;
        return NGX_OK;

    case '\'':
        for (p++; p < last; p++) {
            if (*p != '\'') {
                continue;
            }

            if (p + 1 < last && p[1] == '\'') {
                p++;
                continue;
            }

            tok->type = NGX_HTTP_USERS_ODATA_STRING;
            tok->len = p + 1 - tok->start;
            return NGX_OK;
        }

        return ngx_http_users_odata_fail(ctx,
                          "unterminated string starting at character %uz",
                          ngx_http_users_odata_pos(ctx, tok->start));

    default:
        while (p < last && *p != ' ' && *p != '\t' && *p != '('
               && *p != ')' && *p != '\'')
        {
            p++;
        }

        tok->type = NGX_HTTP_USERS_ODATA_WORD;
        tok->len = p - tok->start;
        return NGX_OK;
    }
}


/* type: NGX_HTTP_USERS_ODATA_OR over "and"s, _AND over unaries */

static ngx_int_t
ngx_http_users_odata_expr(ngx_http_users_odata_ctx_t *ctx, ngx_uint_t type,
    ngx_http_users_odata_node_t **np)
{
    ngx_int_t                     rc;
    ngx_str_t                    *word;
    ngx_http_users_odata_node_t  *node, *sub;

    word = &ngx_http_users_odata_words[type];
    node = NULL;

    for ( ;; ) {
        if (type == NGX_HTTP_USERS_ODATA_OR) {
            rc = ngx_http_users_odata_expr(ctx, NGX_HTTP_USERS_ODATA_AND,
                                           &sub);

        } else {
            rc = ngx_http_users_odata_unary(ctx, &sub);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        if (node == NULL) {
            if (!ngx_http_users_odata_word(&ctx->tok, word)) {
                *np = sub;
                return NGX_OK;
            }

            node = ngx_pcalloc(ctx->pool, sizeof(ngx_http_users_odata_node_t));
            if (node == NULL) {
                return NGX_ERROR;
            }

            node->type = type;
        }

        ngx_http_users_odata_adopt(node, sub);

        if (!ngx_http_users_odata_word(&ctx->tok, word)) {
            *np = node;
            return NGX_OK;
        }

        rc = ngx_http_users_odata_next(ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }
}


static void
ngx_http_users_odata_adopt(ngx_http_users_odata_node_t *node,
    ngx_http_users_odata_node_t *sub)
{
    ngx_http_users_odata_node_t  *first, *last;
    ngx_uint_t                    n;

    if (sub->type == node->type) {
        /* "(a and b) and c": flatten */
        first = sub->child;
        last = sub->last;
        n = sub->n;

    } else {
        sub->next = NULL;
        first = sub;
        last = sub;
        n = 1;
    }

    if (node->child == NULL) {
        node->child = first;

    } else {
        node->last->next = first;
    }

    node->last = last;
    node->n += n;
}


static ngx_int_t
ngx_http_users_odata_unary(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np)
{
    ngx_int_t                      rc;
    ngx_str_t                      found;
    u_char                         buf[NGX_HTTP_USERS_ODATA_SHOWN];
    ngx_http_users_odata_tok_t    *tok;
    ngx_http_users_odata_field_t  *field;

    tok = &ctx->tok;

    if (tok->type == NGX_HTTP_USERS_ODATA_LPAREN
        || ngx_http_users_odata_is(tok, "not"))
    {
        if (ctx->depth == NGX_HTTP_USERS_ODATA_MAX_DEPTH) {
            return ngx_http_users_odata_fail(ctx,
                              "nesting deeper than 32 levels at character %uz",
                              ngx_http_users_odata_pos(ctx, tok->start));
        }

        ctx->depth++;

        if (tok->type == NGX_HTTP_USERS_ODATA_LPAREN) {
            rc = ngx_http_users_odata_group(ctx, np);

        } else {
            rc = ngx_http_users_odata_not(ctx, np);
        }

        ctx->depth--;

        return rc;
    }

    if (tok->type == NGX_HTTP_USERS_ODATA_STRING) {
        return ngx_http_users_odata_fail(ctx,
                   "a comparison starts with a field name, as in "
                   "field eq 'value': found \"%V\" at character %uz",
                   ngx_http_users_odata_show(&found, buf, tok->start,
                                             tok->len),
                   ngx_http_users_odata_pos(ctx, tok->start));
    }

    if (tok->type != NGX_HTTP_USERS_ODATA_WORD
        || ngx_http_users_odata_find(tok, ngx_http_users_odata_logic, 1)
        || ngx_http_users_odata_find(tok, ngx_http_users_odata_ops, 1))
    {
        return ngx_http_users_odata_junk(ctx, "a condition");
    }

    field = ngx_http_users_odata_field(ctx, 0);
    if (field == NULL) {
        return ngx_http_users_odata_unknown(ctx);
    }

    return ngx_http_users_odata_cmp(ctx, field, np);
}


static ngx_int_t
ngx_http_users_odata_group(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np)
{
    u_char     *lparen;
    ngx_int_t   rc;

    lparen = ctx->tok.start;

    rc = ngx_http_users_odata_next(ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_users_odata_expr(ctx, NGX_HTTP_USERS_ODATA_OR, np);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->tok.type == NGX_HTTP_USERS_ODATA_RPAREN) {
        return ngx_http_users_odata_next(ctx);
    }

    if (ctx->tok.type == NGX_HTTP_USERS_ODATA_END) {
        return ngx_http_users_odata_fail(ctx,
                                      "unclosed parenthesis at character %uz",
                                      ngx_http_users_odata_pos(ctx, lparen));
    }

    return ngx_http_users_odata_junk(ctx, "\"and\", \"or\" or \")\"");
}


static ngx_int_t
ngx_http_users_odata_not(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t **np)
{
    ngx_int_t                     rc;
    ngx_http_users_odata_node_t  *node;

    node = ngx_pcalloc(ctx->pool, sizeof(ngx_http_users_odata_node_t));
    if (node == NULL) {
        return NGX_ERROR;
    }

    node->type = NGX_HTTP_USERS_ODATA_NOT;

    rc = ngx_http_users_odata_next(ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_users_odata_unary(ctx, &node->child);
    if (rc != NGX_OK) {
        return rc;
    }

    *np = node;

    return NGX_OK;
}


/* the current token is the field's name */

static ngx_int_t
ngx_http_users_odata_cmp(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_field_t *field, ngx_http_users_odata_node_t **np)
{
    ngx_int_t                     rc;
    ngx_http_users_odata_node_t  *node;

    if (ctx->ncmp == NGX_HTTP_USERS_ODATA_MAX_CMP) {
        return ngx_http_users_odata_fail(ctx,
                                "more than 64 comparisons at character %uz",
                                ngx_http_users_odata_pos(ctx, ctx->tok.start));
    }

    ctx->ncmp++;

    node = ngx_pcalloc(ctx->pool, sizeof(ngx_http_users_odata_node_t));
    if (node == NULL) {
        return NGX_ERROR;
    }

    node->type = NGX_HTTP_USERS_ODATA_CMP;
    node->field = field;

    rc = ngx_http_users_odata_next(ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    node->op = ngx_http_users_odata_find(&ctx->tok, ngx_http_users_odata_ops,
                                         0);
    if (node->op == NULL) {
        return ngx_http_users_odata_junk(ctx, "a comparison operator "
                                         "(eq, ne, gt, ge, lt, le)");
    }

    rc = ngx_http_users_odata_next(ctx);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->tok.type != NGX_HTTP_USERS_ODATA_STRING) {
        return ngx_http_users_odata_junk(ctx, "a quoted value");
    }

    rc = ngx_http_users_odata_value(ctx, node);
    if (rc != NGX_OK) {
        return rc;
    }

    *np = node;

    return ngx_http_users_odata_next(ctx);
}


static ngx_int_t
ngx_http_users_odata_value(ngx_http_users_odata_ctx_t *ctx,
    ngx_http_users_odata_node_t *node)
{
    u_char                      *p, *last, *d;
    ngx_str_t                    shown;
    u_char                       buf[NGX_HTTP_USERS_ODATA_SHOWN];
    ngx_http_users_odata_tok_t  *tok;

    tok = &ctx->tok;

    /* the lexer left only doubled quotes inside */

    p = tok->start + 1;
    last = tok->start + tok->len - 1;

    d = ngx_pnalloc(ctx->pool, last - p + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    node->value.data = d;

    while (p < last) {
        *d++ = *p;
        p += (*p == '\'') ? 2 : 1;
    }

    node->value.len = d - node->value.data;

    if (node->field->kind != NGX_HTTP_USERS_ODATA_TIME
        || ngx_http_users_datetime_valid(node->value.data, node->value.len))
    {
        return NGX_OK;
    }

    return ngx_http_users_odata_fail(ctx,
               "invalid date-time \"%V\" at character %uz "
               "(use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])",
               ngx_http_users_odata_show(&shown, buf, node->value.data,
                                         node->value.len),
               ngx_http_users_odata_pos(ctx, tok->start));
}


/* the current token is a word, neither an operator nor a known field */

static ngx_int_t
ngx_http_users_odata_unknown(ngx_http_users_odata_ctx_t *ctx)
{
    ngx_str_t                      found, name;
    u_char                         buf[NGX_HTTP_USERS_ODATA_SHOWN];
    u_char                         nbuf[NGX_HTTP_USERS_ODATA_SHOWN];
    ngx_http_users_odata_tok_t    *tok;
    ngx_http_users_odata_field_t  *field;

    tok = &ctx->tok;

    ngx_http_users_odata_show(&found, buf, tok->start, tok->len);

    field = ngx_http_users_odata_field(ctx, 1);
    if (field == NULL) {
        return ngx_http_users_odata_fail(ctx,
                                      "unknown field \"%V\" at character %uz",
                                      &found,
                                      ngx_http_users_odata_pos(ctx,
                                                               tok->start));
    }

    return ngx_http_users_odata_fail(ctx,
                  "unknown field \"%V\" at character %uz "
                  "(field names are case-sensitive: \"%V\")",
                  &found, ngx_http_users_odata_pos(ctx, tok->start),
                  ngx_http_users_odata_show(&name, nbuf, field->name.data,
                                            field->name.len));
}


static ngx_int_t
ngx_http_users_odata_junk(ngx_http_users_odata_ctx_t *ctx, char *expected)
{
    size_t                       pos;
    ngx_str_t                    found, prev;
    u_char                       fbuf[NGX_HTTP_USERS_ODATA_SHOWN];
    u_char                       pbuf[NGX_HTTP_USERS_ODATA_SHOWN];
    ngx_http_users_odata_tok_t  *tok;

    tok = &ctx->tok;
    pos = ngx_http_users_odata_pos(ctx, tok->start);

    ngx_http_users_odata_show(&found, fbuf, tok->start, tok->len);
    ngx_http_users_odata_show(&prev, pbuf, ctx->prev.start, ctx->prev.len);

    if ((ngx_http_users_odata_find(tok, ngx_http_users_odata_logic, 1)
         && !ngx_http_users_odata_find(tok, ngx_http_users_odata_logic, 0))
        || (ngx_http_users_odata_find(tok, ngx_http_users_odata_ops, 1)
            && !ngx_http_users_odata_find(tok, ngx_http_users_odata_ops, 0)))
    {
        return ngx_http_users_odata_fail(ctx,
                                      "operators are lowercase: found \"%V\" "
                                      "at character %uz", &found, pos);
    }

    if (tok->type == NGX_HTTP_USERS_ODATA_WORD && tok->start[0] == '"') {
        return ngx_http_users_odata_fail(ctx,
                       "strings are in single quotes: found \"%V\" "
                       "at character %uz", &found, pos);
    }

    if (ctx->prev.len == 0) {
        return ngx_http_users_odata_fail(ctx,
                                   "expected %s, found \"%V\" at character %uz",
                                   expected, &found, pos);
    }

    if (tok->type == NGX_HTTP_USERS_ODATA_END) {
        return ngx_http_users_odata_fail(ctx,
                                  "expected %s after \"%V\" at character %uz",
                                  expected, &prev, pos);
    }

    return ngx_http_users_odata_fail(ctx,
                          "expected %s after \"%V\", found \"%V\" "
                          "at character %uz", expected, &prev, &found, pos);
}


static ngx_int_t
ngx_http_users_odata_fail(ngx_http_users_odata_ctx_t *ctx,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(ctx->pool, NGX_HTTP_USERS_ODATA_ERRLEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    ctx->err->len = ngx_vslprintf(p, p + NGX_HTTP_USERS_ODATA_ERRLEN, fmt,
                                  args)
                    - p;
    va_end(args);

    ctx->err->data = p;

    return NGX_DECLINED;
}


/* at most 20 bytes, as printable ASCII, to go between double quotes */

static ngx_str_t *
ngx_http_users_odata_show(ngx_str_t *s, u_char *buf, u_char *p, size_t len)
{
    u_char         *d;
    size_t          n;
    static u_char   hex[] = "0123456789ABCDEF";

    d = buf;

    for (n = ngx_min(len, NGX_HTTP_USERS_ODATA_SHOW); n; n--, p++) {

        if (*p == '"' || *p == '\\') {
            *d++ = '\\';
            *d++ = *p;

        } else if (*p >= 0x20 && *p < 0x7f) {
            *d++ = *p;

        } else {
            *d++ = '\\';
            *d++ = 'x';
            *d++ = hex[*p >> 4];
            *d++ = hex[*p & 0xf];
        }
    }

    if (len > NGX_HTTP_USERS_ODATA_SHOW) {
        d = ngx_cpymem(d, "...", 3);
    }

    s->data = buf;
    s->len = d - buf;

    return s;
}


static ngx_http_users_odata_field_t *
ngx_http_users_odata_field(ngx_http_users_odata_ctx_t *ctx,
    ngx_uint_t caseless)
{
    ngx_uint_t                     i;
    ngx_http_users_odata_tok_t    *tok;
    ngx_http_users_odata_field_t  *f;

    tok = &ctx->tok;

    for (i = 0; i < ctx->nfields; i++) {
        f = &ctx->fields[i];

        if (f->name.len != tok->len) {
            continue;
        }

        if (caseless
            ? ngx_strncasecmp(f->name.data, tok->start, tok->len) == 0
            : ngx_memcmp(f->name.data, tok->start, tok->len) == 0)
        {
            return f;
        }
    }

    return NULL;
}


static ngx_str_t *
ngx_http_users_odata_find(ngx_http_users_odata_tok_t *tok, ngx_str_t *words,
    ngx_uint_t caseless)
{
    ngx_str_t  *w;

    if (tok->type != NGX_HTTP_USERS_ODATA_WORD) {
        return NULL;
    }

    for (w = words; w->len; w++) {
        if (w->len != tok->len) {
            continue;
        }

        if (caseless
            ? ngx_strncasecmp(w->data, tok->start, tok->len) == 0
            : ngx_memcmp(w->data, tok->start, tok->len) == 0)
        {
            return w;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_users_odata_emit(ngx_pool_t *pool,
    ngx_http_users_odata_node_t *node, ngx_array_t *out)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                    *s;
    ngx_http_users_odata_node_t  *sub;

    if (node->type == NGX_HTTP_USERS_ODATA_CMP) {
        s = ngx_array_push_n(out, 5);
        if (s == NULL) {
            return NGX_ERROR;
        }

        s[0] = ngx_http_users_odata_words[NGX_HTTP_USERS_ODATA_CMP];
        s[1] = *node->op;
        s[2] = node->field->source;
        s[3] = ngx_http_users_odata_kinds[node->field->kind
                                          == NGX_HTTP_USERS_ODATA_TIME];
        s[4] = node->value;

        return NGX_OK;
    }

    s = ngx_array_push_n(out, node->type == NGX_HTTP_USERS_ODATA_NOT ? 1 : 2);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s[0] = ngx_http_users_odata_words[node->type];

    if (node->type == NGX_HTTP_USERS_ODATA_NOT) {
        return ngx_http_users_odata_emit(pool, node->child, out);
    }

    p = ngx_pnalloc(pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s[1].data = p;
    s[1].len = ngx_sprintf(p, "%ui", node->n) - p;

    for (sub = node->child; sub; sub = sub->next) {
        rc = ngx_http_users_odata_emit(pool, sub, out);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_users_datetime_valid(u_char *p, size_t len)
{
    u_char     *last;
    ngx_int_t   year, month, day, hour, min, sec, mdays;
    size_t      n;

    static ngx_int_t  days[] = { 31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31 };

    if (len < 10 || p[4] != '-' || p[7] != '-') {
        return 0;
    }

    year = ngx_http_users_datetime_digits(p, 4);
    month = ngx_http_users_datetime_digits(p + 5, 2);
    day = ngx_http_users_datetime_digits(p + 8, 2);

    if (year < 0 || month < 1 || month > 12 || day < 1) {
        return 0;
    }

    mdays = days[month - 1];

    if (month == 2
        && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
    {
        mdays = 29;
    }

    if (day > mdays) {
        return 0;
    }

    if (len == 10) {
        return 1;
    }

    if (len < 19 || (p[10] != 'T' && p[10] != 't') || p[13] != ':'
        || p[16] != ':')
    {
        return 0;
    }

    hour = ngx_http_users_datetime_digits(p + 11, 2);
    min = ngx_http_users_datetime_digits(p + 14, 2);
    sec = ngx_http_users_datetime_digits(p + 17, 2);

    if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60) {
        return 0;
    }

    last = p + len;
    p += 19;

    if (p < last && *p == '.') {
        for (p++, n = 0; p < last && *p >= '0' && *p <= '9'; p++, n++) {
            /* void */
        }

        if (n < 1 || n > 9) {
            return 0;
        }
    }

    return ngx_http_users_datetime_offset(p, last);
}


/* n digits as a number, or -1 */

static ngx_int_t
ngx_http_users_datetime_digits(u_char *p, ngx_uint_t n)
{
    ngx_int_t  v;

    for (v = 0; n; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    return v;
}


/* 1 if nothing (UTC), "Z", "+hh:mm" or "-hh:mm" */

static ngx_int_t
ngx_http_users_datetime_offset(u_char *p, u_char *last)
{
    ngx_int_t  hour, min;

    if (p == last) {
        return 1;
    }

    if (*p == 'Z' || *p == 'z') {
        return last - p == 1;
    }

    if ((*p != '+' && *p != '-') || last - p != 6 || p[3] != ':') {
        return 0;
    }

    hour = ngx_http_users_datetime_digits(p + 1, 2);
    min = ngx_http_users_datetime_digits(p + 4, 2);

    if (hour < 0 || hour > 23 || min < 0 || min > 59) {
        return 0;
    }

    return 1;
}
