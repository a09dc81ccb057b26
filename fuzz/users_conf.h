
/*
 * Test support: the location configurations of the five APIs of conf/,
 * built by hand for the fuzzers and unit tests (no nginx configuration
 * parser).
 */


#ifndef _USERS_CONF_H_INCLUDED_
#define _USERS_CONF_H_INCLUDED_


#include "ngx_http_users.h"


#define USERS_CONF_ACCOUNTS    0       /* conf/accounts.conf */
#define USERS_CONF_USERS_V1    1       /* conf/users-v1.conf */
#define USERS_CONF_WORKSPACE   2       /* conf/workspace-users.conf */
#define USERS_CONF_PROJECT     3       /* conf/project-users.conf */
#define USERS_CONF_IDENTITY    4       /* conf/identity-users.conf */
#define USERS_CONF_ALL_TYPES   5       /* a field of every type */
#define USERS_CONF_N           6


/*
 * The merged configuration, as ngx_http_users_merge_loc_conf() leaves it;
 * built on first use and kept (and reachable) for the life of the process.
 */
ngx_http_users_loc_conf_t *users_conf(ngx_uint_t which);

/* its name, e.g. "accounts" */
const char *users_conf_name(ngx_uint_t which);


#endif /* _USERS_CONF_H_INCLUDED_ */
