
/*
 * libFuzzer harness: ngx_http_users_odata_parse() on arbitrary bytes.
 *
 * NGX_OK:       the tokens form a well-formed program, and rendering it
 *               back as a filter parses to the same program;
 * NGX_DECLINED: the message is non-empty printable ASCII;
 * never NGX_ERROR (allocation does not fail here).
 */


#include "ngx_stubs.h"
#include "odata_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char   *why;
    ngx_int_t     rc;
    ngx_str_t     text, err;
    ngx_pool_t   *pool;
    ngx_array_t   out;

    pool = ngx_create_pool(1024, NULL);

    if (ngx_array_init(&out, pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        abort();
    }

    text.data = (u_char *) data;
    text.len = size;

    rc = ngx_http_users_odata_parse(pool, &text, odata_check_fields,
                                    odata_check_nfields, &out, &err);

    switch (rc) {

    case NGX_OK:
        why = odata_check_program(&out);

        if (why == NULL) {
            why = odata_check_roundtrip(pool, &out);
        }

        break;

    case NGX_DECLINED:
        why = odata_check_message(&err);

        if (why == NULL && out.nelts) {
            why = "NGX_DECLINED with tokens in out";
        }

        break;

    default:
        why = "unexpected return code";
    }

    if (why) {
        fprintf(stderr, "odata_fuzz: rc %ld: %s\n", (long) rc, why);

        if (rc == NGX_DECLINED) {
            fprintf(stderr, "message: %.*s\n", (int) err.len, err.data);
        }

        abort();
    }

    ngx_destroy_pool(pool);

    return 0;
}
