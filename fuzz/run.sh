#!/bin/sh
# Builds each libFuzzer harness in fuzz/ and runs it for a bounded time.
#
#   fuzz/run.sh [seconds] [name...]
#                           default 60 s per harness, every harness; needs
#                           clang and libclang-rt-dev, libhiredis-dev,
#                           libyajl-dev, libssl-dev, and the configured
#                           nginx tree in build/nginx (NGX_BUILD to change)
#
# New inputs go to build/fuzz/corpus/<name> (the seeds in fuzz/corpus/<name>
# are read, never written); crashes to build/fuzz/crash-*. FUZZ_SRC=dir
# builds the module's sources from dir instead of src/ (to try a fix).

set -e

cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
NGX_BUILD=${NGX_BUILD:-build/nginx}
CLANG=${CLANG:-clang}
SRC=${FUZZ_SRC:-src}
OUT=build/fuzz

if [ ! -f $NGX_BUILD/objs/ngx_auto_config.h ]; then
    echo "$NGX_BUILD/objs/ngx_auto_config.h is missing: run make first" >&2
    exit 2
fi

command -v $CLANG >/dev/null || CLANG=clang-14

mkdir -p $OUT

# what each harness links beyond itself and the stubs
sources() {
    case $1 in
    odata)    echo "fuzz/odata_check.c $SRC/ngx_http_users_odata.c" ;;
    query)    echo "fuzz/odata_check.c fuzz/users_conf.c" \
                   "$SRC/ngx_http_users_odata.c $SRC/ngx_http_users_query.c" ;;
    replace)  echo "$SRC/ngx_http_users_odata.c $SRC/ngx_http_users_query.c" ;;
    bearer)   echo "$OUT/bearer_extract.c" ;;
    datetime) echo "$SRC/ngx_http_users_odata.c" ;;
    reply)    echo "$SRC/ngx_http_users_store.c -lhiredis" ;;
    json)     echo "fuzz/users_conf.c" \
                   "$SRC/ngx_http_users_json.c $SRC/ngx_http_users_query.c" \
                   "$SRC/ngx_http_users_odata.c -lyajl" ;;
    *)        echo "fuzz/run.sh: no sources for \"$1\"" >&2; exit 2 ;;
    esac
}

# ngx_http_users_bearer() and ngx_http_users_b64token() alone:
# ngx_http_users_auth.c is the access phase and links half of nginx; the
# two functions are pure
extract_bearer() {
    {
        printf '#include "ngx_http_users_auth.h"\n\n'
        for f in ngx_http_users_bearer ngx_http_users_b64token; do
            awk -v f="$f" '$0 ~ "^" f "\\(" { print "ngx_int_t"; on = 1 }
                 on { print }
                 on && /^}/ { exit }' $SRC/ngx_http_users_auth.c
            printf '\n\n'
        done
    } > $OUT/bearer_extract.c

    grep -q '^}' $OUT/bearer_extract.c || {
        echo "fuzz/run.sh: ngx_http_users_bearer() not found" >&2
        exit 2
    }
}

names=${*:-$(for h in fuzz/*_fuzz.c; do basename $h _fuzz.c; done)}

for name in $names; do
    [ $name = bearer ] && extract_bearer

    $CLANG -g -O1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all \
        -I $NGX_BUILD/src/core -I $NGX_BUILD/src/event \
        -I $NGX_BUILD/src/event/modules -I $NGX_BUILD/src/os/unix \
        -I $NGX_BUILD/src/http -I $NGX_BUILD/src/http/modules \
        -I $NGX_BUILD/src/http/v2 \
        -I $NGX_BUILD/objs -I $SRC -I t/unit -I fuzz \
        -o $OUT/${name}_fuzz \
        fuzz/${name}_fuzz.c t/unit/ngx_stubs.c $(sources $name)

    case $name in
    odata)          maxlen=1100 ;;
    datetime)       maxlen=64 ;;
    bearer)         maxlen=600 ;;
    *)              maxlen=4200 ;;
    esac

    mkdir -p $OUT/corpus/$name
    seeds=
    [ -d fuzz/corpus/$name ] && seeds=fuzz/corpus/$name
    dict=
    [ -f fuzz/$name.dict ] && dict=-dict=fuzz/$name.dict

    echo "== $name: $SECONDS_EACH s"

    $OUT/${name}_fuzz -max_total_time=$SECONDS_EACH -max_len=$maxlen \
        -print_final_stats=1 -artifact_prefix=$OUT/ $dict \
        $OUT/corpus/$name $seeds 2>$OUT/$name.log \
        || { tail -50 $OUT/$name.log; exit 1; }

    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
        $OUT/$name.log
    grep -E '^Done [0-9]+ runs' $OUT/$name.log || true
done
