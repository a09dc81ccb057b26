
/*
 * libFuzzer harness: ngx_http_users_bearer() on arbitrary Authorization
 * header values (and bare tokens, as from users_auth_query), against a
 * reference written from RFC 6750 section 2.1 and the function's comment:
 *
 *     "Bearer" (any case) 1*SP b64token *SP; b64token = 1*( ALPHA / DIGIT
 *     / "-" / "." / "_" / "~" / "+" / "/" ) *"=", at most 512 bytes;
 *     anything not starting with the word "Bearer" (another scheme, or
 *     none) is NGX_DECLINED; "Bearer" without a well-formed token is
 *     NGX_ERROR. (A bare token, from users_auth_query, goes to
 *     ngx_http_users_b64token() directly.)
 *
 * NGX_OK must also give a token that is non-empty, at most 512 bytes, of
 * the b64token alphabet, and inside the header.
 *
 * The function is compiled alone (fuzz/run.sh extracts it): the rest of
 * ngx_http_users_auth.c is the access phase and needs half of nginx.
 */


#include "ngx_stubs.h"
#include "ngx_http_users_auth.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ngx_int_t bearer_reference(u_char *p, size_t len, ngx_str_t *token);
static ngx_int_t bearer_char(u_char c);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t      i;
    u_char     *copy;
    ngx_int_t   rc, want;
    ngx_str_t   header, token, expect;

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data, size);

    header.data = copy;
    header.len = size;

    rc = ngx_http_users_bearer(&header, &token);
    want = bearer_reference(copy, size, &expect);

    if (rc != want) {
        fprintf(stderr, "bearer_fuzz: rc %ld, the reference %ld\n",
                (long) rc, (long) want);
        abort();
    }

    if (rc == NGX_OK) {
        if (token.len == 0 || token.len > NGX_HTTP_USERS_MAX_TOKEN
            || token.data < copy || token.data + token.len > copy + size)
        {
            fprintf(stderr, "bearer_fuzz: token out of bounds\n");
            abort();
        }

        for (i = 0; i < token.len; i++) {
            if (!bearer_char(token.data[i])
                && !(token.data[i] == '=' && i > 0))
            {
                fprintf(stderr, "bearer_fuzz: byte %zu not b64token\n", i);
                abort();
            }
        }

        if (token.len != expect.len
            || memcmp(token.data, expect.data, token.len) != 0)
        {
            fprintf(stderr, "bearer_fuzz: token \"%.*s\", the reference "
                    "\"%.*s\"\n", (int) token.len, token.data,
                    (int) expect.len, expect.data);
            abort();
        }
    }

    free(copy);

    return 0;
}


static ngx_int_t
bearer_reference(u_char *p, size_t len, ngx_str_t *token)
{
    size_t  i, n, start, end;

    static const char  scheme[] = "bearer";

    for (i = 0; i < 6 && i < len; i++) {
        if ((p[i] | (p[i] >= 'A' && p[i] <= 'Z' ? 0x20 : 0)) != scheme[i]) {
            break;
        }
    }

    if (i < 6 || (len > 6 && p[6] != ' ')) {
        return NGX_DECLINED;               /* another scheme, or none */
    }

    for (start = 6; start < len && p[start] == ' '; start++) {
        /* void */
    }

    for (end = len; end > start && p[end - 1] == ' '; end--) {
        /* void */
    }

    for (n = start; n < end && bearer_char(p[n]); n++) {
        /* void */
    }

    if (n == start) {
        return NGX_ERROR;
    }

    while (n < end && p[n] == '=') {
        n++;
    }

    if (n != end || n - start > NGX_HTTP_USERS_MAX_TOKEN) {
        return NGX_ERROR;
    }

    token->data = p + start;
    token->len = n - start;

    return NGX_OK;
}


static ngx_int_t
bearer_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~' || c == '+'
           || c == '/';
}
