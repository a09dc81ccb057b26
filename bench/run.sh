#!/bin/bash
# The benchmark (`make bench`): ngx_http_users_module against the ceiling
# of the same nginx and against the same endpoint written in Lua.
#
#   bench/run.sh                     5 rounds x 11 targets x 7 s (~8.5 min)
#   BENCH_ROUNDS=1 BENCH_DURATION=3 bench/run.sh    a quick run (~1 min)
#
# Starts its own redis-server and three nginx (the Debian binary, 2 workers
# each) on free loopback ports, loads BENCH_USERS (10,000) generated users
# into workspace "demo", and runs wrk (-t2 -c64 --latency) in interleaved
# rounds against:
#   (a) module20/100  GET /accounts/users?limit=20|100 through the module,
#                     page cache on (users_cache 8m): after the first
#                     request of each worker, every request is a hit
#   (a') nocache20/100 the same through a second module nginx, identical
#                     but for "users_cache off": every request is a miss
#   (a") writes20-MS  (a) limit=20 while bench.pl writer upserts one user of
#                     that page every MS ms through FCALL users_upsert:
#                     every write invalidates the cached pages (by default
#                     writes20-100 and writes20-5: 10 and 200 writes/s)
#   (b) static20/100  the module's response, saved once, as a static file
#   (c) return20      the same bytes from memory (return 200)
#   (d) lua20/100     the same endpoint in OpenResty style (Lua, resty.redis,
#                     cjson) in another nginx
# then prints medians over rounds (req/s, p50, p99, CPU per request of Redis
# and of the serving nginx's workers, the cache's hit ratio) and the ratios.
# The hit ratio is counted by Redis: a hit costs the request one EXEC (the
# first round trip), a miss two. After the write-heavy target it checks
# that both module instances answer the same bytes, holding the last write.
# Everything it started is stopped on exit, error or interrupt. Work files,
# raw wrk outputs and the table: build/bench/.
#
# Environment: BENCH_ROUNDS (5), BENCH_DURATION (seconds, 8),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2), BENCH_WORKERS (2),
# BENCH_USERS (10000), BENCH_REDIS_CONNECTIONS (module connections per
# worker, 4), BENCH_TARGETS (space-separated subset of the target names),
# BENCH_NO_LUA=1 (skip (d)), USERS_NO_DEPS=1 (install
# nothing).

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench

ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-7}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
USERS=${BENCH_USERS:-10000}
REDIS_CONNS=${BENCH_REDIS_CONNECTIONS:-4}
TARGETS=${BENCH_TARGETS:-module20 nocache20 writes20-100 writes20-5 static20 return20 lua20 module100 nocache100 static100 lua100}

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
writer_pid=

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    [ -n "$writer_pid" ] && kill -TERM "$writer_pid" 2>/dev/null
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
         "$work/nocache/logs" "$work/nocache/tmp" "$work/nocache/www" \
         "$work/wrk"

# a private copy: a rebuild during the run must not overwrite mapped code
cp "$MODULE" "$work/ngx_http_users_module.so" || die "cannot copy $MODULE"

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
NC_PORT=$(free_port) || die "no free port"
while [ "$NC_PORT" = "$PORT" ] || [ "$NC_PORT" = "$LUA_PORT" ]; do
    NC_PORT=$(free_port)
done

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
perl "$root/bench/bench.pl" public "$root/conf/accounts.conf" demo \
    > "$work/accounts-public.conf" || die "cannot write accounts-public.conf"
conf_args="ROOT=$root MODULE=$work/ngx_http_users_module.so
           REDIS_PORT=$REDIS_PORT REDIS_CONNECTIONS=$REDIS_CONNS
           WORKERS=$WORKERS ACCOUNTS=$work/accounts-public.conf"

# shellcheck disable=SC2086
perl "$root/bench/bench.pl" conf "$root/bench/module.conf.in" $conf_args \
    PREFIX="$work/module" PORT="$PORT" CACHE=8m \
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
    PREFIX="$work/module" PORT="$PORT" CACHE=8m \
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

# (a'): the same configuration but for "users_cache off"
ncconf=$work/nocache/nginx.conf
# shellcheck disable=SC2086
perl "$root/bench/bench.pl" conf "$root/bench/module.conf.in" $conf_args \
    PREFIX="$work/nocache" PORT="$NC_PORT" CACHE=off \
    RETURN_20="return 503;" RETURN_100="return 503;" > "$ncconf" \
    || die "cannot write $ncconf"
ncpid=$(start_nginx "$work/nocache" "$ncconf") || exit 1
nginx_pids="$nginx_pids $ncpid"
ncurl=http://127.0.0.1:$NC_PORT
for l in 20 100; do
    for _ in $(seq 30); do
        code=$(curl -s -o "$work/nocache$l.out" -w '%{http_code}' \
               "$ncurl/accounts/users?limit=$l")
        [ "$code" = 200 ] && break
        sleep 0.2
    done
    # the base URL in next/previous differs by the port only
    sed "s/:$NC_PORT\//:$PORT\//g" "$work/nocache$l.out" \
        | cmp -s - "$work/module/www/static/users$l.json" \
        || die "the module without cache answers other bytes (limit=$l)"
done

# a hit after warm-up: the same page again costs one EXEC, no HMGET
execs() {
    rcli info commandstats | tr -d '\r' \
        | sed -n 's/^cmdstat_exec:calls=\([0-9]*\),.*/\1/p'
}
for _ in 1 2 3 4; do curl -s -o /dev/null "$url/accounts/users?limit=20"; done
e0=$(execs)
for _ in 1 2 3 4; do curl -s -o /dev/null "$url/accounts/users?limit=20"; done
e1=$(execs)
say "page cache: 4 warm requests cost $((e1 - e0)) EXEC (4 = all hits)"

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
             'limit=7&offset=990' 'limit=100&offset=50'
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
        nocache*) echo "$ncurl/accounts/users?limit=${1#nocache}" ;;
        writes*) local l=${1#writes}
                 echo "$url/accounts/users?limit=${l%-*}" ;;
        static*) echo "$url/static/users${1#static}.json" ;;
        return*) echo "$url/return/users${1#return}" ;;
        lua*)    echo "$lurl/accounts/users?limit=${1#lua}" ;;
    esac
}

# writes20-5 -> 5 (ms between writes); writes20 -> 10
write_ms() {
    case "$1" in *-*) echo "${1##*-}" ;; *) echo 10 ;; esac
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
printf '# round\ttarget\trps\tp50_ms\tp99_ms\trequests\tnon2xx\terrors\tredis_us\tnginx_us\tbytes\thit\twrites\n' > "$raw"

# the user the writer rewrites: the first of the limit=20 page
wid=$(perl -MJSON::PP -e 'local $/; my $d = JSON::PP->new->decode(<STDIN>);
                          print $d->{results}[0]{id}' \
      < "$work/module/www/static/users20.json")

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
        case "$t" in
            lua*) master=$lpid ;;
            nocache*) master=$ncpid ;;
            *) master=$mpid ;;
        esac
        # shellcheck disable=SC2046
        w=$(workers_of "$master")

        bytes=$(curl -s -o /dev/null -w '%{size_download}' "$u")
        # warm-up: each worker's cache holds the page (and (d)'s pool)
        "$WRK" -t"$THREADS" -c"$CONNS" -d1s "$u" >/dev/null 2>&1
        case "$t" in
            writes*)
                perl "$root/bench/bench.pl" writer "$REDIS_PORT" demo "$wid" \
                    "$(write_ms "$t")" "$work/writer.$round.txt" &
                writer_pid=$!
                sleep 0.2 ;;
        esac
        r0=$(redis_cpu); n0=$(cpu_of $w); e0=$(execs)
        timeout $((DURATION + 30)) "$WRK" -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --latency "$u" > "$work/wrk/$t.$round.txt" 2>&1
        r1=$(redis_cpu); n1=$(cpu_of $w); e1=$(execs)
        writes=-
        if [ -n "$writer_pid" ]; then
            kill -TERM "$writer_pid" 2>/dev/null
            wait "$writer_pid" 2>/dev/null
            writer_pid=
            # writes per second while wrk ran, and the last value written
            writes=$(sed -n 1p "$work/writer.$round.txt")
            last=$(sed -n 2p "$work/writer.$round.txt")
            curl -s -o "$work/writes.m.json" "$url/accounts/users?limit=20"
            curl -s "$ncurl/accounts/users?limit=20" \
                | sed "s/:$NC_PORT\//:$PORT\//g" > "$work/writes.n.json"
            cmp -s "$work/writes.m.json" "$work/writes.n.json" \
                && grep -qF "\"$last\"" "$work/writes.m.json" \
                || die "after the writes the cached page is not the" \
                       "uncached one holding \"$last\": see $work/writes.*"
            perl "$root/bench/bench.pl" restore "$REDIS_PORT" demo \
                "$work/writer.$round.txt.orig" || die "cannot restore $wid"
        fi

        line=$(perl "$root/bench/bench.pl" wrk "$work/wrk/$t.$round.txt")
        req=$(printf '%s' "$line" | cut -f4)
        cpu=$(perl -e '
            my ($r0, $r1, $n0, $n1, $tck, $req, $t, $e0, $e1) = @ARGV;
            if (!$req) { print "-\t-\t-"; exit }
            my $r = $t =~ /^(static|return)/ ? "-"
                  : sprintf "%.2f", ($r1 - $r0) * 1e6 / $req;
            # a hit costs one EXEC, a miss two (the page, then the rows)
            # (requests in flight at the start and the end make it
            # approximate: clamped to 0..1)
            my $h = 1 - ($e1 - $e0 - $req) / $req;
            $h = $h < 0 ? 0 : $h > 1 ? 1 : $h;
            $h = $t =~ /^(module|nocache|writes)/ ? sprintf("%.4f", $h) : "-";
            printf "%s\t%.2f\t%s", $r, ($n1 - $n0) / $tck * 1e6 / $req, $h;
        ' "$r0" "$r1" "$n0" "$n1" "$tck" "$req" "$t" "$e0" "$e1")
        hit=${cpu##*$'\t'}
        cpu=${cpu%$'\t'*}
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$t" "$line" "$cpu" \
            "$bytes" "$hit" "$writes" >> "$raw"
        say "round $round $t: $(printf '%s' "$line" | cut -f1) req/s"
    done
done

# ---- report ------------------------------------------------------------

{
    echo "ngx_http_users_module benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"\
         "shared by wrk, nginx and Redis"
    echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $WORKERS workers each;" \
         "redis $(rcli info server | tr -d '\r' | sed -n 's/^redis_version://p');" \
         "wrk -t$THREADS -c$CONNS -d${DURATION}s x $ROUNDS rounds, interleaved;" \
         "$USERS users; module connections=$REDIS_CONNS a worker;" \
         "writes20-MS: one upsert every MS ms"
    echo
    perl "$root/bench/bench.pl" report "$raw"
} | tee "$work/results.txt"

say "raw figures: $raw, wrk outputs: $work/wrk/"
