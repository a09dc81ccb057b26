
/*
 * ngx_http_users_module: serves "list users" APIs straight out of Redis.
 *
 * This file holds the directives, the configuration and the hooks into
 * nginx; the work is done by the parts in src/ (see README.md).
 */


#include "ngx_http_users.h"
#include "ngx_http_users_handler.h"


static void *ngx_http_users_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_users_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_users_init_process(ngx_cycle_t *cycle);
static void ngx_http_users_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_users_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_list(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_pagination(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_users_paging_option(ngx_conf_t *cf,
    ngx_http_users_paging_t *pg, ngx_str_t *opt);
static char *ngx_http_users_sizes(ngx_conf_t *cf,
    ngx_http_users_paging_t *pg, ngx_str_t *list);
static char *ngx_http_users_sort(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
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
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_users_commands[] = {

    { ngx_string("users_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_users_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_list"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_users_list,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("users_workspace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
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
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_users_sort,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
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
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

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
    ngx_str_t   file;
    ngx_uint_t  line;
} ngx_http_users_use_t;


/* where users_list first appeared: users_redis is checked against it */
static ngx_http_users_use_t  ngx_http_users_first_use;


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

    ngx_http_users_first_use.line = 0;

    return umcf;
}


static char *
ngx_http_users_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_users_main_conf_t  *umcf = conf;

    if (umcf->redis == NULL && ngx_http_users_first_use.line) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"users_list\" in %V:%ui requires \"users_redis\" "
                      "in the http block",
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
     *     lcf->workspace = NULL;
     *     lcf->base_url = NULL;
     *     lcf->paging.size_arg = { 0, NULL };
     *     lcf->paging.offset_arg = { 0, NULL };
     *     lcf->paging.page_arg = { 0, NULL };
     *     lcf->paging.sizes = NULL;
     *     lcf->sort = { 0, NULL };
     *     lcf->sort_desc = 0;
     *     lcf->envelope = NULL;
     *     lcf->fields = NULL;
     *     lcf->top = NULL;
     *     lcf->sources = NULL;
     */

    lcf->enable = NGX_CONF_UNSET;
    lcf->paging.style = NGX_CONF_UNSET_UINT;
    lcf->paging.size_default = NGX_CONF_UNSET_UINT;
    lcf->paging.size_max = NGX_CONF_UNSET_UINT;

    return lcf;
}


static char *
ngx_http_users_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_users_loc_conf_t  *prev = parent;
    ngx_http_users_loc_conf_t  *conf = child;

    ngx_http_users_env_t  *env;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
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

    if (conf->sort.data == NULL) {
        conf->sort = prev->sort;
        conf->sort_desc = prev->sort_desc;
    }

    if (conf->sort.data == NULL) {
        ngx_str_set(&conf->sort, "id");
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

    if (conf->workspace == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"users_list\" in %V:%ui requires \"users_workspace\"",
                      &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (conf->sources == NULL || conf->sources->nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"users_list\" in %V:%ui requires \"users_field\"",
                      &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_users_init_process(ngx_cycle_t *cycle)
{
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_users_module);

    if (umcf == NULL || umcf->redis == NULL) {
        return NGX_OK;
    }

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


static char *
ngx_http_users_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    lcf->enable = 1;
    lcf->enable_file = cf->conf_file->file.name;
    lcf->enable_line = cf->conf_file->line;

    if (ngx_http_users_first_use.line == 0) {
        ngx_http_users_first_use.file = lcf->enable_file;
        ngx_http_users_first_use.line = lcf->enable_line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_users_list_handler;

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


/* users_sort <index> [asc|desc]; */

static char *
ngx_http_users_sort(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_loc_conf_t  *lcf = conf;

    ngx_str_t  *value;

    if (lcf->sort.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!ngx_http_users_is_name(&value[1], 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid sort field \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->sort = value[1];

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "desc") == 0) {
            lcf->sort_desc = 1;

        } else if (ngx_strcmp(value[2].data, "asc") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid sort order \"%V\", "
                               "it must be \"asc\" or \"desc\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

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
                           "int, number, bool, timestamp or object",
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
