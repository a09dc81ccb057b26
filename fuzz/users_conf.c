
/*
 * Test support: the location configurations of the five APIs of conf/,
 * built by hand.
 *
 * Each configuration is its directives as text, one a line, read by a few
 * lines of code that set what ngx_http_users_module.c's handlers set, then
 * merged with the defaults of ngx_http_users_merge_loc_conf(). Directives
 * that do not shape parsing or rendering (users_list, users_workspace, ...)
 * are left out. A directive this file cannot read aborts: the tables and
 * the module must not drift apart silently.
 */


#include "ngx_stubs.h"
#include "users_conf.h"


#define USERS_CONF_MAX_ARGS  16


static ngx_pool_t                 *users_conf_pool;
static ngx_http_users_loc_conf_t  *users_conf_built[USERS_CONF_N];


static const char  *users_conf_accounts[] = {
    "users_pagination offset limit=limit offset=offset default=20 max=100",
    "users_sort_param ordering",
    "users_sort last_name default",
    "users_sort first_name",
    "users_sort status",
    "users_filter status in multi values=active,inactive,invited"
        " default=active indexed",
    "users_filter type in multi values=guest,user indexed",
    "users_filter groups member field=group multi kind=int",
    "users_envelope count:total next:next_url previous:prev_url"
        " results:items",
    "users_field id int",
    "users_field email string",
    "users_field first_name string",
    "users_field last_name string",
    "users_field phone string nullable",
    "users_field photo string nullable",
    "users_field status string",
    "users_field is_staff bool",
    "users_field is_admin bool",
    "users_field is_account_owner bool",
    "users_field invite object nullable",
    "users_field invite.id string",
    "users_field invite.by_username string",
    "users_field invite.date_created timestamp",
    "users_field invite.invited_by int",
    "users_field invite.invited_from string",
    NULL
};


static const char  *users_conf_users_v1[] = {
    "users_pagination page page=page size=page_size default=20 max=100",
    "users_sort_param sort_by order=sort_order",
    "users_sort created_at kind=time default",
    "users_sort updated_at kind=time",
    "users_sort name",
    "users_sort email",
    "users_sort identifier",
    "users_sort user_type",
    "users_sort status",
    "users_filter id eq permission=metadata",
    "users_filter created_by eq permission=metadata",
    "users_filter updated_by eq permission=metadata",
    "users_filter user_type in"
        " values=saas_admin,saas_user,saas_user_client indexed",
    "users_filter status in"
        " values=active,onboarding,inactive,suspended,risky indexed",
    "users_filter created_at_from from field=created_at",
    "users_filter created_at_to to field=created_at",
    "users_filter updated_at_from from field=updated_at",
    "users_filter updated_at_to to field=updated_at",
    "users_filter search search fields=id,email,name,description",
    "users_envelope items",
    "users_field id string",
    "users_field identifier string",
    "users_field name string",
    "users_field email string",
    "users_field user_type string",
    "users_field status string",
    "users_field created_at timestamp",
    "users_field updated_at timestamp",
    "users_field created_by string nullable permission=metadata",
    "users_field updated_by string nullable permission=metadata",
    NULL
};


static const char  *users_conf_workspace[] = {
    "users_pagination page page=page size=pageSize default=30 max=30",
    "users_sort_param sortBy order=sortOrder",
    "users_sort name default",
    "users_sort role",
    "users_sort status",
    "users_sort createdAt field=created_at kind=time",
    "users_sort updatedAt field=updated_at kind=time",
    "users_filter role in values=ADMIN,OPERATOR,READ_ONLY_API_KEY indexed",
    "users_filter deviceType in field=device_type values=PSD,SOFT_PSD,API"
        " indexed",
    "users_filter status in values=ACTIVE,INACTIVE indexed",
    "users_filter ids in field=id array",
    "users_envelope page:page next:next_page prev:prev_page"
        " pageSize:page_size total:total results:items",
    "users_field id string",
    "users_field legacyId int source=legacy_id",
    "users_field legacyViewAll bool source=legacy_view_all",
    "users_field workspaceName string source=workspace_name",
    "users_field name string",
    "users_field deviceUserId string source=device_user_id nullable",
    "users_field deviceType string source=device_type case=upper",
    "users_field role string case=upper",
    "users_field pubKey string source=pub_key",
    "users_field status string case=upper",
    "users_field isSuspended bool source=is_suspended",
    "users_field createdAt timestamp source=created_at",
    "users_field updatedAt timestamp source=updated_at",
    NULL
};


static const char  *users_conf_project[] = {
    "users_invalid_status 422",
    "users_pagination page page=page size=per_page default=100"
        " sizes=15,25,50,100",
    "users_sort id kind=int default",
    "users_envelope page:page prev_page:prev_page next_page:next_page"
        " last_page:last_page per_page:page_size total:total result:items",
    "users_field id int",
    "users_field name string",
    "users_field email string",
    "users_field type int",
    "users_field timezone string nullable",
    "users_field date_format string nullable",
    "users_field time_format string nullable",
    "users_field role_id int nullable",
    "users_field groups int_list",
    "users_field created_at timestamp nullable",
    "users_field created_by int nullable",
    "users_field updated_at timestamp nullable",
    "users_field updated_by int nullable",
    NULL
};


static const char  *users_conf_identity[] = {
    "users_pagination offset limit=limit offset=offset default=300 max=600",
    "users_sort id default",
    "users_filter filter odata names=id:id:str,username:username:str,"
        "userStatus:user_status:str,createdAt:created_at:time,"
        "updatedAt:updated_at:time,lastLogin:last_login:time",
    "users_envelope offset:offset count:count total:total items:items",
    "users_field id string",
    "users_field username string",
    "users_field userStatus string source=user_status",
    "users_field createdAt timestamp source=created_at",
    "users_field updatedAt timestamp source=updated_at",
    "users_field lastLogin timestamp source=last_login nullable",
    NULL
};


/*
 * Not one of conf/: every field type and envelope kind, every filter
 * operator and option, and the largest page size the module accepts.
 */

static const char  *users_conf_all_types[] = {
    "users_invalid_status 422",
    "users_pagination page page=p size=n default=50 max=100000",
    "users_sort_param sort",
    "users_sort a default",
    "users_sort b kind=int desc",
    "users_sort c field=cc kind=time",
    "users_filter q search fields=s,sl",
    "users_filter k in kind=int values=1,2,3 multi array",
    "users_filter low eq case=lower",
    "users_filter up in multi case=upper default=A,B",
    "users_filter g member field=group multi array",
    "users_filter since from",
    "users_filter until to kind=time permission=admin",
    "users_filter num from kind=int",
    "users_filter f odata names=id:id:str,username:username:str,"
        "userStatus:user_status:str,createdAt:created_at:time,"
        "updatedAt:updated_at:time,lastLogin:last_login:time",
    "users_envelope items:items total:total count:count offset:offset"
        " limit:limit page:page page_size:page_size next_url:next_url"
        " prev_url:prev_url next_page:next_page prev_page:prev_page"
        " last_page:last_page",
    "users_field s string",
    "users_field su string case=upper nullable",
    "users_field sl string case=lower",
    "users_field i int",
    "users_field in int nullable",
    "users_field n number",
    "users_field nn number nullable",
    "users_field b bool",
    "users_field bn bool nullable",
    "users_field t timestamp",
    "users_field il int_list",
    "users_field sl2 string_list nullable",
    "users_field secret string permission=admin",
    "users_field o object",
    "users_field o.x string",
    "users_field o.p object nullable",
    "users_field o.p.y int nullable",
    "users_field o.p.z string_list",
    "users_field e object nullable",
    "users_field h object permission=admin",
    "users_field h.v string",
    NULL
};


static const char **users_conf_text[USERS_CONF_N] = {
    users_conf_accounts,
    users_conf_users_v1,
    users_conf_workspace,
    users_conf_project,
    users_conf_identity,
    users_conf_all_types
};


static const char  *users_conf_names[USERS_CONF_N] = {
    "accounts", "users-v1", "workspace-users", "project-users",
    "identity-users", "all-types"
};


static const char  *users_conf_ops[] = {
    "in", "eq", "member", "from", "to", "search", "odata", "scope", NULL
};


static const char  *users_conf_types[] = {
    "string", "int", "number", "bool", "timestamp", "object", "int_list",
    "string_list", NULL
};


static const char  *users_conf_env_kinds[] = {
    "items", "total", "count", "offset", "limit", "page", "page_size",
    "next_url", "prev_url", "next_page", "prev_page", "last_page", NULL
};


static void
users_conf_die(const char *line, const char *why)
{
    fprintf(stderr, "users_conf: \"%s\": %s\n", line, why);
    abort();
}


static void *
users_conf_alloc(size_t size)
{
    void  *p;

    p = ngx_pcalloc(users_conf_pool, size);
    if (p == NULL) {
        abort();
    }

    return p;
}


static ngx_array_t *
users_conf_array(size_t size)
{
    ngx_array_t  *a;

    a = ngx_array_create(users_conf_pool, 4, size);
    if (a == NULL) {
        abort();
    }

    return a;
}


static void *
users_conf_push(ngx_array_t *a)
{
    void  *p;

    p = ngx_array_push(a);
    if (p == NULL) {
        abort();
    }

    return p;
}


static ngx_str_t
users_conf_str(const char *s, size_t len)
{
    ngx_str_t  v;

    v.data = users_conf_alloc(len + 1);
    v.len = len;
    ngx_memcpy(v.data, s, len);

    return v;
}


static ngx_int_t
users_conf_is(ngx_str_t *s, const char *what)
{
    return s->len == ngx_strlen(what)
           && ngx_strncmp(s->data, what, s->len) == 0;
}


/* "name=value": value if s starts with prefix "name=", else NULL data */

static ngx_str_t
users_conf_opt(ngx_str_t *s, const char *prefix)
{
    size_t     n;
    ngx_str_t  v;

    n = ngx_strlen(prefix);

    if (s->len > n && ngx_strncmp(s->data, prefix, n) == 0) {
        v.data = s->data + n;
        v.len = s->len - n;
        return v;
    }

    ngx_str_null(&v);

    return v;
}


static ngx_uint_t
users_conf_find(const char **names, ngx_str_t *s, const char *line)
{
    ngx_uint_t  i;

    for (i = 0; names[i]; i++) {
        if (users_conf_is(s, names[i])) {
            return i;
        }
    }

    users_conf_die(line, "unknown name");

    return 0;
}


/* "a,b,c" -> an array of ngx_str_t */

static ngx_array_t *
users_conf_list(ngx_str_t *list)
{
    u_char       *p, *last, *comma;
    ngx_str_t    *v;
    ngx_array_t  *a;

    a = users_conf_array(sizeof(ngx_str_t));

    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        v = users_conf_push(a);
        v->data = p;
        v->len = comma - p;

        p = comma + 1;
    }

    return a;
}


static ngx_uint_t
users_conf_kind(ngx_str_t *s, const char *line)
{
    static const char  *kinds[] = { "str", "int", "time", NULL };

    return users_conf_find(kinds, s, line);
}


static void
users_conf_pagination(ngx_http_users_loc_conf_t *lcf, ngx_str_t *a,
    ngx_uint_t n, const char *line)
{
    ngx_uint_t                i, j, *size;
    ngx_str_t                 v, *s;
    ngx_array_t              *list;
    ngx_http_users_paging_t  *pg;

    pg = &lcf->paging;

    if (users_conf_is(&a[1], "offset")) {
        pg->style = NGX_HTTP_USERS_PAGE_OFFSET;
        ngx_str_set(&pg->size_arg, "limit");

    } else {
        pg->style = NGX_HTTP_USERS_PAGE_NUMBER;
        ngx_str_set(&pg->size_arg, "page_size");
    }

    ngx_str_set(&pg->offset_arg, "offset");
    ngx_str_set(&pg->page_arg, "page");
    pg->size_default = 20;
    pg->size_max = 100;

    for (i = 2; i < n; i++) {
        if ((v = users_conf_opt(&a[i], "default=")).data) {
            pg->size_default = ngx_atoi(v.data, v.len);

        } else if ((v = users_conf_opt(&a[i], "max=")).data) {
            pg->size_max = ngx_atoi(v.data, v.len);

        } else if ((v = users_conf_opt(&a[i], "limit=")).data
                   || (v = users_conf_opt(&a[i], "size=")).data)
        {
            pg->size_arg = v;

        } else if ((v = users_conf_opt(&a[i], "offset=")).data) {
            pg->offset_arg = v;

        } else if ((v = users_conf_opt(&a[i], "page=")).data) {
            pg->page_arg = v;

        } else if ((v = users_conf_opt(&a[i], "sizes=")).data) {
            list = users_conf_list(&v);
            pg->sizes = users_conf_array(sizeof(ngx_uint_t));
            pg->size_max = 0;
            s = list->elts;

            for (j = 0; j < list->nelts; j++) {
                size = users_conf_push(pg->sizes);
                *size = ngx_atoi(s[j].data, s[j].len);
                pg->size_max = ngx_max(pg->size_max, *size);
            }

        } else {
            users_conf_die(line, "unknown option");
        }
    }
}


static void
users_conf_sort(ngx_http_users_loc_conf_t *lcf, ngx_str_t *a, ngx_uint_t n,
    const char *line)
{
    ngx_str_t                   v;
    ngx_uint_t                  i;
    ngx_http_users_sort_key_t  *key;
    ngx_http_users_sortable_t  *s;

    if (lcf->sorts == NULL) {
        /* sort keys point into this array: it is never reallocated */
        lcf->sorts = ngx_array_create(users_conf_pool, 32,
                                      sizeof(ngx_http_users_sortable_t));
        lcf->sort_default = users_conf_array(
                                      sizeof(ngx_http_users_sort_key_t));
    }

    s = users_conf_push(lcf->sorts);
    s->name = a[1];
    s->field = a[1];
    s->kind = NGX_HTTP_USERS_KIND_STR;

    for (i = 2; i < n; i++) {
        if (users_conf_is(&a[i], "default") || users_conf_is(&a[i], "desc")) {
            key = users_conf_push(lcf->sort_default);
            key->by = s;
            key->desc = users_conf_is(&a[i], "desc");

        } else if ((v = users_conf_opt(&a[i], "field=")).data) {
            s->field = v;

        } else if ((v = users_conf_opt(&a[i], "kind=")).data) {
            s->kind = users_conf_kind(&v, line);

        } else {
            users_conf_die(line, "unknown option");
        }
    }
}


static void
users_conf_odata_names(ngx_http_users_filter_t *f, ngx_str_t *list,
    const char *line)
{
    u_char                        *c1, *c2, *last;
    ngx_str_t                     *item, k;
    ngx_uint_t                     i;
    ngx_array_t                   *items;
    ngx_http_users_odata_field_t  *o;

    items = users_conf_list(list);
    item = items->elts;

    f->names = users_conf_array(sizeof(ngx_http_users_odata_field_t));

    for (i = 0; i < items->nelts; i++) {
        last = item[i].data + item[i].len;
        c1 = ngx_strlchr(item[i].data, last, ':');
        c2 = c1 ? ngx_strlchr(c1 + 1, last, ':') : NULL;

        if (c2 == NULL) {
            users_conf_die(line, "invalid OData name");
        }

        o = users_conf_push(f->names);
        o->name.data = item[i].data;
        o->name.len = c1 - item[i].data;
        o->source.data = c1 + 1;
        o->source.len = c2 - c1 - 1;
        k.data = c2 + 1;
        k.len = last - k.data;

        o->kind = (users_conf_kind(&k, line) == NGX_HTTP_USERS_KIND_TIME)
                  ? NGX_HTTP_USERS_ODATA_TIME : NGX_HTTP_USERS_ODATA_STR;
    }
}


static void
users_conf_filter(ngx_http_users_loc_conf_t *lcf, ngx_str_t *a,
    ngx_uint_t n, const char *line)
{
    ngx_str_t                 v;
    ngx_uint_t                i;
    ngx_http_users_filter_t  *f;

    if (lcf->filters == NULL) {
        lcf->filters = ngx_array_create(users_conf_pool, 8,
                                        sizeof(ngx_http_users_filter_t));
    }

    f = users_conf_push(lcf->filters);
    ngx_memzero(f, sizeof(ngx_http_users_filter_t));

    f->param = a[1];
    f->field = a[1];
    f->op = users_conf_find(users_conf_ops, &a[2], line);
    f->kind = (f->op == NGX_HTTP_USERS_FILTER_FROM
               || f->op == NGX_HTTP_USERS_FILTER_TO)
              ? NGX_HTTP_USERS_KIND_TIME : NGX_HTTP_USERS_KIND_STR;

    for (i = 3; i < n; i++) {
        if (users_conf_is(&a[i], "multi")) {
            f->multi = 1;

        } else if (users_conf_is(&a[i], "array")) {
            f->array = 1;

        } else if (users_conf_is(&a[i], "indexed")) {
            f->indexed = 1;

        } else if ((v = users_conf_opt(&a[i], "field=")).data) {
            f->field = v;

        } else if ((v = users_conf_opt(&a[i], "kind=")).data) {
            f->kind = users_conf_kind(&v, line);

        } else if ((v = users_conf_opt(&a[i], "values=")).data) {
            f->values = users_conf_list(&v);

        } else if ((v = users_conf_opt(&a[i], "default=")).data) {
            f->defaults = users_conf_list(&v);

        } else if ((v = users_conf_opt(&a[i], "fields=")).data) {
            f->fields = users_conf_list(&v);

        } else if ((v = users_conf_opt(&a[i], "names=")).data) {
            users_conf_odata_names(f, &v, line);

        } else if ((v = users_conf_opt(&a[i], "permission=")).data) {
            f->permission = v;

        } else if (users_conf_is(&a[i], "case=upper")) {
            f->fold = NGX_HTTP_USERS_CASE_UPPER;

        } else if (users_conf_is(&a[i], "case=lower")) {
            f->fold = NGX_HTTP_USERS_CASE_LOWER;

        } else {
            users_conf_die(line, "unknown option");
        }
    }

    if ((f->op == NGX_HTTP_USERS_FILTER_SEARCH && f->fields == NULL)
        || (f->op == NGX_HTTP_USERS_FILTER_ODATA && f->names == NULL))
    {
        users_conf_die(line, "needs fields= or names=");
    }
}


static void
users_conf_envelope(ngx_http_users_loc_conf_t *lcf, ngx_str_t *a,
    ngx_uint_t n, const char *line)
{
    u_char                *colon;
    ngx_str_t              kind;
    ngx_uint_t             i;
    ngx_http_users_env_t  *env;

    lcf->envelope = users_conf_array(sizeof(ngx_http_users_env_t));

    if (n == 2 && users_conf_is(&a[1], "items")) {
        env = users_conf_push(lcf->envelope);
        ngx_str_null(&env->name);
        env->kind = NGX_HTTP_USERS_ENV_ITEMS;
        return;
    }

    for (i = 1; i < n; i++) {
        colon = ngx_strlchr(a[i].data, a[i].data + a[i].len, ':');
        if (colon == NULL) {
            users_conf_die(line, "envelope member without ':'");
        }

        kind.data = colon + 1;
        kind.len = a[i].data + a[i].len - kind.data;

        env = users_conf_push(lcf->envelope);
        env->name.data = a[i].data;
        env->name.len = colon - a[i].data;
        env->kind = users_conf_find(users_conf_env_kinds, &kind, line);
    }
}


static void
users_conf_field(ngx_http_users_loc_conf_t *lcf, ngx_str_t *a, ngx_uint_t n,
    const char *line)
{
    u_char                   *p, *dot;
    ngx_str_t                 v, parent, *src;
    ngx_uint_t                i;
    ngx_array_t              *siblings;
    ngx_http_users_field_t   *f, **all;

    if (lcf->fields == NULL) {
        lcf->fields = users_conf_array(sizeof(ngx_http_users_field_t *));
        lcf->top = users_conf_array(sizeof(ngx_http_users_field_t *));
        lcf->sources = users_conf_array(sizeof(ngx_str_t));
    }

    f = users_conf_alloc(sizeof(ngx_http_users_field_t));
    f->path = a[1];
    f->type = users_conf_find(users_conf_types, &a[2], line);

    for (i = 3; i < n; i++) {
        if (users_conf_is(&a[i], "nullable")) {
            f->nullable = 1;

        } else if (users_conf_is(&a[i], "case=upper")) {
            f->fold = NGX_HTTP_USERS_CASE_UPPER;

        } else if (users_conf_is(&a[i], "case=lower")) {
            f->fold = NGX_HTTP_USERS_CASE_LOWER;

        } else if ((v = users_conf_opt(&a[i], "permission=")).data) {
            f->permission = v;

        } else if ((v = users_conf_opt(&a[i], "source=")).data) {
            f->source = v;

        } else {
            users_conf_die(line, "unknown option");
        }
    }

    dot = f->path.data + f->path.len;

    while (dot > f->path.data && dot[-1] != '.') {
        dot--;
    }

    f->name.data = dot;
    f->name.len = f->path.data + f->path.len - dot;

    siblings = lcf->top;

    if (dot != f->path.data) {
        parent.data = f->path.data;
        parent.len = dot - 1 - f->path.data;
        all = lcf->fields->elts;
        siblings = NULL;

        for (i = 0; i < lcf->fields->nelts; i++) {
            if (all[i]->type == NGX_HTTP_USERS_OBJECT
                && all[i]->path.len == parent.len
                && ngx_strncmp(all[i]->path.data, parent.data, parent.len)
                   == 0)
            {
                siblings = all[i]->children;
            }
        }

        if (siblings == NULL) {
            users_conf_die(line, "no parent object");
        }
    }

    if (f->type == NGX_HTTP_USERS_OBJECT) {
        f->children = users_conf_array(sizeof(ngx_http_users_field_t *));

    } else {
        if (f->source.len == 0) {
            f->source = users_conf_str((char *) f->path.data, f->path.len);

            for (p = f->source.data; p < f->source.data + f->source.len; p++)
            {
                if (*p == '.') {
                    *p = '_';
                }
            }
        }

        f->value = lcf->sources->nelts;
        src = users_conf_push(lcf->sources);
        *src = f->source;
    }

    *(ngx_http_users_field_t **) users_conf_push(siblings) = f;
    *(ngx_http_users_field_t **) users_conf_push(lcf->fields) = f;
}


/* what ngx_http_users_merge_loc_conf() adds to an unset location */

static void
users_conf_merge(ngx_http_users_loc_conf_t *lcf)
{
    ngx_http_users_env_t       *env;
    ngx_http_users_sort_key_t  *key;
    ngx_http_users_sortable_t  *s;

    if (lcf->paging.style == NGX_CONF_UNSET_UINT) {
        lcf->paging.style = NGX_HTTP_USERS_PAGE_OFFSET;
        ngx_str_set(&lcf->paging.size_arg, "limit");
        ngx_str_set(&lcf->paging.offset_arg, "offset");
        ngx_str_set(&lcf->paging.page_arg, "page");
        lcf->paging.size_default = 20;
        lcf->paging.size_max = 100;
    }

    if (lcf->sorts == NULL) {
        lcf->sorts = users_conf_array(sizeof(ngx_http_users_sortable_t));
        lcf->sort_default = users_conf_array(
                                         sizeof(ngx_http_users_sort_key_t));
        s = users_conf_push(lcf->sorts);
        ngx_str_set(&s->name, "id");
        ngx_str_set(&s->field, "id");
        s->kind = NGX_HTTP_USERS_KIND_STR;
    }

    if (lcf->sort_default->nelts == 0) {
        key = users_conf_push(lcf->sort_default);
        key->by = lcf->sorts->elts;
        key->desc = 0;
    }

    if (lcf->invalid_status == NGX_CONF_UNSET_UINT) {
        lcf->invalid_status = NGX_HTTP_BAD_REQUEST;
    }

    lcf->scan_limit = 1000000;

    if (lcf->envelope == NULL) {
        lcf->envelope = users_conf_array(sizeof(ngx_http_users_env_t));
        env = users_conf_push(lcf->envelope);
        ngx_str_set(&env->name, "count");
        env->kind = NGX_HTTP_USERS_ENV_TOTAL;
        env = users_conf_push(lcf->envelope);
        ngx_str_set(&env->name, "next");
        env->kind = NGX_HTTP_USERS_ENV_NEXT_URL;
        env = users_conf_push(lcf->envelope);
        ngx_str_set(&env->name, "previous");
        env->kind = NGX_HTTP_USERS_ENV_PREV_URL;
        env = users_conf_push(lcf->envelope);
        ngx_str_set(&env->name, "results");
        env->kind = NGX_HTTP_USERS_ENV_ITEMS;
    }
}


static ngx_http_users_loc_conf_t *
users_conf_build(const char **text)
{
    u_char                     *p, *last, *sp;
    ngx_str_t                   a[USERS_CONF_MAX_ARGS], line;
    ngx_uint_t                  n;
    ngx_http_users_loc_conf_t  *lcf;

    lcf = users_conf_alloc(sizeof(ngx_http_users_loc_conf_t));

    lcf->paging.style = NGX_CONF_UNSET_UINT;
    lcf->invalid_status = NGX_CONF_UNSET_UINT;

    for ( /* void */ ; *text; text++) {
        line = users_conf_str(*text, strlen(*text));

        p = line.data;
        last = line.data + line.len;

        for (n = 0; p < last; n++) {
            if (n == USERS_CONF_MAX_ARGS) {
                users_conf_die(*text, "too many arguments");
            }

            sp = ngx_strlchr(p, last, ' ');
            if (sp == NULL) {
                sp = last;
            }

            a[n].data = p;
            a[n].len = sp - p;
            *sp = '\0';                /* as nginx's arguments are */

            p = sp + 1;
        }

        if (users_conf_is(&a[0], "users_pagination")) {
            users_conf_pagination(lcf, a, n, *text);

        } else if (users_conf_is(&a[0], "users_sort_param")) {
            lcf->sort_arg = a[1];
            ngx_str_set(&lcf->order_arg, "");

            if (n == 3) {
                lcf->order_arg = users_conf_opt(&a[2], "order=");
            }

        } else if (users_conf_is(&a[0], "users_sort")) {
            users_conf_sort(lcf, a, n, *text);

        } else if (users_conf_is(&a[0], "users_filter")) {
            users_conf_filter(lcf, a, n, *text);

        } else if (users_conf_is(&a[0], "users_invalid_status")) {
            lcf->invalid_status = ngx_atoi(a[1].data, a[1].len);

        } else if (users_conf_is(&a[0], "users_envelope")) {
            users_conf_envelope(lcf, a, n, *text);

        } else if (users_conf_is(&a[0], "users_field")) {
            users_conf_field(lcf, a, n, *text);

        } else {
            users_conf_die(*text, "unknown directive");
        }
    }

    users_conf_merge(lcf);

    return lcf;
}


ngx_http_users_loc_conf_t *
users_conf(ngx_uint_t which)
{
    ngx_uint_t  fail_at;

    if (which >= USERS_CONF_N) {
        abort();
    }

    if (users_conf_built[which]) {
        return users_conf_built[which];
    }

    /* allocation failures are for the code under test, not for this */

    fail_at = ngx_stub_fail_at;
    ngx_stub_fail_at = 0;

    if (users_conf_pool == NULL) {
        users_conf_pool = ngx_create_pool(4096, NULL);
    }

    users_conf_built[which] = users_conf_build(users_conf_text[which]);

    ngx_stub_fail_at = fail_at;

    return users_conf_built[which];
}


const char *
users_conf_name(ngx_uint_t which)
{
    return which < USERS_CONF_N ? users_conf_names[which] : "?";
}
