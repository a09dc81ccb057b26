#!/bin/sh
# Builds and runs the unit tests of the OData and query-string parsers
# and of the link host rule and of what Redis Cluster says (slots,
# redirections, slot maps) with ASan and UBSan.
#
#   t/unit/run.sh           uses $CC (default clang, whose UBSan sees
#                           NULL + 0; else cc) and the configured
#                           nginx tree in build/nginx (NGX_BUILD to change);
#                           UNIT_SRC=dir tests the module's sources in dir

set -e

cd "$(dirname "$0")/../.."

NGX_BUILD=${NGX_BUILD:-build/nginx}
CC=${CC:-$(command -v clang-14 || command -v clang || echo cc)}
OUT=build/unit
SRC=${UNIT_SRC:-src}
mkdir -p $OUT

if [ ! -f $NGX_BUILD/objs/ngx_auto_config.h ]; then
    echo "$NGX_BUILD/objs/ngx_auto_config.h is missing: run make first" >&2
    exit 2
fi

CFLAGS="-g -O1 -Wall -Wextra -Wno-unused-parameter -Werror
    -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer
    -I $NGX_BUILD/src/core -I $NGX_BUILD/src/event
    -I $NGX_BUILD/src/event/modules -I $NGX_BUILD/src/os/unix
    -I $NGX_BUILD/src/http -I $NGX_BUILD/src/http/modules
    -I $NGX_BUILD/src/http/v2 -I $NGX_BUILD/src/http/v3
    -I $NGX_BUILD/src/event/quic
    -I $NGX_BUILD/objs -I $SRC -I t/unit -I fuzz"

$CC $CFLAGS -o $OUT/odata_test \
    t/unit/odata_test.c t/unit/ngx_stubs.c fuzz/odata_check.c \
    $SRC/ngx_http_users_odata.c

$CC $CFLAGS -o $OUT/query_test \
    t/unit/query_test.c t/unit/ngx_stubs.c fuzz/users_conf.c \
    $SRC/ngx_http_users_query.c $SRC/ngx_http_users_odata.c

$CC $CFLAGS -o $OUT/host_test \
    t/unit/host_test.c t/unit/ngx_stubs.c $SRC/ngx_http_users_host.c

$CC $CFLAGS -o $OUT/cluster_test \
    t/unit/cluster_test.c t/unit/ngx_stubs.c \
    $SRC/ngx_http_users_cluster_parse.c

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

status=0

for test in odata_test query_test host_test cluster_test; do
    echo "== $test"
    $OUT/$test || status=1
done

exit $status
