#!/bin/sh
# Builds and runs the unit test of the OData parser with ASan and UBSan.
#
#   t/unit/run.sh           uses $CC (default cc) and the configured
#                           nginx tree in build/nginx (NGX_BUILD to change)

set -e

cd "$(dirname "$0")/../.."

NGX_BUILD=${NGX_BUILD:-build/nginx}
CC=${CC:-cc}
OUT=build/unit
mkdir -p $OUT

if [ ! -f $NGX_BUILD/objs/ngx_auto_config.h ]; then
    echo "$NGX_BUILD/objs/ngx_auto_config.h is missing: run make first" >&2
    exit 2
fi

$CC -g -O1 -Wall -Wextra -Wno-unused-parameter -Werror \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer \
    -I $NGX_BUILD/src/core -I $NGX_BUILD/src/event \
    -I $NGX_BUILD/src/event/modules -I $NGX_BUILD/src/os/unix \
    -I $NGX_BUILD/objs -I src -I t/unit -I fuzz \
    -o $OUT/odata_test \
    t/unit/odata_test.c t/unit/ngx_stubs.c fuzz/odata_check.c \
    src/ngx_http_users_odata.c

ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    $OUT/odata_test
