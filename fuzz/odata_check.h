
/*
 * Test support: checks a program from ngx_http_users_odata_parse().
 */


#ifndef _ODATA_CHECK_H_INCLUDED_
#define _ODATA_CHECK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_users_odata.h"


extern ngx_http_users_odata_field_t  odata_check_fields[];
extern ngx_uint_t                    odata_check_nfields;


/* NULL if "out" is a well-formed program, else why not */
const char *odata_check_program(ngx_array_t *out);

/* NULL if "err" is a non-empty printable ASCII message, else why not */
const char *odata_check_message(ngx_str_t *err);

/*
 * Renders "out" back as a filter, parses that and compares: NULL if the
 * programs are equal (or the rendering is too long to parse), else why.
 */
const char *odata_check_roundtrip(ngx_pool_t *pool, ngx_array_t *out);

/* the tokens joined by spaces, NUL-terminated, malloc()ed */
char *odata_check_join(ngx_array_t *out);


#endif /* _ODATA_CHECK_H_INCLUDED_ */
