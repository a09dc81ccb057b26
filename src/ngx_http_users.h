
/*
 * ngx_http_users_module: the configuration every part shares.
 */


#ifndef _NGX_HTTP_USERS_H_INCLUDED_
#define _NGX_HTTP_USERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_users_redis.h"
#include "ngx_http_users_odata.h"


#define NGX_HTTP_USERS_MAX_WORKSPACE  64


/* the JSON type a field is rendered as */
typedef enum {
    NGX_HTTP_USERS_STRING = 0,
    NGX_HTTP_USERS_INT,
    NGX_HTTP_USERS_NUMBER,
    NGX_HTTP_USERS_BOOL,
    NGX_HTTP_USERS_TIMESTAMP,
    NGX_HTTP_USERS_OBJECT,
    NGX_HTTP_USERS_INT_LIST,           /* "1,2" -> [1,2] */
    NGX_HTTP_USERS_STRING_LIST         /* "a,b" -> ["a","b"] */
} ngx_http_users_type_e;


/* what an envelope member holds */
typedef enum {
    NGX_HTTP_USERS_ENV_ITEMS = 0,
    NGX_HTTP_USERS_ENV_TOTAL,
    NGX_HTTP_USERS_ENV_COUNT,
    NGX_HTTP_USERS_ENV_OFFSET,
    NGX_HTTP_USERS_ENV_LIMIT,
    NGX_HTTP_USERS_ENV_PAGE,
    NGX_HTTP_USERS_ENV_PAGE_SIZE,
    NGX_HTTP_USERS_ENV_NEXT_URL,
    NGX_HTTP_USERS_ENV_PREV_URL,
    NGX_HTTP_USERS_ENV_NEXT_PAGE,
    NGX_HTTP_USERS_ENV_PREV_PAGE,
    NGX_HTTP_USERS_ENV_LAST_PAGE,
    NGX_HTTP_USERS_ENV_LINKS,           /* RFC 8288 Link: next, prev */
    NGX_HTTP_USERS_ENV_EXPANDS          /* the referenced objects */
} ngx_http_users_env_kind_e;


typedef enum {
    NGX_HTTP_USERS_PAGE_OFFSET = 0,
    NGX_HTTP_USERS_PAGE_NUMBER
} ngx_http_users_page_style_e;


/* how values compare: as the sort indexes of docs/SCHEMA.md encode them */
typedef enum {
    NGX_HTTP_USERS_KIND_STR = 0,
    NGX_HTTP_USERS_KIND_INT,
    NGX_HTTP_USERS_KIND_TIME
} ngx_http_users_kind_e;


/* what a filter parameter does */
typedef enum {
    NGX_HTTP_USERS_FILTER_IN = 0,      /* field is one of the values */
    NGX_HTTP_USERS_FILTER_EQ,          /* field equals the value */
    NGX_HTTP_USERS_FILTER_MEMBER,      /* in any of the groups/projects */
    NGX_HTTP_USERS_FILTER_FROM,        /* field >= value */
    NGX_HTTP_USERS_FILTER_TO,          /* field <= value */
    NGX_HTTP_USERS_FILTER_SEARCH,      /* substring of any of the fields */
    NGX_HTTP_USERS_FILTER_ODATA,       /* an OData $filter expression */
    NGX_HTTP_USERS_FILTER_SCOPE        /* members of one group/project */
} ngx_http_users_filter_op_e;


typedef enum {
    NGX_HTTP_USERS_CASE_KEEP = 0,
    NGX_HTTP_USERS_CASE_UPPER,
    NGX_HTTP_USERS_CASE_LOWER
} ngx_http_users_case_e;


/* a name of the API's sort vocabulary and the index behind it */
typedef struct {
    ngx_str_t                  name;       /* "createdAt" */
    ngx_str_t                  field;      /* "created_at": index, field */
    ngx_uint_t                 kind;       /* ngx_http_users_kind_e */
} ngx_http_users_sortable_t;


typedef struct {
    ngx_http_users_sortable_t *by;
    ngx_uint_t                 desc;
} ngx_http_users_sort_key_t;


typedef struct {
    ngx_str_t                  param;      /* "status", "ids", "filter" */
    ngx_uint_t                 op;         /* ngx_http_users_filter_op_e */
    ngx_str_t                  field;      /* hash field, or member kind */
    ngx_uint_t                 kind;       /* ngx_http_users_kind_e */
    ngx_array_t               *values;     /* allowed values, or NULL */
    ngx_array_t               *defaults;   /* when absent, or NULL */
    ngx_array_t               *fields;     /* search: of ngx_str_t */
    ngx_array_t               *names;      /* odata: of odata_field_t */
    ngx_str_t                  permission; /* needed to use it */
    ngx_uint_t                 fold;       /* ngx_http_users_case_e */
    unsigned                   multi:1;    /* a,b,c */
    unsigned                   array:1;    /* p=a&p=b, p[]=a */
    unsigned                   indexed:1;  /* restricted sort indexes */
} ngx_http_users_filter_t;


/* the values of a user (or an expanded object) in its fields' order */
typedef struct {
    ngx_str_t                 *values;     /* data == NULL: null */
} ngx_http_users_row_t;


/* users_expand: objects a user refers to, fetched on request */
typedef struct {
    ngx_str_t                  name;       /* "groups" */
    ngx_array_t               *from;       /* of ngx_str_t: hash fields */
    ngx_str_t                  key;        /* "group": users:{ws}:group:<id> */
    ngx_array_t               *fields;     /* of ngx_http_users_field_t * */
    ngx_array_t               *sources;    /* of ngx_str_t: HMGET args */
} ngx_http_users_expand_t;


/* one users_expand a request asked for: the ids found, their objects */
typedef struct {
    ngx_http_users_expand_t   *expand;
    ngx_array_t                ids;        /* of ngx_str_t */
    ngx_array_t                rows;       /* of ngx_http_users_row_t */
} ngx_http_users_expansion_t;


typedef struct {
    ngx_str_t                  name;       /* "X-Total-Count", "Link" */
    ngx_http_users_env_kind_e  kind;       /* total, ..., or links */
} ngx_http_users_header_t;


typedef struct ngx_http_users_field_s  ngx_http_users_field_t;

struct ngx_http_users_field_s {
    ngx_str_t                  path;       /* "invite.id" */
    ngx_str_t                  name;       /* "id": the JSON member name */
    ngx_str_t                  source;     /* "invite_id": the hash field */
    ngx_http_users_type_e      type;
    ngx_uint_t                 value;      /* index in the fetched values */
    ngx_array_t               *children;   /* of ngx_http_users_field_t * */
    ngx_str_t                  permission; /* needed to see it */
    ngx_uint_t                 fold;       /* ngx_http_users_case_e */
    unsigned                   nullable:1;
};


typedef struct {
    ngx_str_t                  name;
    ngx_http_users_env_kind_e  kind;
} ngx_http_users_env_t;


typedef struct {
    ngx_uint_t                   style;        /* page_style_e */
    ngx_str_t                    size_arg;     /* "limit", "page_size" */
    ngx_str_t                    offset_arg;   /* "offset" */
    ngx_str_t                    page_arg;     /* "page" */
    ngx_uint_t                   size_default;
    ngx_uint_t                   size_max;
    ngx_array_t                 *sizes;        /* of ngx_uint_t, or NULL */
} ngx_http_users_paging_t;


/* where a directive was: for errors found once a location is merged */
typedef struct {
    ngx_str_t                    file;
    ngx_uint_t                   line;
} ngx_http_users_at_t;


typedef struct {
    ngx_http_users_redis_conf_t *redis;        /* NULL: no users_redis */
    size_t                       cache_size;   /* a worker's, 0: off */

    ngx_array_t                 *limit_zones;  /* of limit_zone_t * */

    ngx_flag_t                   auth_used;    /* some location has it */
    size_t                       auth_cache_size;
    time_t                       auth_valid;
    time_t                       auth_invalid;
} ngx_http_users_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;       /* users_list, users_get */
    ngx_str_t                    enable_name;  /* which of them */
    ngx_str_t                    enable_file;  /* where it was */
    ngx_uint_t                   enable_line;

    ngx_http_complex_value_t    *workspace;
    ngx_http_users_at_t          workspace_at;
    ngx_http_complex_value_t    *base_url;
    ngx_http_complex_value_t    *permissions;  /* the caller's */
    ngx_http_users_at_t          permissions_at;
    ngx_http_complex_value_t    *item;         /* users_get: the id */
    ngx_http_complex_value_t    *scope;        /* users_scope: the gid */
    ngx_http_users_filter_t     *scope_filter;

    ngx_http_users_paging_t      paging;

    ngx_array_t                 *sorts;        /* of sortable_t */
    ngx_array_t                 *sort_default; /* of sort_key_t */
    ngx_str_t                    sort_arg;     /* "ordering", "sort_by" */
    ngx_str_t                    order_arg;    /* "sort_order", or none */

    ngx_array_t                 *filters;      /* of ngx_http_users_filter_t */
    ngx_uint_t                   scan_limit;
    ngx_uint_t                   invalid_status;  /* 400 or 422 */

    ngx_str_t                    version_header;
    ngx_array_t                 *versions;     /* of ngx_str_t */

    ngx_array_t                 *headers;      /* of ngx_http_users_header_t */

    ngx_array_t                 *expands;      /* of ngx_http_users_expand_t */
    ngx_str_t                    expand_arg;   /* "expands" */

    ngx_http_users_redis_read_t  redis_read;   /* users_redis_read */

    ngx_str_t                    auth_realm;   /* users_auth; "": off */
    ngx_http_users_at_t          auth_at;
    ngx_str_t                    auth_query;   /* users_auth_query */
    ngx_array_t                 *auth_require; /* of ngx_str_t */
    ngx_array_t                 *see_all;      /* users_see_all names */

    ngx_array_t                 *limits;       /* of limit_zone_t * */
    ngx_flag_t                   limit_dry_run;
    ngx_uint_t                   limit_log_level;
    ngx_uint_t                   limit_headers;   /* off, draft, legacy */

    ngx_array_t                 *envelope;     /* of ngx_http_users_env_t */
    ngx_array_t                 *fields;       /* all, declaration order */
    ngx_array_t                 *top;          /* top-level field ptrs */
    ngx_array_t                 *sources;      /* of ngx_str_t: HMGET args */
} ngx_http_users_loc_conf_t;


/* what the phases of one request keep: auth, then limits */
typedef struct {
    void                        *auth;         /* auth_ctx_t */
    void                        *limit[2];     /* preaccess, access */
} ngx_http_users_req_ctx_t;


ngx_http_users_req_ctx_t *ngx_http_users_req_ctx(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_users_module;


#endif /* _NGX_HTTP_USERS_H_INCLUDED_ */
