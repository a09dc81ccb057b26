#!/bin/sh
# Builds each libFuzzer harness in fuzz/ and runs it for a bounded time.
#
#   fuzz/run.sh [seconds]   default 60 per harness; needs clang and
#                           libclang-rt-dev, and the configured nginx tree
#                           in build/nginx (NGX_BUILD to change)
#
# New inputs go to build/fuzz/corpus/<name> (the seeds in fuzz/corpus/<name>
# are read, never written); crashes to build/fuzz/crash-*.

set -e

cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
NGX_BUILD=${NGX_BUILD:-build/nginx}
CLANG=${CLANG:-clang}
OUT=build/fuzz

if [ ! -f $NGX_BUILD/objs/ngx_auto_config.h ]; then
    echo "$NGX_BUILD/objs/ngx_auto_config.h is missing: run make first" >&2
    exit 2
fi

mkdir -p $OUT

for harness in fuzz/*_fuzz.c; do
    name=$(basename $harness _fuzz.c)

    $CLANG -g -O1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all \
        -I $NGX_BUILD/src/core -I $NGX_BUILD/src/event \
        -I $NGX_BUILD/src/event/modules -I $NGX_BUILD/src/os/unix \
        -I $NGX_BUILD/objs -I src -I t/unit -I fuzz \
        -o $OUT/${name}_fuzz \
        $harness t/unit/ngx_stubs.c fuzz/odata_check.c \
        src/ngx_http_users_odata.c

    mkdir -p $OUT/corpus/$name
    dict=
    [ -f fuzz/$name.dict ] && dict=-dict=fuzz/$name.dict

    echo "== $name: $SECONDS_EACH s"

    $OUT/${name}_fuzz -max_total_time=$SECONDS_EACH -max_len=1100 \
        -print_final_stats=1 -artifact_prefix=$OUT/ $dict \
        $OUT/corpus/$name fuzz/corpus/$name 2>$OUT/$name.log \
        || { tail -50 $OUT/$name.log; exit 1; }

    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
        $OUT/$name.log
    grep -E '^Done [0-9]+ runs' $OUT/$name.log || true
done
