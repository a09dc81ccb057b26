
/*
 * ngx_http_users_module: the OData 4.0 $filter subset -> a prefix program
 * that the Redis Lua function evaluates.
 *
 * Pure functions over memory: no Redis, no JSON, no I/O.
 */


#ifndef _NGX_HTTP_USERS_ODATA_H_INCLUDED_
#define _NGX_HTTP_USERS_ODATA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_USERS_ODATA_STR          0
#define NGX_HTTP_USERS_ODATA_TIME         1

#define NGX_HTTP_USERS_ODATA_MAX_LEN      1024
#define NGX_HTTP_USERS_ODATA_MAX_DEPTH    32
#define NGX_HTTP_USERS_ODATA_MAX_CMP      64


typedef struct {
    ngx_str_t    name;          /* the OData name, e.g. "userStatus" */
    ngx_str_t    source;        /* the Redis hash field, e.g. "user_status" */
    ngx_uint_t   kind;          /* NGX_HTTP_USERS_ODATA_STR or _TIME */
} ngx_http_users_odata_field_t;


/*
 * Parses "text" (already percent-decoded) into prefix tokens appended to
 * "out", an array of ngx_str_t:
 *
 *     and <n> <sub> x n        n >= 2; chains are flattened
 *     or <n> <sub> x n
 *     not <sub>
 *     cmp <op> <source> <kind> <value>
 *
 * op is eq, ne, gt, ge, lt or le, kind is "str" or "time", value is the
 * unescaped literal.  The tokens live in "pool" or in "fields".
 *
 * Returns NGX_OK; NGX_DECLINED with a printable ASCII reason in "err" that
 * names the 1-based byte position; NGX_ERROR on allocation failure.  "out"
 * is only appended to on NGX_OK.  An empty filter is NGX_DECLINED: the
 * caller treats "filter=" as no filter before calling.
 */
ngx_int_t ngx_http_users_odata_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_http_users_odata_field_t *fields, ngx_uint_t nfields,
    ngx_array_t *out, ngx_str_t *err);

/*
 * 1 if p[0..len) is "YYYY-MM-DD" or an RFC 3339 date-time
 * "YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]" (no offset means UTC),
 * with a real day of the month, hour <= 23, minute <= 59, second <= 60;
 * 0 otherwise.
 */
ngx_int_t ngx_http_users_datetime_valid(u_char *p, size_t len);


#endif /* _NGX_HTTP_USERS_ODATA_H_INCLUDED_ */
