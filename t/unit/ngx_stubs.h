
/*
 * Test support: see ngx_stubs.c.
 */


#ifndef _NGX_STUBS_H_INCLUDED_
#define _NGX_STUBS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


extern ngx_uint_t  ngx_stub_fail_at;
extern ngx_uint_t  ngx_stub_allocs;


#endif /* _NGX_STUBS_H_INCLUDED_ */
