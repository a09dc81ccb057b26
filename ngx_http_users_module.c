
/*
 * ngx_http_users_module: serves "list users" APIs straight out of Redis.
 *
 * This file holds the directives, the configuration and the hooks into
 * nginx; the work is done by the parts in src/ (see README.md).
 */


#include "ngx_http_users.h"
#include "ngx_http_users_handler.h"
#include "ngx_http_users_cache.h"
#include "ngx_http_users_auth.h"
#include "ngx_http_users_limit.h"


static ngx_int_t ngx_http_users_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_users_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_users_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_users_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_users_access_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_precontent_handler(ngx_http_request_t *r);
static void ngx_http_users_req_cleanup(void *data);
static ngx_int_t ngx_http_users_init_process(ngx_cycle_t *cycle);
static void ngx_http_users_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_users_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_merge_caller(ngx_conf_t *cf,
    ngx_http_users_loc_conf_t *conf);
static char *ngx_http_users_caller_value(ngx_conf_t *cf,
    ngx_http_users_loc_conf_t *conf, ngx_http_complex_value_t **cv,
    ngx_http_users_at_t *at, ngx_str_t *name, char *what);
static char *ngx_http_users_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_workspace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_permissions(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_auth_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_names(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_list(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_get(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_users_loc_conf_t *lcf, ngx_http_handler_pt handler);
static char *ngx_http_users_scope(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_pagination(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_paging_option(ngx_conf_t *cf,
    ngx_http_users_paging_t *pg, ngx_str_t *opt);
static char *ngx_http_users_sizes(ngx_conf_t *cf,
    ngx_http_users_paging_t *pg, ngx_str_t *list);
static char *ngx_http_users_sort(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_sort_option(ngx_conf_t *cf,
    ngx_http_users_loc_conf_t *lcf, ngx_http_users_sortable_t *s,
    ngx_str_t *opt);
static char *ngx_http_users_sort_param(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_filter(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_filter_option(ngx_conf_t *cf,
    ngx_http_users_filter_t *f, ngx_str_t *opt);
static char *ngx_http_users_odata_names(ngx_conf_t *cf,
    ngx_http_users_filter_t *f, ngx_str_t *list);
static ngx_array_t *ngx_http_users_list_of(ngx_conf_t *cf, ngx_str_t *list);
static char *ngx_http_users_version(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_expand(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_expand_fields(ngx_conf_t *cf,
    ngx_http_users_expand_t *e, ngx_str_t *list);
static char *ngx_http_users_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_users_kind(ngx_str_t *name);
static ngx_int_t ngx_http_users_sort_by_id(ngx_conf_t *cf,
    ngx_http_users_loc_conf_t *lcf);
static char *ngx_http_users_envelope(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_field(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_field_option(ngx_conf_t *cf,
    ngx_http_users_field_t *f, ngx_str_t *opt);
static char *ngx_http_users_field_parent(ngx_conf_t *cf,
    ngx_http_users_loc_conf_t *lcf, ngx_http_users_field_t *f,
    ngx_array_t **siblings);
static ngx_int_t ngx_http_users_is_name(ngx_str_t *s, ngx_uint_t dots);


#define ngx_http_users_isalnum(c)                                            \
    (((c) >= '0' && (c) <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))


static ngx_conf_enum_t  ngx_http_users_types[] = {
    { ngx_string("string"), NGX_HTTP_USERS_STRING },
    { ngx_string("int"), NGX_HTTP_USERS_INT },
    { ngx_string("number"), NGX_HTTP_USERS_NUMBER },
    { ngx_string("bool"), NGX_HTTP_USERS_BOOL },
    { ngx_string("timestamp"), NGX_HTTP_USERS_TIMESTAMP },
    { ngx_string("object"), NGX_HTTP_USERS_OBJECT },
    { ngx_string("int_list"), NGX_HTTP_USERS_INT_LIST },
    { ngx_string("string_list"), NGX_HTTP_USERS_STRING_LIST },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_users_env_kinds[] = {
    { ngx_string("items"), NGX_HTTP_USERS_ENV_ITEMS },
    { ngx_string("total"), NGX_HTTP_USERS_ENV_TOTAL },
    { ngx_string("count"), NGX_HTTP_USERS_ENV_COUNT },
    { ngx_string("offset"), NGX_HTTP_USERS_ENV_OFFSET },
    { ngx_string("limit"), NGX_HTTP_USERS_ENV_LIMIT },
    { ngx_string("page"), NGX_HTTP_USERS_ENV_PAGE },
    { ngx_string("page_size"), NGX_HTTP_USERS_ENV_PAGE_SIZE },
    { ngx_string("next_url"), NGX_HTTP_USERS_ENV_NEXT_URL },
    { ngx_string("prev_url"), NGX_HTTP_USERS_ENV_PREV_URL },
    { ngx_string("next_page"), NGX_HTTP_USERS_ENV_NEXT_PAGE },
    { ngx_string("prev_page"), NGX_HTTP_USERS_ENV_PREV_PAGE },
    { ngx_string("last_page"), NGX_HTTP_USERS_ENV_LAST_PAGE },
    { ngx_string("links"), NGX_HTTP_USERS_ENV_LINKS },
    { ngx_string("expands"), NGX_HTTP_USERS_ENV_EXPANDS },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_users_filter_ops[] = {
    { ngx_string("in"), NGX_HTTP_USERS_FILTER_IN },
    { ngx_string("eq"), NGX_HTTP_USERS_FILTER_EQ },
    { ngx_string("member"), NGX_HTTP_USERS_FILTER_MEMBER },
    { ngx_string("from"), NGX_HTTP_USERS_FILTER_FROM },
    { ngx_string("to"), NGX_HTTP_USERS_FILTER_TO },
    { ngx_string("search"), NGX_HTTP_USERS_FILTER_SEARCH },
    { ngx_string("odata"), NGX_HTTP_USERS_FILTER_ODATA },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_users_scan_bounds = {
    ngx_conf_check_num_bounds, 1, 100000000
};


static ngx_conf_enum_t  ngx_http_users_limit_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_users_limit_header_styles[] = {
    { ngx_string("off"), 0 },
    { ngx_string("draft"), 1 },
    { ngx_string("legacy"), 2 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_users_invalid_statuses[] = {
    { ngx_string("400"), NGX_HTTP_BAD_REQUEST },
    { ngx_string("422"), 422 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_users_commands[] = {

    { ngx_string("users_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_users_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_redis_read"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_users_redis_read,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, redis_read),
      NULL },

    { ngx_string("users_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_users_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_users_auth,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_auth_query"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, auth_query),
      NULL },

    { ngx_string("users_auth_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_names,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, auth_require),
      NULL },

    { ngx_string("users_auth_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_users_auth_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_see_all"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_names,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, see_all),
      NULL },

    { ngx_string("users_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_2MORE,
      ngx_http_users_limit_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, limit_dry_run),
      NULL },

    { ngx_string("users_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, limit_log_level),
      &ngx_http_users_limit_log_levels },

    { ngx_string("users_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, limit_headers),
      &ngx_http_users_limit_header_styles },

    { ngx_string("users_list"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_users_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_get"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_users_get,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_scope"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_users_scope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_workspace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_users_workspace,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, workspace),
      NULL },

    { ngx_string("users_base_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, base_url),
      NULL },

    { ngx_string("users_pagination"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_pagination,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_sort"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_sort,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_sort_param"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_users_sort_param,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_filter"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_users_filter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_scan_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, scan_limit),
      &ngx_http_users_scan_bounds },

    { ngx_string("users_invalid_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, invalid_status),
      &ngx_http_users_invalid_statuses },

    { ngx_string("users_version_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_users_version,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_expand"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE4,
      ngx_http_users_expand,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_expand_param"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, expand_arg),
      NULL },

    { ngx_string("users_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_users_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_permissions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_users_permissions,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_users_loc_conf_t, permissions),
      NULL },

    { ngx_string("users_envelope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_users_envelope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_field"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_users_field,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_users_module_ctx = {
    ngx_http_users_preconfiguration,       /* preconfiguration */
    ngx_http_users_postconfiguration,      /* postconfiguration */

    ngx_http_users_create_main_conf,       /* create main configuration */
    ngx_http_users_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_users_create_loc_conf,        /* create location configuration */
    ngx_http_users_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_users_module = {
    NGX_MODULE_V1,
    &ngx_http_users_module_ctx,            /* module context */
    ngx_http_users_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_users_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_users_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


typedef struct {
    ngx_str_t   name;
    ngx_str_t   file;
    ngx_uint_t  line;
} ngx_http_users_use_t;


/* where users_list first appeared: users_redis is checked against it */
static ngx_http_users_use_t  ngx_http_users_first_use;


static ngx_int_t
ngx_http_users_preconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_users_auth_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_users_limit_variables(cf);
}


/*
 * Phase handlers join only where used: preaccess for limits keyed by the
 * address (or anything but the caller), access for users_auth and the
 * limits keyed by the caller, which must follow it; the same again in
 * precontent, for subrequests, whose access phase nginx skips, and for
 * main requests another access module let through under "satisfy any".
 */

static ngx_int_t
ngx_http_users_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                     i, access;
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_users_main_conf_t    *umcf;
    ngx_http_users_limit_zone_t  **z;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);

    access = umcf->auth_used;

    if (umcf->limit_zones) {
        z = umcf->limit_zones->elts;

        for (i = 0; i < umcf->limit_zones->nelts; i++) {
            access |= z[i]->after_auth;
        }
    }

    if (access) {
        cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_users_access_handler;

        h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_users_precontent_handler;
    }

    return ngx_http_users_limit_init(cf);
}


/* users_auth, then the limits keyed by the caller */

static ngx_int_t
ngx_http_users_access_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc, lrc;

    rc = ngx_http_users_auth_handler(r);

    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    lrc = ngx_http_users_limit_access(r);

    return (lrc == NGX_DECLINED) ? rc : lrc;
}


/*
 * nginx runs no access phase for a subrequest (auth_request, SSI,
 * mirror): its checks run here, before its content. A main request is
 * checked again at no cost (its principal is known, its zones are paid),
 * unless another access module let it through under "satisfy any".
 */

static ngx_int_t
ngx_http_users_precontent_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_users_access_handler(r);

    /* NGX_OK would skip the rest of the phase (try_files, mirror) */

    return (rc == NGX_OK) ? NGX_DECLINED : rc;
}


/*
 * The request's state: kept in a pool cleanup as well as in the module
 * ctx, which an internal redirect clears: a request is authenticated and
 * limited once, whatever locations it passes through.
 */

ngx_http_users_req_ctx_t *
ngx_http_users_req_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_users_req_ctx_t  *rctx;

    r = r->main;

    rctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    if (rctx) {
        return rctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_users_req_cleanup) {
            rctx = cln->data;
            ngx_http_set_ctx(r, rctx, ngx_http_users_module);
            return rctx;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_users_req_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    rctx = cln->data;
    ngx_memzero(rctx, sizeof(ngx_http_users_req_ctx_t));

    cln->handler = ngx_http_users_req_cleanup;

    ngx_http_set_ctx(r, rctx, ngx_http_users_module);

    return rctx;
}


static void
ngx_http_users_req_cleanup(void *data)
{
    /* nothing to free: the cleanup only marks the state */
}


static void *
ngx_http_users_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     umcf->redis = NULL;
     */

    umcf->cache_size = NGX_CONF_UNSET_SIZE;
    umcf->auth_cache_size = NGX_CONF_UNSET_SIZE;
    umcf->auth_valid = NGX_CONF_UNSET;
    umcf->auth_invalid = NGX_CONF_UNSET;

    ngx_http_users_first_use.line = 0;

    return umcf;
}


static char *
ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    ngx_conf_init_size_value(umcf->cache_size, 8 * 1024 * 1024);
    ngx_conf_init_size_value(umcf->auth_cache_size, 1024 * 1024);
    ngx_conf_init_value(umcf->auth_valid, 30);
    ngx_conf_init_value(umcf->auth_invalid, 5);

    if (umcf->redis == NULL && umcf->auth_used) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"users_auth\" requires \"users_redis\" in the http "
                      "block");
        return NGX_CONF_ERROR;
    }

    if (umcf->redis == NULL && ngx_http_users_first_use.line) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" in %V:%ui requires \"users_redis\" "
                      "in the http block",
                      &ngx_http_users_first_use.name,
                      &ngx_http_users_first_use.file,
                      ngx_http_users_first_use.line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_users_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_users_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->paging.size_arg = { 0, NULL };
     *     lcf->paging.offset_arg = { 0, NULL };
     *     lcf->paging.page_arg = { 0, NULL };
     *     lcf->paging.sizes = NULL;
     *     lcf->sorts = NULL;
     *     lcf->sort_default = NULL;
     *     lcf->sort_arg = { 0, NULL };
     *     lcf->order_arg = { 0, NULL };
     *     lcf->version_header = { 0, NULL };
     *     lcf->versions = NULL;
     *     lcf->expand_arg = { 0, NULL };
     *     lcf->auth_realm = { 0, NULL };
     *     lcf->auth_query = { 0, NULL };
     *     lcf->envelope = NULL;
     *     lcf->fields = NULL;
     *     lcf->top = NULL;
     *     lcf->sources = NULL;
     */

    lcf->enable = NGX_CONF_UNSET;
    lcf->workspace = NGX_CONF_UNSET_PTR;
    lcf->base_url = NGX_CONF_UNSET_PTR;
    lcf->auth_require = NGX_CONF_UNSET_PTR;
    lcf->see_all = NGX_CONF_UNSET_PTR;
    lcf->limits = NGX_CONF_UNSET_PTR;
    lcf->limit_dry_run = NGX_CONF_UNSET;
    lcf->limit_log_level = NGX_CONF_UNSET_UINT;
    lcf->limit_headers = NGX_CONF_UNSET_UINT;
    lcf->permissions = NGX_CONF_UNSET_PTR;
    lcf->filters = NGX_CONF_UNSET_PTR;
    lcf->headers = NGX_CONF_UNSET_PTR;
    lcf->expands = NGX_CONF_UNSET_PTR;
    lcf->scan_limit = NGX_CONF_UNSET_UINT;
    lcf->invalid_status = NGX_CONF_UNSET_UINT;
    lcf->paging.style = NGX_CONF_UNSET_UINT;
    lcf->paging.size_default = NGX_CONF_UNSET_UINT;
    lcf->paging.size_max = NGX_CONF_UNSET_UINT;
    lcf->redis_read.replica = NGX_CONF_UNSET_UINT;
    lcf->redis_read.max_lag = NGX_CONF_UNSET_MSEC;

    return lcf;
}


static char *
ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_users_loc_conf_t  *prev = parent;
    ngx_http_users_loc_conf_t  *conf = child;

    ngx_http_users_env_t       *env;
    ngx_http_users_sort_key_t  *key;

    if (conf->enable == NGX_CONF_UNSET && prev->enable != NGX_CONF_UNSET) {
        conf->enable_name = prev->enable_name;
        conf->enable_file = prev->enable_file;
        conf->enable_line = prev->enable_line;
    }

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->workspace == NGX_CONF_UNSET_PTR) {
        conf->workspace_at = prev->workspace_at;
    }

    ngx_conf_merge_ptr_value(conf->workspace, prev->workspace, NULL);
    ngx_conf_merge_ptr_value(conf->base_url, prev->base_url, NULL);

    if (conf->paging.style == NGX_CONF_UNSET_UINT) {
        conf->paging = prev->paging;
    }

    if (conf->paging.style == NGX_CONF_UNSET_UINT) {
        conf->paging.style = NGX_HTTP_USERS_PAGE_OFFSET;
        ngx_str_set(&conf->paging.size_arg, "limit");
        ngx_str_set(&conf->paging.offset_arg, "offset");
        ngx_str_set(&conf->paging.page_arg, "page");
        conf->paging.size_default = 20;
        conf->paging.size_max = 100;
    }

    if (conf->sorts == NULL) {
        conf->sorts = prev->sorts;
        conf->sort_default = prev->sort_default;
    }

    if (conf->sorts == NULL) {
        if (ngx_http_users_sort_by_id(cf, conf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->sort_default->nelts == 0) {
        key = ngx_array_push(conf->sort_default);
        if (key == NULL) {
            return NGX_CONF_ERROR;
        }

        key->by = conf->sorts->elts;
        key->desc = 0;
    }

    if (conf->sort_arg.data == NULL) {
        conf->sort_arg = prev->sort_arg;
        conf->order_arg = prev->order_arg;
    }

    ngx_conf_merge_ptr_value(conf->filters, prev->filters, NULL);
    ngx_conf_merge_uint_value(conf->scan_limit, prev->scan_limit, 1000000);
    ngx_conf_merge_uint_value(conf->invalid_status, prev->invalid_status,
                              NGX_HTTP_BAD_REQUEST);
    if (conf->permissions == NGX_CONF_UNSET_PTR) {
        conf->permissions_at = prev->permissions_at;
    }

    ngx_conf_merge_ptr_value(conf->permissions, prev->permissions, NULL);
    ngx_conf_merge_ptr_value(conf->headers, prev->headers, NULL);
    ngx_conf_merge_ptr_value(conf->expands, prev->expands, NULL);
    ngx_conf_merge_str_value(conf->expand_arg, prev->expand_arg, "");
    ngx_http_users_redis_read_merge(&conf->redis_read, &prev->redis_read);

    if (conf->versions == NULL) {
        conf->versions = prev->versions;
        conf->version_header = prev->version_header;
    }

    if (conf->auth_realm.data == NULL) {
        conf->auth_at = prev->auth_at;
    }

    ngx_conf_merge_str_value(conf->auth_realm, prev->auth_realm, "");
    ngx_conf_merge_str_value(conf->auth_query, prev->auth_query, "");
    ngx_conf_merge_ptr_value(conf->auth_require, prev->auth_require, NULL);
    ngx_conf_merge_ptr_value(conf->see_all, prev->see_all, NULL);

    ngx_conf_merge_ptr_value(conf->limits, prev->limits, NULL);
    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_uint_value(conf->limit_headers, prev->limit_headers, 1);

    if (conf->auth_query.len == 3
        && ngx_strncmp(conf->auth_query.data, "off", 3) == 0)
    {
        conf->auth_query.len = 0;
    }

    if (conf->envelope == NULL) {
        conf->envelope = prev->envelope;
    }

    if (conf->envelope == NULL) {
        /* {"count":..,"next":..,"previous":..,"results":[..]} */
        conf->envelope = ngx_array_create(cf->pool, 4,
                                          sizeof(ngx_http_users_env_t));
        env = ngx_array_push_n(conf->envelope, 4);
        if (env == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&env[0].name, "count");
        env[0].kind = NGX_HTTP_USERS_ENV_TOTAL;
        ngx_str_set(&env[1].name, "next");
        env[1].kind = NGX_HTTP_USERS_ENV_NEXT_URL;
        ngx_str_set(&env[2].name, "previous");
        env[2].kind = NGX_HTTP_USERS_ENV_PREV_URL;
        ngx_str_set(&env[3].name, "results");
        env[3].kind = NGX_HTTP_USERS_ENV_ITEMS;
    }

    if (conf->fields == NULL) {
        conf->fields = prev->fields;
        conf->top = prev->top;
        conf->sources = prev->sources;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (ngx_http_users_merge_caller(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->workspace == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" in %V:%ui requires \"users_workspace\"",
                      &conf->enable_name, &conf->enable_file,
                      conf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (conf->sources == NULL || conf->sources->nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" in %V:%ui requires \"users_field\"",
                      &conf->enable_name, &conf->enable_file,
                      conf->enable_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Under users_auth the caller is the token's principal, always: the
 * workspace and the permissions are $users_workspace and
 * $users_permissions (the default there), which only users_auth sets.
 * Any other value would let the configuration override the token (set
 * at server level, a location's literal): refused. Without users_auth a
 * location names its workspace itself (a literal for a public API).
 */

static char *
ngx_http_users_merge_caller(ngx_conf_t *cf, ngx_http_users_loc_conf_t *conf)
{
    static ngx_str_t  ws = ngx_string("users_workspace");
    static ngx_str_t  perms = ngx_string("users_permissions");

    if (conf->auth_realm.len == 0) {
        return NGX_CONF_OK;
    }

    if (ngx_http_users_caller_value(cf, conf, &conf->workspace,
                                    &conf->workspace_at, &ws,
                                    "workspace is")
        != NGX_CONF_OK
        || ngx_http_users_caller_value(cf, conf, &conf->permissions,
                                       &conf->permissions_at, &perms,
                                       "permissions are")
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* name: the directive, and without its "$" the variable */

static char *
ngx_http_users_caller_value(ngx_conf_t *cf, ngx_http_users_loc_conf_t *conf,
    ngx_http_complex_value_t **cv, ngx_http_users_at_t *at, ngx_str_t *name,
    char *what)
{
    ngx_str_t                          var;
    ngx_http_compile_complex_value_t   ccv;

    var.len = name->len + 1;
    var.data = ngx_pnalloc(cf->pool, var.len);
    if (var.data == NULL) {
        return NGX_CONF_ERROR;
    }

    var.data[0] = '$';
    ngx_memcpy(var.data + 1, name->data, name->len);

    if (*cv == NULL) {
        *cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (*cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &var;
        ccv.complex_value = *cv;

        return ngx_http_compile_complex_value(&ccv) == NGX_OK
               ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if ((*cv)->value.len == var.len
        && ngx_strncmp((*cv)->value.data, var.data, var.len) == 0)
    {
        return NGX_CONF_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"%V %V\" in %V:%ui conflicts with \"users_auth\" in "
                  "%V:%ui for \"%V\" in %V:%ui: under users_auth the %s "
                  "always the caller's (%V); remove \"%V\" there, or make "
                  "the location public with \"users_auth off\"",
                  name, &(*cv)->value, &at->file, at->line,
                  &conf->auth_at.file, conf->auth_at.line,
                  &conf->enable_name, &conf->enable_file, conf->enable_line,
                  what, &var, name);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_users_init_process(ngx_cycle_t *cycle)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_users_module);

    if (umcf == NULL || umcf->redis == NULL) {
        return NGX_OK;
    }

    ngx_http_users_cache_init(umcf->cache_size);
    ngx_http_users_auth_init_worker(umcf);

    return ngx_http_users_redis_init_worker(cycle, umcf->redis);
}


static void
ngx_http_users_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_users_redis_exit_worker(cycle);
}


static char *
ngx_http_users_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    if (umcf->redis) {
        return "is duplicate";
    }

    umcf->redis = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_redis_conf_t));
    if (umcf->redis == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_users_redis_parse(cf, umcf->redis);
}


/* users_auth realm | off; */

static char *
ngx_http_users_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    u_char                      *p;
    ngx_str_t                   *value;
    ngx_http_users_main_conf_t  *umcf;

    if (lcf->auth_realm.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lcf->auth_at.file = cf->conf_file->file.name;
    lcf->auth_at.line = cf->conf_file->line;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lcf->auth_realm, "");
        return NGX_CONF_OK;
    }

    /* the realm goes into a quoted-string of WWW-Authenticate */

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid realm \"%V\": printable ASCII "
                               "without quotes or backslashes", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0) {
        return "takes a realm or \"off\"";
    }

    lcf->auth_realm = value[1];

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);
    umcf->auth_used = 1;

    return NGX_CONF_OK;
}


/* users_workspace, users_permissions: where they were, for merge's errors */

static char *
ngx_http_users_workspace(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    lcf->workspace_at.file = cf->conf_file->file.name;
    lcf->workspace_at.line = cf->conf_file->line;

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


static char *
ngx_http_users_permissions(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    lcf->permissions_at.file = cf->conf_file->file.name;
    lcf->permissions_at.line = cf->conf_file->line;

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


/* users_auth_cache [size=1m] [valid=30s] [invalid=5s]; */

static char *
ngx_http_users_auth_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    ngx_str_t   *value, v;
    ngx_uint_t   i;

    if (umcf->auth_cache_size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    umcf->auth_cache_size = 1024 * 1024;
    umcf->auth_valid = 30;
    umcf->auth_invalid = 5;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            v.data = value[i].data + 5;
            v.len = value[i].len - 5;

            umcf->auth_cache_size = ngx_parse_size(&v);
            if (umcf->auth_cache_size != (size_t) NGX_ERROR) {
                continue;
            }

        } else if (ngx_strncmp(value[i].data, "valid=", 6) == 0) {
            v.data = value[i].data + 6;
            v.len = value[i].len - 6;

            umcf->auth_valid = ngx_parse_time(&v, 1);
            if (umcf->auth_valid != (time_t) NGX_ERROR) {
                continue;
            }

        } else if (ngx_strncmp(value[i].data, "invalid=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;

            umcf->auth_invalid = ngx_parse_time(&v, 1);
            if (umcf->auth_invalid != (time_t) NGX_ERROR) {
                continue;
            }
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a list of names: users_auth_require admin view_all; */

static char *
ngx_http_users_names(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *name;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (!ngx_http_users_is_name(&value[i], 0)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid name \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(*a);
        *name = value[i];
    }

    return NGX_CONF_OK;
}


/* users_cache 8m | off; the memory of a worker's page cache */

static char *
ngx_http_users_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    ngx_str_t  *value;

    if (umcf->cache_size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        umcf->cache_size = 0;
        return NGX_CONF_OK;
    }

    umcf->cache_size = ngx_parse_size(&value[1]);

    if (umcf->cache_size == (size_t) NGX_ERROR
        || umcf->cache_size < 64 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cache size \"%V\", it must be \"off\" "
                           "or at least 64k", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_users_enable(cf, cmd, conf, ngx_http_users_list_handler);
}


/* users_get $user_id; answers one user, 404 when there is none */

static char *
ngx_http_users_get(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    lcf->item = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (lcf->item == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = lcf->item;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_users_enable(cf, cmd, conf, ngx_http_users_get_handler);
}


static char *
ngx_http_users_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_users_loc_conf_t *lcf, ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    lcf->enable = 1;
    lcf->enable_name = cmd->name;
    lcf->enable_file = cf->conf_file->file.name;
    lcf->enable_line = cf->conf_file->line;

    if (ngx_http_users_first_use.line == 0) {
        ngx_http_users_first_use.name = cmd->name;
        ngx_http_users_first_use.file = lcf->enable_file;
        ngx_http_users_first_use.line = lcf->enable_line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


/*
 * users_scope project $project_id;  only the members of that project;
 * 404 when it has none
 */

static char *
ngx_http_users_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (lcf->scope) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid membership kind \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->scope = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    lcf->scope_filter = ngx_pcalloc(cf->pool,
                                    sizeof(ngx_http_users_filter_t));
    if (lcf->scope == NULL || lcf->scope_filter == NULL) {
        return NGX_CONF_ERROR;
    }

    lcf->scope_filter->param = value[1];
    lcf->scope_filter->field = value[1];
    lcf->scope_filter->op = NGX_HTTP_USERS_FILTER_SCOPE;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = lcf->scope;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * users_pagination offset [limit=NAME] [offset=NAME] [default=N] [max=N];
 * users_pagination page [size=NAME] [page=NAME] [default=N] [max=N]
 *                  [sizes=N,N,...];
 */

static char *
ngx_http_users_pagination(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    char                     *rv;
    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_http_users_paging_t  *pg;

    pg = &lcf->paging;

    if (pg->style != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "offset") == 0) {
        pg->style = NGX_HTTP_USERS_PAGE_OFFSET;
        ngx_str_set(&pg->size_arg, "limit");

    } else if (ngx_strcmp(value[1].data, "page") == 0) {
        pg->style = NGX_HTTP_USERS_PAGE_NUMBER;
        ngx_str_set(&pg->size_arg, "page_size");

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid pagination style \"%V\", "
                           "it must be \"offset\" or \"page\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&pg->offset_arg, "offset");
    ngx_str_set(&pg->page_arg, "page");
    pg->size_default = 20;
    pg->size_max = 100;

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_users_paging_option(cf, pg, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (pg->size_default < 1 || pg->size_default > pg->size_max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"default\" must be from 1 to \"max\" (%ui)",
                           pg->size_max);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_paging_option(ngx_conf_t *cf, ngx_http_users_paging_t *pg,
    ngx_str_t *opt)
{
    ngx_int_t   n;
    ngx_str_t   val;

    val.data = ngx_strlchr(opt->data, opt->data + opt->len, '=');
    if (val.data == NULL) {
        goto invalid;
    }

    val.data++;
    val.len = opt->data + opt->len - val.data;

    if (ngx_strncmp(opt->data, "default=", 8) == 0
        || ngx_strncmp(opt->data, "max=", 4) == 0)
    {
        n = ngx_atoi(val.data, val.len);
        if (n == NGX_ERROR || n < 1 || n > 100000) {
            goto invalid;
        }

        if (opt->data[0] == 'd') {
            pg->size_default = n;
        } else {
            pg->size_max = n;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "sizes=", 6) == 0) {
        return ngx_http_users_sizes(cf, pg, &val);
    }

    if (!ngx_http_users_is_name(&val, 0)) {
        goto invalid;
    }

    if (ngx_strncmp(opt->data, "limit=", 6) == 0
        || ngx_strncmp(opt->data, "size=", 5) == 0)
    {
        pg->size_arg = val;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "offset=", 7) == 0) {
        pg->offset_arg = val;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "page=", 5) == 0) {
        pg->page_arg = val;
        return NGX_CONF_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", opt);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_users_sizes(ngx_conf_t *cf, ngx_http_users_paging_t *pg,
    ngx_str_t *list)
{
    u_char      *p, *last, *comma;
    ngx_int_t    n;
    ngx_uint_t  *size;

    pg->sizes = ngx_array_create(cf->pool, 4, sizeof(ngx_uint_t));
    if (pg->sizes == NULL) {
        return NGX_CONF_ERROR;
    }

    pg->size_max = 0;

    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        n = ngx_atoi(p, comma - p);
        if (n == NGX_ERROR || n < 1 || n > 100000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid page size in \"sizes=%V\"", list);
            return NGX_CONF_ERROR;
        }

        size = ngx_array_push(pg->sizes);
        if (size == NULL) {
            return NGX_CONF_ERROR;
        }

        *size = n;
        pg->size_max = ngx_max(pg->size_max, (ngx_uint_t) n);

        p = comma + 1;
    }

    return NGX_CONF_OK;
}


/*
 * users_sort name [field=hash_field] [kind=str|int|time] [default] [desc];
 *
 * One name of the API's sort vocabulary and the index behind it. The
 * default order is the names marked "default", else the first declared.
 */

static char *
ngx_http_users_sort(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    char                       *rv;
    ngx_str_t                  *value;
    ngx_uint_t                  i;
    ngx_http_users_sortable_t  *s;

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid sort name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (lcf->sorts == NULL) {
        /* sort keys point into this array: it is never reallocated */
        lcf->sorts = ngx_array_create(cf->pool, 32,
                                      sizeof(ngx_http_users_sortable_t));
        lcf->sort_default = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_users_sort_key_t));
        if (lcf->sorts == NULL || lcf->sort_default == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    s = lcf->sorts->elts;

    for (i = 0; i < lcf->sorts->nelts; i++) {
        if (s[i].name.len == value[1].len
            && ngx_strncmp(s[i].name.data, value[1].data, value[1].len) == 0)
        {
            return "is duplicate";
        }
    }

    if (lcf->sorts->nelts == lcf->sorts->nalloc) {
        return "has too many names (32 at most)";
    }

    s = ngx_array_push(lcf->sorts);

    s->name = value[1];
    s->field = value[1];
    s->kind = NGX_HTTP_USERS_KIND_STR;

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_users_sort_option(cf, lcf, s, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_sort_option(ngx_conf_t *cf, ngx_http_users_loc_conf_t *lcf,
    ngx_http_users_sortable_t *s, ngx_str_t *opt)
{
    ngx_int_t                   kind;
    ngx_str_t                   val;
    ngx_http_users_sort_key_t  *key;

    if (ngx_strcmp(opt->data, "default") == 0
        || ngx_strcmp(opt->data, "desc") == 0)
    {
        key = lcf->sort_default->elts;

        if (lcf->sort_default->nelts == 0
            || key[lcf->sort_default->nelts - 1].by != s)
        {
            key = ngx_array_push(lcf->sort_default);
            if (key == NULL) {
                return NGX_CONF_ERROR;
            }

            key->by = s;
            key->desc = 0;

        } else {
            key = &key[lcf->sort_default->nelts - 1];
        }

        if (ngx_strcmp(opt->data, "desc") == 0) {
            key->desc = 1;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "field=", 6) == 0) {
        val.data = opt->data + 6;
        val.len = opt->len - 6;

        if (ngx_http_users_is_name(&val, 0)) {
            s->field = val;
            return NGX_CONF_OK;
        }
    }

    if (ngx_strncmp(opt->data, "kind=", 5) == 0) {
        val.data = opt->data + 5;
        val.len = opt->len - 5;

        kind = ngx_http_users_kind(&val);
        if (kind != NGX_ERROR) {
            s->kind = kind;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", opt);
    return NGX_CONF_ERROR;
}


/* no users_sort: the order is by id */

static ngx_int_t
ngx_http_users_sort_by_id(ngx_conf_t *cf, ngx_http_users_loc_conf_t *lcf)
{
    ngx_http_users_sortable_t  *s;

    lcf->sorts = ngx_array_create(cf->pool, 1,
                                  sizeof(ngx_http_users_sortable_t));
    lcf->sort_default = ngx_array_create(cf->pool, 1,
                                  sizeof(ngx_http_users_sort_key_t));

    if (lcf->sorts == NULL || lcf->sort_default == NULL) {
        return NGX_ERROR;
    }

    s = ngx_array_push(lcf->sorts);

    ngx_str_set(&s->name, "id");
    ngx_str_set(&s->field, "id");
    s->kind = NGX_HTTP_USERS_KIND_STR;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_kind(ngx_str_t *name)
{
    if (name->len == 3 && ngx_strncmp(name->data, "str", 3) == 0) {
        return NGX_HTTP_USERS_KIND_STR;
    }

    if (name->len == 3 && ngx_strncmp(name->data, "int", 3) == 0) {
        return NGX_HTTP_USERS_KIND_INT;
    }

    if (name->len == 4 && ngx_strncmp(name->data, "time", 4) == 0) {
        return NGX_HTTP_USERS_KIND_TIME;
    }

    return NGX_ERROR;
}


/*
 * users_sort_param ordering;               "a,-b": several, '-' descends
 * users_sort_param sort_by order=sort_order;   one name and a direction
 */

static char *
ngx_http_users_sort_param(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t  *value, order;

    if (lcf->sort_arg.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        goto invalid;
    }

    lcf->sort_arg = value[1];

    if (cf->args->nelts == 2) {
        ngx_str_set(&lcf->order_arg, "");
        return NGX_CONF_OK;
    }

    order.data = value[2].data + 6;
    order.len = value[2].len - 6;

    if (ngx_strncmp(value[2].data, "order=", 6) == 0
        && ngx_http_users_is_name(&order, 0))
    {
        lcf->order_arg = order;
        return NGX_CONF_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[cf->args->nelts - 1]);
    return NGX_CONF_ERROR;
}


/*
 * users_filter param op [field=f] [kind=k] [values=a,b] [default=a,b]
 *              [multi] [array] [indexed] [case=upper|lower]
 *              [permission=p] [fields=a,b] [names=name:field:kind,...];
 */

static char *
ngx_http_users_filter(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    char                     *rv;
    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_conf_enum_t          *op;
    ngx_http_users_filter_t  *f;

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (op = ngx_http_users_filter_ops; op->name.len; op++) {
        if (ngx_strcmp(op->name.data, value[2].data) == 0) {
            break;
        }
    }

    if (op->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown filter \"%V\", it must be in, eq, member, "
                           "from, to, search or odata", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (lcf->filters == NGX_CONF_UNSET_PTR) {
        lcf->filters = ngx_array_create(cf->pool, 8,
                                        sizeof(ngx_http_users_filter_t));
        if (lcf->filters == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    f = lcf->filters->elts;

    for (i = 0; i < lcf->filters->nelts; i++) {
        if (f[i].param.len == value[1].len
            && ngx_strncmp(f[i].param.data, value[1].data, value[1].len) == 0)
        {
            return "is duplicate";
        }
    }

    f = ngx_array_push(lcf->filters);
    if (f == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(f, sizeof(ngx_http_users_filter_t));

    f->param = value[1];
    f->field = value[1];
    f->op = op->value;
    f->kind = (f->op == NGX_HTTP_USERS_FILTER_FROM
               || f->op == NGX_HTTP_USERS_FILTER_TO)
              ? NGX_HTTP_USERS_KIND_TIME : NGX_HTTP_USERS_KIND_STR;

    for (i = 3; i < cf->args->nelts; i++) {
        rv = ngx_http_users_filter_option(cf, f, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (f->op == NGX_HTTP_USERS_FILTER_MEMBER
        && f->kind == NGX_HTTP_USERS_KIND_TIME)
    {
        /* kind= of a member filter: the type of the group ids */
        return "takes \"kind=str\" or \"kind=int\" with \"member\"";
    }

    if (f->op == NGX_HTTP_USERS_FILTER_SEARCH && f->fields == NULL) {
        return "needs \"fields=\"";
    }

    if (f->op == NGX_HTTP_USERS_FILTER_ODATA && f->names == NULL) {
        return "needs \"names=\"";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_users_filter_option(ngx_conf_t *cf, ngx_http_users_filter_t *f,
    ngx_str_t *opt)
{
    u_char     *eq;
    ngx_int_t   kind;
    ngx_str_t   name, val;

    if (ngx_strcmp(opt->data, "multi") == 0) {
        f->multi = 1;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(opt->data, "array") == 0) {
        f->array = 1;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(opt->data, "indexed") == 0) {
        f->indexed = 1;
        return NGX_CONF_OK;
    }

    eq = ngx_strlchr(opt->data, opt->data + opt->len, '=');
    if (eq == NULL || eq + 1 == opt->data + opt->len) {
        goto invalid;
    }

    name.data = opt->data;
    name.len = eq - opt->data;
    val.data = eq + 1;
    val.len = opt->data + opt->len - val.data;

    if (name.len == 5 && ngx_strncmp(name.data, "field", 5) == 0
        && ngx_http_users_is_name(&val, 0))
    {
        f->field = val;
        return NGX_CONF_OK;
    }

    if (name.len == 4 && ngx_strncmp(name.data, "kind", 4) == 0) {
        kind = ngx_http_users_kind(&val);
        if (kind != NGX_ERROR) {
            f->kind = kind;
            return NGX_CONF_OK;
        }
    }

    if (name.len == 6 && ngx_strncmp(name.data, "values", 6) == 0) {
        f->values = ngx_http_users_list_of(cf, &val);
        return f->values ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (name.len == 7 && ngx_strncmp(name.data, "default", 7) == 0) {
        f->defaults = ngx_http_users_list_of(cf, &val);
        return f->defaults ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (name.len == 6 && ngx_strncmp(name.data, "fields", 6) == 0) {
        f->fields = ngx_http_users_list_of(cf, &val);
        return f->fields ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (name.len == 5 && ngx_strncmp(name.data, "names", 5) == 0) {
        return ngx_http_users_odata_names(cf, f, &val);
    }

    if (name.len == 10 && ngx_strncmp(name.data, "permission", 10) == 0
        && ngx_http_users_is_name(&val, 0))
    {
        f->permission = val;
        return NGX_CONF_OK;
    }

    if (name.len == 4 && ngx_strncmp(name.data, "case", 4) == 0) {
        if (ngx_strcmp(val.data, "upper") == 0) {
            f->fold = NGX_HTTP_USERS_CASE_UPPER;
            return NGX_CONF_OK;
        }

        if (ngx_strcmp(val.data, "lower") == 0) {
            f->fold = NGX_HTTP_USERS_CASE_LOWER;
            return NGX_CONF_OK;
        }
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", opt);
    return NGX_CONF_ERROR;
}


/* names=userStatus:user_status:str,createdAt:created_at:time */

static char *
ngx_http_users_odata_names(ngx_conf_t *cf, ngx_http_users_filter_t *f,
    ngx_str_t *list)
{
    u_char                       *c1, *c2, *last;
    ngx_int_t                     kind;
    ngx_str_t                    *item, k;
    ngx_uint_t                    i;
    ngx_array_t                  *items;
    ngx_http_users_odata_field_t  *n;

    items = ngx_http_users_list_of(cf, list);
    if (items == NULL) {
        return NGX_CONF_ERROR;
    }

    f->names = ngx_array_create(cf->pool, items->nelts,
                                sizeof(ngx_http_users_odata_field_t));
    if (f->names == NULL) {
        return NGX_CONF_ERROR;
    }

    item = items->elts;

    for (i = 0; i < items->nelts; i++) {
        last = item[i].data + item[i].len;
        c1 = ngx_strlchr(item[i].data, last, ':');
        c2 = c1 ? ngx_strlchr(c1 + 1, last, ':') : NULL;

        if (c2 == NULL) {
            goto invalid;
        }

        n = ngx_array_push(f->names);
        if (n == NULL) {
            return NGX_CONF_ERROR;
        }

        n->name.data = item[i].data;
        n->name.len = c1 - item[i].data;
        n->source.data = c1 + 1;
        n->source.len = c2 - c1 - 1;
        k.data = c2 + 1;
        k.len = last - k.data;

        kind = ngx_http_users_kind(&k);

        if (kind == NGX_ERROR || kind == NGX_HTTP_USERS_KIND_INT
            || !ngx_http_users_is_name(&n->name, 0)
            || !ngx_http_users_is_name(&n->source, 0))
        {
            goto invalid;
        }

        n->kind = (kind == NGX_HTTP_USERS_KIND_TIME)
                  ? NGX_HTTP_USERS_ODATA_TIME : NGX_HTTP_USERS_ODATA_STR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid OData name \"%V\", it must be "
                       "name:field:str or name:field:time", &item[i]);
    return NGX_CONF_ERROR;
}


/* "a,b,c" -> an array of ngx_str_t pointing into the configuration */

static ngx_array_t *
ngx_http_users_list_of(ngx_conf_t *cf, ngx_str_t *list)
{
    u_char       *p, *last, *comma;
    ngx_str_t    *v;
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (comma == p) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty item in \"%V\"", list);
            return NULL;
        }

        v = ngx_array_push(a);
        if (v == NULL) {
            return NULL;
        }

        v->data = p;
        v->len = comma - p;

        p = comma + 1;
    }

    return a;
}


/* users_version_header X-API-Version v1 [v2 ...]; absent means the first */

static char *
ngx_http_users_version(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t   *value, *v;
    ngx_uint_t   i;

    if (lcf->versions) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lcf->version_header = value[1];

    lcf->versions = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                     sizeof(ngx_str_t));
    if (lcf->versions == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        v = ngx_array_push(lcf->versions);
        if (v == NULL) {
            return NGX_CONF_ERROR;
        }

        *v = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * users_expand groups from=groups key=group fields=id:int,name:string;
 *
 * ?expands=groups adds the objects users:{ws}:group:<id> for the ids in
 * the users' field "groups" (a list, or one id) to the response.
 */

static char *
ngx_http_users_expand(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t                *value, v;
    ngx_uint_t                i;
    ngx_http_users_expand_t  *e;

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid expand name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (lcf->expands == NGX_CONF_UNSET_PTR) {
        lcf->expands = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_http_users_expand_t));
        if (lcf->expands == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    e = ngx_array_push(lcf->expands);
    if (e == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(e, sizeof(ngx_http_users_expand_t));
    e->name = value[1];

    for (i = 2; i < 5; i++) {
        v.data = ngx_strlchr(value[i].data, value[i].data + value[i].len,
                             '=');
        if (v.data == NULL) {
            goto invalid;
        }

        v.data++;
        v.len = value[i].data + value[i].len - v.data;

        if (ngx_strncmp(value[i].data, "from=", 5) == 0) {
            e->from = ngx_http_users_list_of(cf, &v);
            if (e->from == NULL) {
                return NGX_CONF_ERROR;
            }

        } else if (ngx_strncmp(value[i].data, "key=", 4) == 0
                   && ngx_http_users_is_name(&v, 0))
        {
            e->key = v;

        } else if (ngx_strncmp(value[i].data, "fields=", 7) == 0) {
            if (ngx_http_users_expand_fields(cf, e, &v) != NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }

        } else {
            goto invalid;
        }
    }

    if (e->from && e->key.len && e->fields) {
        return NGX_CONF_OK;
    }

    return "needs from=, key= and fields=";

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* fields=id:int,name:string: a flat object */

static char *
ngx_http_users_expand_fields(ngx_conf_t *cf, ngx_http_users_expand_t *e,
    ngx_str_t *list)
{
    u_char                   *colon;
    ngx_str_t                *item, type, *src;
    ngx_uint_t                i;
    ngx_array_t              *items;
    ngx_conf_enum_t          *t;
    ngx_http_users_field_t   *f, **slot;

    items = ngx_http_users_list_of(cf, list);
    if (items == NULL) {
        return NGX_CONF_ERROR;
    }

    e->fields = ngx_array_create(cf->pool, items->nelts,
                                 sizeof(ngx_http_users_field_t *));
    e->sources = ngx_array_create(cf->pool, items->nelts, sizeof(ngx_str_t));
    if (e->fields == NULL || e->sources == NULL) {
        return NGX_CONF_ERROR;
    }

    item = items->elts;

    for (i = 0; i < items->nelts; i++) {
        colon = ngx_strlchr(item[i].data, item[i].data + item[i].len, ':');
        if (colon == NULL) {
            goto invalid;
        }

        type.data = colon + 1;
        type.len = item[i].data + item[i].len - type.data;

        for (t = ngx_http_users_types; t->name.len; t++) {
            if (t->name.len == type.len
                && ngx_strncmp(t->name.data, type.data, type.len) == 0)
            {
                break;
            }
        }

        f = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_field_t));
        slot = ngx_array_push(e->fields);
        src = ngx_array_push(e->sources);
        if (f == NULL || slot == NULL || src == NULL) {
            return NGX_CONF_ERROR;
        }

        f->name.data = item[i].data;
        f->name.len = colon - item[i].data;
        f->path = f->name;
        f->source = f->name;
        f->type = t->value;
        f->nullable = 1;
        f->value = i;

        if (t->name.len == 0 || t->value == NGX_HTTP_USERS_OBJECT
            || !ngx_http_users_is_name(&f->name, 0))
        {
            goto invalid;
        }

        *slot = f;
        *src = f->name;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid expand field \"%V\", it must be name:type",
                       &item[i]);
    return NGX_CONF_ERROR;
}


/* users_header X-Total-Count total; users_header Link links; */

static char *
ngx_http_users_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t                *value;
    ngx_conf_enum_t          *e;
    ngx_http_users_header_t  *h;

    value = cf->args->elts;

    for (e = ngx_http_users_env_kinds; e->name.len; e++) {
        if (ngx_strcmp(e->name.data, value[2].data) == 0) {
            break;
        }
    }

    /* a number or the links; the terminator's kind is "items" */

    switch (e->value) {
    case NGX_HTTP_USERS_ENV_TOTAL:
    case NGX_HTTP_USERS_ENV_COUNT:
    case NGX_HTTP_USERS_ENV_OFFSET:
    case NGX_HTTP_USERS_ENV_LIMIT:
    case NGX_HTTP_USERS_ENV_PAGE:
    case NGX_HTTP_USERS_ENV_PAGE_SIZE:
    case NGX_HTTP_USERS_ENV_LAST_PAGE:
    case NGX_HTTP_USERS_ENV_LINKS:
        break;

    default:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid header value \"%V\", it must be total, "
                           "count, offset, limit, page, page_size, "
                           "last_page or links", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (lcf->headers == NGX_CONF_UNSET_PTR) {
        lcf->headers = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_users_header_t));
        if (lcf->headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    h = ngx_array_push(lcf->headers);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    h->name = value[1];
    h->kind = e->value;

    return NGX_CONF_OK;
}


/*
 * users_envelope name:kind ...;   an object
 * users_envelope items;           a bare array
 */

static char *
ngx_http_users_envelope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    u_char                *colon;
    ngx_str_t             *value, kind;
    ngx_uint_t             i, items;
    ngx_conf_enum_t       *e;
    ngx_http_users_env_t  *env;

    if (lcf->envelope) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lcf->envelope = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_http_users_env_t));
    if (lcf->envelope == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "items") == 0) {
        env = ngx_array_push(lcf->envelope);
        ngx_str_null(&env->name);
        env->kind = NGX_HTTP_USERS_ENV_ITEMS;
        return NGX_CONF_OK;
    }

    items = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        colon = ngx_strlchr(value[i].data, value[i].data + value[i].len, ':');
        if (colon == NULL || colon == value[i].data) {
            goto invalid;
        }

        kind.data = colon + 1;
        kind.len = value[i].data + value[i].len - kind.data;

        for (e = ngx_http_users_env_kinds; e->name.len; e++) {
            if (e->name.len == kind.len
                && ngx_strncmp(e->name.data, kind.data, kind.len) == 0)
            {
                break;
            }
        }

        if (e->name.len == 0) {
            goto invalid;
        }

        env = ngx_array_push(lcf->envelope);
        if (env == NULL) {
            return NGX_CONF_ERROR;
        }

        env->name.data = value[i].data;
        env->name.len = colon - value[i].data;
        env->kind = e->value;

        items += (e->value == NGX_HTTP_USERS_ENV_ITEMS);
    }

    if (items != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the envelope must hold \"items\" exactly once");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid envelope member \"%V\", it must be "
                       "\"name:kind\" with a kind of items, total, count, "
                       "offset, limit, page, page_size, next_url, prev_url, "
                       "next_page, prev_page or last_page", &value[i]);
    return NGX_CONF_ERROR;
}


/* users_field <json.path> <type> [source=<hash field>] [nullable]; */

static char *
ngx_http_users_field(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    char                     *rv;
    u_char                   *p;
    ngx_str_t                *value, *src;
    ngx_uint_t                i;
    ngx_conf_enum_t          *t;
    ngx_array_t              *siblings;
    ngx_http_users_field_t   *f, **slot;

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 1)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid field name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (t = ngx_http_users_types; t->name.len; t++) {
        if (ngx_strcmp(t->name.data, value[2].data) == 0) {
            break;
        }
    }

    if (t->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown field type \"%V\", it must be string, "
                           "int, number, bool, timestamp, object, int_list "
                           "or string_list",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (lcf->fields == NULL) {
        lcf->fields = ngx_array_create(cf->pool, 16,
                                       sizeof(ngx_http_users_field_t *));
        lcf->top = ngx_array_create(cf->pool, 16,
                                    sizeof(ngx_http_users_field_t *));
        lcf->sources = ngx_array_create(cf->pool, 16, sizeof(ngx_str_t));

        if (lcf->fields == NULL || lcf->top == NULL || lcf->sources == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    f = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_field_t));
    if (f == NULL) {
        return NGX_CONF_ERROR;
    }

    f->path = value[1];
    f->type = t->value;

    for (i = 3; i < cf->args->nelts; i++) {
        rv = ngx_http_users_field_option(cf, f, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    rv = ngx_http_users_field_parent(cf, lcf, f, &siblings);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (f->type == NGX_HTTP_USERS_OBJECT) {
        f->children = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_users_field_t *));
        if (f->children == NULL) {
            return NGX_CONF_ERROR;
        }

    } else {
        if (f->source.len == 0) {
            /* "invite.id" is read from the hash field "invite_id" */
            f->source.len = f->path.len;
            f->source.data = ngx_pstrdup(cf->pool, &f->path);
            if (f->source.data == NULL) {
                return NGX_CONF_ERROR;
            }

            for (p = f->source.data; p < f->source.data + f->source.len; p++) {
                if (*p == '.') {
                    *p = '_';
                }
            }
        }

        f->value = lcf->sources->nelts;

        src = ngx_array_push(lcf->sources);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        *src = f->source;
    }

    slot = ngx_array_push(siblings);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = f;

    slot = ngx_array_push(lcf->fields);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = f;

    return NGX_CONF_OK;
}


static char *
ngx_http_users_field_option(ngx_conf_t *cf, ngx_http_users_field_t *f,
    ngx_str_t *opt)
{
    if (ngx_strcmp(opt->data, "nullable") == 0) {
        f->nullable = 1;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(opt->data, "case=upper") == 0) {
        f->fold = NGX_HTTP_USERS_CASE_UPPER;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(opt->data, "case=lower") == 0) {
        f->fold = NGX_HTTP_USERS_CASE_LOWER;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(opt->data, "permission=", 11) == 0) {
        f->permission.data = opt->data + 11;
        f->permission.len = opt->len - 11;

        if (ngx_http_users_is_name(&f->permission, 0)) {
            return NGX_CONF_OK;
        }
    }

    if (ngx_strncmp(opt->data, "source=", 7) == 0
        && f->type != NGX_HTTP_USERS_OBJECT)
    {
        f->source.data = opt->data + 7;
        f->source.len = opt->len - 7;

        if (f->source.len && f->source.len <= 128) {
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", opt);
    return NGX_CONF_ERROR;
}


/*
 * "invite.id": the object "invite" must be declared before its members;
 * the new field joins its children. A top-level field joins lcf->top.
 */

static char *
ngx_http_users_field_parent(ngx_conf_t *cf, ngx_http_users_loc_conf_t *lcf,
    ngx_http_users_field_t *f, ngx_array_t **siblings)
{
    u_char                   *dot;
    ngx_str_t                 parent;
    ngx_uint_t                i;
    ngx_http_users_field_t  **all;

    all = lcf->fields->elts;

    for (i = 0; i < lcf->fields->nelts; i++) {
        if (all[i]->path.len == f->path.len
            && ngx_strncmp(all[i]->path.data, f->path.data, f->path.len) == 0)
        {
            return "is duplicate";
        }
    }

    dot = f->path.data + f->path.len;

    while (dot > f->path.data && dot[-1] != '.') {
        dot--;
    }

    f->name.data = dot;
    f->name.len = f->path.data + f->path.len - dot;

    if (dot == f->path.data) {
        *siblings = lcf->top;
        return NGX_CONF_OK;
    }

    parent.data = f->path.data;
    parent.len = dot - 1 - f->path.data;

    for (i = 0; i < lcf->fields->nelts; i++) {
        if (all[i]->type == NGX_HTTP_USERS_OBJECT
            && all[i]->path.len == parent.len
            && ngx_strncmp(all[i]->path.data, parent.data, parent.len) == 0)
        {
            *siblings = all[i]->children;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "field \"%V\" needs \"users_field %V object\" "
                       "before it", &f->path, &parent);
    return NGX_CONF_ERROR;
}


/* [A-Za-z0-9_-]+, with single dots between parts when dots is set */

static ngx_int_t
ngx_http_users_is_name(ngx_str_t *s, ngx_uint_t dots)
{
    u_char  c, prev;
    size_t  i;

    if (s->len == 0 || s->len > 64) {
        return 0;
    }

    prev = '.';

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (c == '.') {
            if (!dots || prev == '.') {
                return 0;
            }

        } else if (!(ngx_http_users_isalnum(c) || c == '_' || c == '-')) {
            return 0;
        }

        prev = c;
    }

    return prev != '.';
}
