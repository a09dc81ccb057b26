#!/bin/bash
# The benchmark (`make bench`): ngx_http_users_module against the ceiling
# of the same nginx and against the same endpoint written in Lua.
#
#   bench/run.sh                     5 rounds x 7 targets x 10 s (~6.5 min)
#   BENCH_ROUNDS=1 BENCH_DURATION=3 bench/run.sh    a quick run (~30 s)
#
# Starts its own redis-server and two nginx (the Debian binary, 2 workers
# each) on free loopback ports, loads BENCH_USERS (10,000) generated users
# into workspace "demo", and runs wrk (-t2 -c64 --latency) in interleaved
# rounds against:
#   (a) module20/100  GET /accounts/users?limit=20|100 through the module
#   (b) static20/100  the module's response, saved once, as a static file
#   (c) return20      the same bytes from memory (return 200)
#   (d) lua20/100     the same endpoint in OpenResty style (Lua, resty.redis,
#                     cjson) in the second nginx
# then prints medians over rounds (req/s, p50, p99, CPU per request of Redis
# and of the serving nginx's workers) and the ratios. Everything it started
# is stopped on exit, error or interrupt. Work files, raw wrk outputs and
# the table: build/bench/.
#
# Environment: BENCH_ROUNDS (5), BENCH_DURATION (seconds, 10),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2), BENCH_WORKERS (2),
# BENCH_USERS (10000), BENCH_REDIS_CONNECTIONS (module connections per
# worker, 4), BENCH_TARGETS (space-separated subset of the target names),
# BENCH_NO_LUA=1 (skip (d)), USERS_NO_DEPS=1 (install nothing).

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench

ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
USERS=${BENCH_USERS:-10000}
REDIS_CONNS=${BENCH_REDIS_CONNECTIONS:-4}
TARGETS=${BENCH_TARGETS:-module20 static20 return20 lua20 module100 static100 lua100}

NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
WRK=${WRK:-wrk}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so
LUA_MODULES=/usr/lib/nginx/modules

say() { printf '%s\n' "bench: $*" >&2; }
die() { printf '%s\n' "bench: $*" >&2; exit 1; }

redis_pid=
nginx_pids=

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    for p in $nginx_pids; do
        kill -QUIT "$p" 2>/dev/null
    done
    [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null
    for p in $nginx_pids $redis_pid; do
        for _ in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM HUP

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => 0, Proto => "tcp", Listen => 1) or die "$!\n";
        print $s->sockport, "\n";'
}

# ---- what is needed -------------------------------------------------------

[ -x "$ADMIN" ] && [ -f "$MODULE" ] \
    || die "build first: make (needs $MODULE and $ADMIN)"
command -v "$WRK" >/dev/null || die "no wrk (apt-get install wrk)"

lua=1
case " $TARGETS " in *" lua"*) ;; *) lua=0 ;; esac
[ -n "${BENCH_NO_LUA:-}" ] && lua=0

lua_ready() {
    [ -f "$LUA_MODULES/ngx_http_lua_module.so" ] \
        && [ -f "$LUA_MODULES/ndk_http_module.so" ] \
        && [ -f /usr/share/lua/5.1/nginx/redis.lua ] \
        && dpkg -L lua-cjson 2>/dev/null | grep -q '/5\.1/cjson\.so$'
}

if [ "$lua" = 1 ] && ! lua_ready; then
    if [ -z "${USERS_NO_DEPS:-}" ] && [ "$(id -u)" = 0 ]; then
        say "installing libnginx-mod-http-lua lua-nginx-redis lua-cjson"
        apt-get install -y -qq --no-install-recommends \
            libnginx-mod-http-lua lua-nginx-redis lua-cjson >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && \
                 apt-get install -y -qq --no-install-recommends \
                 libnginx-mod-http-lua lua-nginx-redis lua-cjson \
                 >/dev/null 2>&1; }
    fi
    lua_ready || { say "no Lua modules: skipping (d)"; lua=0; }
fi

if [ "$lua" = 0 ]; then
    TARGETS=$(printf '%s\n' $TARGETS | grep -v '^lua' | tr '\n' ' ')
fi

# ---- Redis with 10,000 users ---------------------------------------------

rm -rf "$work"
mkdir -p "$work/redis" "$work/module/logs" "$work/module/tmp" \
         "$work/module/www/static" "$work/lua/logs" "$work/lua/tmp" \
         "$work/wrk"

REDIS_PORT=$(free_port) || die "no free port"

"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" \
    || die "redis-server failed, see $work/redis/redis.log"

for _ in $(seq 50); do
    [ -s "$work/redis/redis.pid" ] \
        && redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
redis_pid=$(cat "$work/redis/redis.pid" 2>/dev/null)
[ -n "$redis_pid" ] || die "redis-server did not start"

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
admin() { "$ADMIN" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

admin load-functions "$root/redis/users.lua" >/dev/null \
    || die "load-functions failed"
admin schema demo --sort last_name:str,first_name:str,status:str,created_at:time \
    --enum status,type --member groups:group >/dev/null || die "schema failed"
"$root/scripts/gen-users.pl" "$USERS" 1 > "$work/users.jsonl" \
    || die "gen-users.pl failed"
admin import demo "$work/users.jsonl" >&2 || die "import failed"

# ---- nginx with the module, and the Lua nginx ---------------------------

PORT=$(free_port) || die "no free port"
LUA_PORT=$(free_port) || die "no free port"
while [ "$LUA_PORT" = "$PORT" ]; do LUA_PORT=$(free_port); done

# nginx -p prefix -c conf: echo the master's pid
start_nginx() {
    local prefix=$1 conf=$2 pid
    "$NGINX" -q -t -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
        || die "nginx -t failed for $conf"
    "$NGINX" -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
        || die "nginx failed, see $prefix/logs/error.log"
    for _ in $(seq 50); do
        [ -s "$prefix/nginx.pid" ] && break
        sleep 0.1
    done
    pid=$(cat "$prefix/nginx.pid" 2>/dev/null)
    [ -n "$pid" ] || die "nginx did not start, see $prefix/logs/error.log"
    printf '%s\n' "$pid"
}

workers_of() { pgrep -P "$1" | tr '\n' ' '; }

# the module's response, fetched from a first configuration without (c)
empty=$work/empty
: > "$empty"
mconf=$work/module/nginx.conf
conf_args="ROOT=$root PREFIX=$work/module PORT=$PORT REDIS_PORT=$REDIS_PORT
           REDIS_CONNECTIONS=$REDIS_CONNS WORKERS=$WORKERS"

# shellcheck disable=SC2086
perl "$root/bench/bench.pl" conf "$root/bench/module.conf.in" $conf_args \
    RETURN_20="return 503;" RETURN_100="return 503;" > "$mconf" \
    || die "cannot write $mconf"
mpid=$(start_nginx "$work/module" "$mconf") || exit 1
nginx_pids=$mpid

url=http://127.0.0.1:$PORT
for l in 20 100; do
    for _ in $(seq 30); do
        code=$(curl -s -o "$work/module/www/static/users$l.json" \
               -w '%{http_code}' "$url/accounts/users?limit=$l")
        [ "$code" = 200 ] && break
        sleep 0.2
    done
    [ "$code" = 200 ] || die "the module answers $code, see" \
                             "$work/module/logs/error.log"
done

# now with (c): the same bytes from memory; reload
# shellcheck disable=SC2086
perl "$root/bench/bench.pl" conf "$root/bench/module.conf.in" $conf_args \
    RETURN_20="@$work/module/www/static/users20.json" \
    RETURN_100="@$work/module/www/static/users100.json" > "$mconf.new" \
    && mv "$mconf.new" "$mconf" || die "cannot write $mconf"
"$NGINX" -q -t -p "$work/module" -c "$mconf" -e "$work/module/logs/error.log" \
    || die "nginx -t failed for $mconf"
kill -HUP "$mpid"

ok=
for _ in $(seq 50); do
    sleep 0.2
    curl -s -o "$work/return20.out" "$url/return/users20" \
        && cmp -s "$work/return20.out" "$work/module/www/static/users20.json" \
        && { ok=1; break; }
done
[ -n "$ok" ] || die "/return/users20 does not answer the module's bytes"
curl -s -o "$work/return100.out" "$url/return/users100"
cmp -s "$work/return100.out" "$work/module/www/static/users100.json" \
    || die "/return/users100 does not answer the module's bytes"
for l in 20 100; do
    curl -s -o "$work/static$l.out" "$url/static/users$l.json"
    cmp -s "$work/static$l.out" "$work/module/www/static/users$l.json" \
        || die "/static/users$l.json does not answer the module's bytes"
done
sleep 0.5    # old workers finish

lpid=
if [ "$lua" = 1 ]; then
    lconf=$work/lua/nginx.conf
    cpath=$(dpkg -L lua-cjson | grep '/5\.1/cjson\.so$' | head -1)
    perl "$root/bench/bench.pl" conf "$root/bench/openresty.conf.in" \
        ROOT="$root" PREFIX="$work/lua" PORT="$LUA_PORT" \
        REDIS_PORT="$REDIS_PORT" WORKERS="$WORKERS" \
        LUA_MODULES="$LUA_MODULES" LUA_CPATH="$(dirname "$cpath")" \
        > "$lconf" || die "cannot write $lconf"
    lpid=$(start_nginx "$work/lua" "$lconf") || exit 1
    nginx_pids="$nginx_pids $lpid"

    # the same JSON value as the module (key order and "\/" aside)
    lurl=http://127.0.0.1:$LUA_PORT
    for q in 'limit=20' 'limit=100' 'limit=20&offset=20' \
             'limit=7&offset=9990' 'limit=100&offset=50'
    do
        curl -s -o "$work/m.json" "$url/accounts/users?$q"
        curl -s -o "$work/l.json" "$lurl/accounts/users?$q"
        perl "$root/bench/bench.pl" same "$work/m.json" "$work/l.json" \
            "$PORT" "$LUA_PORT" \
            || die "the Lua endpoint and the module differ for ?$q"
    done
    say "the Lua endpoint answers the same JSON as the module"
fi

# ---- measure -----------------------------------------------------------

url_of() {
    case "$1" in
        module*) echo "$url/accounts/users?limit=${1#module}" ;;
        static*) echo "$url/static/users${1#static}.json" ;;
        return*) echo "$url/return/users${1#return}" ;;
        lua*)    echo "$lurl/accounts/users?limit=${1#lua}" ;;
    esac
}

tck=$(getconf CLK_TCK)

# CPU seconds (user+sys) of the given pids, from /proc
cpu_of() {
    local t=0 p s
    for p in "$@"; do
        s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${s% *} + ${s#* }))
    done
    echo "$t"
}

redis_cpu() {
    rcli info cpu | tr -d '\r' \
        | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'
}

raw=$work/raw.tsv
printf '# round\ttarget\trps\tp50_ms\tp99_ms\trequests\tnon2xx\terrors\tredis_us\tnginx_us\tbytes\n' > "$raw"

set -- $TARGETS
ntargets=$#
say "$ROUNDS rounds x $ntargets targets x ${DURATION}s, -t$THREADS -c$CONNS," \
    "$WORKERS workers, $USERS users"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

for round in $(seq "$ROUNDS"); do
    # rotate the order so that no target always runs first
    set -- $TARGETS
    shift $(( (round - 1) % ntargets ))
    order="$* $(printf '%s\n' $TARGETS | head -n $(( (round - 1) % ntargets )) | tr '\n' ' ')"

    for t in $order; do
        u=$(url_of "$t")
        case "$t" in lua*) master=$lpid ;; *) master=$mpid ;; esac
        # shellcheck disable=SC2046
        w=$(workers_of "$master")

        bytes=$(curl -s -o /dev/null -w '%{size_download}' "$u")
        r0=$(redis_cpu); n0=$(cpu_of $w)
        timeout $((DURATION + 30)) "$WRK" -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --latency "$u" > "$work/wrk/$t.$round.txt" 2>&1
        r1=$(redis_cpu); n1=$(cpu_of $w)

        line=$(perl "$root/bench/bench.pl" wrk "$work/wrk/$t.$round.txt")
        req=$(printf '%s' "$line" | cut -f4)
        cpu=$(perl -e '
            my ($r0, $r1, $n0, $n1, $tck, $req, $t) = @ARGV;
            if (!$req) { print "-\t-"; exit }
            my $r = $t =~ /^(static|return)/ ? "-"
                  : sprintf "%.2f", ($r1 - $r0) * 1e6 / $req;
            printf "%s\t%.2f", $r, ($n1 - $n0) / $tck * 1e6 / $req;
        ' "$r0" "$r1" "$n0" "$n1" "$tck" "$req" "$t")
        printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$t" "$line" "$cpu" "$bytes" \
            >> "$raw"
        say "round $round $t: $(printf '%s' "$line" | cut -f1) req/s"
    done
done

# ---- report ------------------------------------------------------------

{
    echo "ngx_http_users_module benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"\
         "shared by wrk, nginx and Redis"
    echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $WORKERS workers;" \
         "redis $(rcli info server | tr -d '\r' | sed -n 's/^redis_version://p');" \
         "wrk -t$THREADS -c$CONNS -d${DURATION}s x $ROUNDS rounds, interleaved;" \
         "$USERS users; module connections=$REDIS_CONNS a worker"
    echo
    perl "$root/bench/bench.pl" report "$raw"
} | tee "$work/results.txt"

say "raw figures: $raw, wrk outputs: $work/wrk/"
