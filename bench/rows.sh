#!/bin/bash
# What reading a page's rows through FCALL_RO users_rows (the size caps of
# docs/SCHEMA.md, "Rows") costs against pipelined HMGETs (MULTI, an HMGET
# per user, EXEC), on pages without oversized values: two nginx, each
# "users_cache off" so that every request reads its rows, one with the
# module to measure and one with a module built before users_rows
# (BENCH_BASE_MODULE), against one Redis with the current library. wrk
# runs on each in turn, round after round, so that the noise of a shared
# machine falls on both alike.
#
#   BENCH_BASE_MODULE=/path/to/old/ngx_http_users_module.so bench/rows.sh
#
# Environment: BENCH_ROUNDS (5), BENCH_DURATION (seconds, 6),
# BENCH_CONNECTIONS (32), BENCH_USERS (10000), BENCH_LIMITS ("20 100").
# Prints, per target and page size, the medians over rounds of req/s, p50
# and p99 latency, and the CPU per request of the target's nginx workers
# and of Redis; then the ratios new/base. Last, a 50 MB value in a user of
# the first page: each worker's peak and current RSS (VmHWM, VmRSS) before,
# after three requests of that page, and after twenty more once it is gone.
# Work files: build/bench-rows/.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench-rows

ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-6}
CONNS=${BENCH_CONNECTIONS:-32}
USERS=${BENCH_USERS:-10000}
LIMITS=${BENCH_LIMITS:-20 100}
BASE=${BENCH_BASE_MODULE:-}
NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so
TICK=$(getconf CLK_TCK)

say() { printf '%s\n' "rows: $*" >&2; }
die() { printf '%s\n' "rows: $*" >&2; exit 1; }

[ -n "$BASE" ] && [ -f "$BASE" ] \
    || die "set BENCH_BASE_MODULE to a module built before users_rows"
[ -f "$MODULE" ] && [ -x "$ADMIN" ] || die "build first: make"
command -v wrk >/dev/null || die "no wrk"

pids=
cleanup() {
    local p
    for p in $pids; do kill -QUIT "$p" 2>/dev/null; done
    [ -f "$work/redis/redis.pid" ] && kill "$(cat "$work/redis/redis.pid")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
        LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)->sockport'
}

rm -rf "$work"
mkdir -p "$work/redis"

REDIS_PORT=$(free_port)
"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
    --save '' --appendonly no --daemonize yes \
    --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" \
    || die "redis-server failed"
for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
admin() { "$ADMIN" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

admin load-functions "$root/redis/users.lua" >/dev/null || die "functions"
admin schema demo --sort last_name:str,first_name:str,status:str,id:int \
    --enum status,type --member groups:group >/dev/null || die "schema"
"$root/scripts/gen-users.pl" "$USERS" 1 > "$work/users.jsonl" || die "users"
admin import demo "$work/users.jsonl" >/dev/null || die "import"

# one nginx (1 worker, users_cache off) per module: echo its port
start() {
    local name=$1 module=$2 port
    port=$(free_port)
    mkdir -p "$work/$name/logs" "$work/$name/tmp"
    cp "$module" "$work/$name/module.so"
    perl "$root/bench/bench.pl" conf "$root/bench/module.conf.in" \
        ROOT="$root" MODULE="$work/$name/module.so" PREFIX="$work/$name" \
        PORT="$port" REDIS_PORT="$REDIS_PORT" REDIS_CONNECTIONS=2 \
        WORKERS=1 CACHE=off RETURN_20='return 503;' \
        RETURN_100='return 503;' > "$work/$name/nginx.conf" || die "conf"
    "$NGINX" -p "$work/$name" -c "$work/$name/nginx.conf" \
        -e "$work/$name/logs/error.log" || die "nginx $name"
    for _ in $(seq 50); do
        [ -s "$work/$name/nginx.pid" ] && break
        sleep 0.1
    done
    pids="$pids $(cat "$work/$name/nginx.pid")"
    printf '%s\n' "$port"
}

port_base=$(start base "$BASE")
port_new=$(start new "$MODULE")
sleep 0.5

for l in $LIMITS; do
    a=$(curl -s "http://127.0.0.1:$port_base/accounts/users?limit=$l")
    b=$(curl -s "http://127.0.0.1:$port_new/accounts/users?limit=$l")
    a=${a//:$port_base\//:PORT/}
    b=${b//:$port_new\//:PORT/}
    [ "$a" = "$b" ] && [ "${#a}" -gt 100 ] \
        || die "the two modules do not answer the same limit=$l page"
done

# CPU ticks of the workers of the nginx on $1, and of Redis
ticks() {
    local master w sum=0
    master=$(cat "$work/$1/nginx.pid")
    for w in $(pgrep -P "$master"); do
        sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$w/stat")))
    done
    printf '%s\n' "$sum"
}

redis_cpu() {
    rcli INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 }
                             END { printf "%.6f\n", s }'
}

raw=$work/raw.tsv
: > "$raw"

for round in $(seq "$ROUNDS"); do
    for l in $LIMITS; do
        for t in base new; do
            port=$port_base
            [ $t = new ] && port=$port_new
            n0=$(ticks $t)
            r0=$(redis_cpu)
            wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
                "http://127.0.0.1:$port/accounts/users?limit=$l" \
                > "$work/wrk.out" 2>&1
            n1=$(ticks $t)
            r1=$(redis_cpu)
            read -r rps p50 p99 reqs non2xx errs \
                < <(perl "$root/bench/bench.pl" wrk "$work/wrk.out")
            [ "$non2xx" = 0 ] || die "$t: $non2xx answers were not 2xx"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$t" "$l" \
                "$rps" "$p50" "$p99" \
                "$(echo "($n1 - $n0) * 1000000 / $TICK / $reqs" | bc -l)" \
                "$(echo "($r1 - $r0) * 1000000 / $reqs" | bc -l)" >> "$raw"
            say "round $round $t limit=$l: $rps req/s"
        done
    done
done

perl -e '
    my (%v, @order);
    while (<>) {
        chomp;
        my ($round, $t, $l, @m) = split /\t/;
        push @order, "$l $t" unless $v{"$l $t"};
        push @{ $v{"$l $t"}[$_] }, $m[$_] for 0 .. $#m;
    }
    sub med { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }
    printf "%-14s %10s %9s %9s %13s %13s\n", "target", "req/s",
           "p50 ms", "p99 ms", "nginx us/req", "redis us/req";
    my %m;
    for my $k (@order) {
        my @x = map { med(@$_) } @{ $v{$k} };
        $m{$k} = \@x;
        printf "%-14s %10.0f %9.2f %9.2f %13.1f %13.1f\n", $k, @x;
    }
    for my $k (grep { / new$/ } @order) {
        (my $b = $k) =~ s/ new$/ base/;
        printf "%-14s %10.3f %9.3f %9.3f %13.3f %13.3f   (new / base)\n",
               $k =~ s/ new$//r,
               map { $m{$b}[$_] ? $m{$k}[$_] / $m{$b}[$_] : 0 } 0 .. 4;
    }
' "$raw"

# ---- a 50 MB value: what the worker takes in, and keeps -------------------

rss() {
    local w
    w=$(pgrep -P "$(cat "$work/$1/nginx.pid")")
    awk '/^VmHWM|^VmRSS/ { printf "%s %s kB  ", $1, $2 }' "/proc/$w/status"
}

first=$(curl -s "http://127.0.0.1:$port_new/accounts/users?limit=1" \
        | perl -ne 'print $1 if /"id":(\d+)/')
[ -n "$first" ] || die "no first user"
head -c 52428800 /dev/zero | tr '\0' x > "$work/big"

printf '\n%s\n' "a 50 MB \"photo\" in user $first (limit=20 pages):"
for t in base new; do
    port=$port_base
    [ $t = new ] && port=$port_new
    before=$(rss $t)
    rcli -x HSET "users:{demo}:u:$first" photo < "$work/big" > /dev/null
    for _ in 1 2 3; do
        curl -s -o "$work/$t.out" -w '%{http_code} %{size_download} bytes\n' \
            "http://127.0.0.1:$port/accounts/users?limit=20" >> "$work/rss.log"
    done
    after=$(rss $t)
    rcli HDEL "users:{demo}:u:$first" photo > /dev/null
    for _ in $(seq 20); do
        curl -s -o /dev/null "http://127.0.0.1:$port/accounts/users?limit=20"
    done
    printf '%-5s before: %s\n      after 3:  %s (%s)\n      20 more:  %s\n' \
        $t "$before" "$after" "$(tail -1 "$work/rss.log")" "$(rss $t)"
done

