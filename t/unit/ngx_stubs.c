
/*
 * The few nginx core functions the parsers link against (OData, query
 * string, store replies, JSON), for the unit tests and the fuzzers, built
 * without nginx's build system.
 *
 * Every pool allocation is its own malloc() so that AddressSanitizer sees
 * overruns; ngx_stub_fail_at = n makes the n-th allocation fail.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_stubs.h"


ngx_uint_t  ngx_stub_fail_at;
ngx_uint_t  ngx_stub_allocs;


ngx_pool_t *
ngx_create_pool(size_t size, ngx_log_t *log)
{
    ngx_pool_t  *pool;

    pool = calloc(1, sizeof(ngx_pool_t));
    if (pool == NULL) {
        abort();
    }

    pool->log = log;

    return pool;
}


void
ngx_destroy_pool(ngx_pool_t *pool)
{
    ngx_pool_large_t  *l, *next;

    for (l = pool->large; l; l = next) {
        next = l->next;
        free(l->alloc);
        free(l);
    }

    free(pool);
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    ngx_pool_large_t  *l;

    if (ngx_stub_fail_at && ++ngx_stub_allocs == ngx_stub_fail_at) {
        return NULL;
    }

    l = malloc(sizeof(ngx_pool_large_t));
    if (l == NULL) {
        abort();
    }

    l->alloc = malloc(size ? size : 1);
    if (l->alloc == NULL) {
        abort();
    }

    l->next = pool->large;
    pool->large = l;

    return l->alloc;
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = ngx_palloc(pool, size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


ngx_array_t *
ngx_array_create(ngx_pool_t *p, ngx_uint_t n, size_t size)
{
    ngx_array_t  *a;

    a = ngx_palloc(p, sizeof(ngx_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (ngx_array_init(a, p, n, size) != NGX_OK) {
        return NULL;
    }

    return a;
}


void *
ngx_array_push_n(ngx_array_t *a, ngx_uint_t n)
{
    void        *new;
    ngx_uint_t   nalloc;

    if (a->nelts + n > a->nalloc) {
        nalloc = 2 * ngx_max(n, a->nalloc);

        new = ngx_palloc(a->pool, nalloc * a->size);
        if (new == NULL) {
            return NULL;
        }

        if (a->nelts) {
            memcpy(new, a->elts, a->nelts * a->size);
        }

        a->elts = new;
        a->nalloc = nalloc;
    }

    new = (u_char *) a->elts + a->size * a->nelts;
    a->nelts += n;

    return new;
}


void *
ngx_array_push(ngx_array_t *a)
{
    return ngx_array_push_n(a, 1);
}


ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    ngx_uint_t  c1, c2;

    while (n) {
        c1 = (ngx_uint_t) *s1++;
        c2 = (ngx_uint_t) *s2++;

        c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;
        c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;

        if (c1 == c2) {
            if (c1) {
                n--;
                continue;
            }

            return 0;
        }

        return c1 - c2;
    }

    return 0;
}


/* the subset the parsers use: %V %s %*s %uz %ui %i %O %d %c %% */

u_char *
ngx_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    char        num[32];
    u_char     *s;
    size_t      len;
    ngx_str_t  *v;

    while (*fmt && buf < last) {

        if (*fmt != '%') {
            *buf++ = *fmt++;
            continue;
        }

        fmt++;

        if (fmt[0] == 'V') {
            v = va_arg(args, ngx_str_t *);
            s = v->data;
            len = v->len;
            fmt++;

        } else if (fmt[0] == 's') {
            s = va_arg(args, u_char *);
            len = strlen((char *) s);
            fmt++;

        } else if (fmt[0] == '*' && fmt[1] == 's') {
            len = va_arg(args, size_t);
            s = va_arg(args, u_char *);
            fmt += 2;

        } else if (fmt[0] == 'i') {
            len = snprintf(num, sizeof(num), "%ld",
                           (long) va_arg(args, ngx_int_t));
            s = (u_char *) num;
            fmt++;

        } else if (fmt[0] == 'O') {
            len = snprintf(num, sizeof(num), "%lld",
                           (long long) va_arg(args, off_t));
            s = (u_char *) num;
            fmt++;

        } else if (fmt[0] == 'c') {
            num[0] = (char) va_arg(args, int);
            s = (u_char *) num;
            len = 1;
            fmt++;

        } else if (fmt[0] == 'u' && fmt[1] == 'z') {
            len = snprintf(num, sizeof(num), "%zu", va_arg(args, size_t));
            s = (u_char *) num;
            fmt += 2;

        } else if (fmt[0] == 'u' && fmt[1] == 'i') {
            len = snprintf(num, sizeof(num), "%lu",
                           (unsigned long) va_arg(args, ngx_uint_t));
            s = (u_char *) num;
            fmt += 2;

        } else if (fmt[0] == 'd') {
            len = snprintf(num, sizeof(num), "%d", va_arg(args, int));
            s = (u_char *) num;
            fmt++;

        } else if (fmt[0] == '%') {
            s = (u_char *) "%";
            len = 1;
            fmt++;

        } else {
            fprintf(stderr, "ngx_stubs: unsupported format \"%s\"\n", fmt);
            abort();
        }

        len = ngx_min(len, (size_t) (last - buf));
        buf = ngx_cpymem(buf, s, len);
    }

    return buf;
}


/* formats the line (so that ASan sees its arguments read), logs nothing */

void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   line[NGX_MAX_ERROR_STR];
    va_list  args;

    va_start(args, fmt);
    (void) ngx_vslprintf(line, line + sizeof(line), fmt, args);
    va_end(args);
}


u_char *
ngx_snprintf(u_char *buf, size_t max, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + max, fmt, args);
    va_end(args);

    return p;
}


u_char *
ngx_sprintf(u_char *buf, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, (void *) -1, fmt, args);
    va_end(args);

    return p;
}


/* as nginx 1.22's: digits only, NGX_ERROR on overflow or n == 0 */

ngx_int_t
ngx_atoi(u_char *line, size_t n)
{
    ngx_int_t  value, cutoff, cutlim;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_INT_T_VALUE / 10;
    cutlim = NGX_MAX_INT_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return NGX_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return NGX_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


off_t
ngx_atoof(u_char *line, size_t n)
{
    off_t  value, cutoff, cutlim;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_OFF_T_VALUE / 10;
    cutlim = NGX_MAX_OFF_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return NGX_ERROR;
        }

        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return NGX_ERROR;
        }

        value = value * 10 + (*line - '0');
    }

    return value;
}


ngx_int_t
ngx_hextoi(u_char *line, size_t n)
{
    u_char     c, ch;
    ngx_int_t  value, cutoff;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_INT_T_VALUE / 16;

    for (value = 0; n--; line++) {
        if (value > cutoff) {
            return NGX_ERROR;
        }

        ch = *line;

        if (ch >= '0' && ch <= '9') {
            value = value * 16 + (ch - '0');
            continue;
        }

        c = (u_char) (ch | 0x20);

        if (c >= 'a' && c <= 'f') {
            value = value * 16 + (c - 'a' + 10);
            continue;
        }

        return NGX_ERROR;
    }

    return value;
}


u_char *
ngx_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


ngx_buf_t *
ngx_create_temp_buf(ngx_pool_t *pool, size_t size)
{
    ngx_buf_t  *b;

    b = ngx_pcalloc(pool, sizeof(ngx_buf_t));
    if (b == NULL) {
        return NULL;
    }

    b->start = ngx_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->last + size;
    b->temporary = 1;

    return b;
}


ngx_chain_t *
ngx_alloc_chain_link(ngx_pool_t *pool)
{
    return ngx_palloc(pool, sizeof(ngx_chain_t));
}
