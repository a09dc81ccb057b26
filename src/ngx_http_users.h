
/*
 * ngx_http_users_module: the configuration every part shares.
 */


#ifndef _NGX_HTTP_USERS_H_INCLUDED_
#define _NGX_HTTP_USERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_users_redis.h"


#define NGX_HTTP_USERS_MAX_WORKSPACE  64


/* the JSON type a field is rendered as */
typedef enum {
    NGX_HTTP_USERS_STRING = 0,
    NGX_HTTP_USERS_INT,
    NGX_HTTP_USERS_NUMBER,
    NGX_HTTP_USERS_BOOL,
    NGX_HTTP_USERS_TIMESTAMP,
    NGX_HTTP_USERS_OBJECT
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
    NGX_HTTP_USERS_ENV_LAST_PAGE
} ngx_http_users_env_kind_e;


typedef enum {
    NGX_HTTP_USERS_PAGE_OFFSET = 0,
    NGX_HTTP_USERS_PAGE_NUMBER
} ngx_http_users_page_style_e;


typedef struct ngx_http_users_field_s  ngx_http_users_field_t;

struct ngx_http_users_field_s {
    ngx_str_t                  path;       /* "invite.id" */
    ngx_str_t                  name;       /* "id": the JSON member name */
    ngx_str_t                  source;     /* "invite_id": the hash field */
    ngx_http_users_type_e      type;
    ngx_uint_t                 value;      /* index in the fetched values */
    ngx_array_t               *children;   /* of ngx_http_users_field_t * */
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


typedef struct {
    ngx_http_users_redis_conf_t *redis;        /* NULL: no users_redis */
} ngx_http_users_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;       /* users_list */
    ngx_str_t                    enable_file;  /* where users_list was */
    ngx_uint_t                   enable_line;

    ngx_http_complex_value_t    *workspace;
    ngx_http_complex_value_t    *base_url;

    ngx_http_users_paging_t      paging;
    ngx_str_t                    sort;         /* default sort index */
    unsigned                     sort_desc:1;

    ngx_array_t                 *envelope;     /* of ngx_http_users_env_t */
    ngx_array_t                 *fields;       /* all, declaration order */
    ngx_array_t                 *top;          /* top-level field ptrs */
    ngx_array_t                 *sources;      /* of ngx_str_t: HMGET args */
} ngx_http_users_loc_conf_t;


extern ngx_module_t  ngx_http_users_module;


#endif /* _NGX_HTTP_USERS_H_INCLUDED_ */
