#!/bin/bash
# Fault injection under load (`make faults`): the module keeps answering
# 200, 503 or 504 -- nothing else, no dropped connection, no crashed or
# blocked worker -- while Redis is killed, stalled, has its connections
# dropped, and nginx is reloaded and binary-upgraded; and a worker's memory
# stays flat over a million mixed requests.
#
#   bench/faults.sh              both parts (a few minutes)
#   bench/faults.sh faults       part 1 only (about 70 s)
#   bench/faults.sh memory       part 2 only
#
# Part 1. Starts its own redis-server and nginx (the Debian binary, master
# on, 2 workers, conf/accounts.conf with workspace "demo", users_cache off
# so that every request needs Redis, timeout=1s, plus "location = /static
# { return 200 }" and a static file), loads FAULTS_USERS (3000) users. Two
# probes run throughout (bench/faults.pl probe), each a new connection
# every 50 ms: /static and /files/ok.txt alternately, and
# /accounts/users?limit=1. Each phase is a wrk run of its own (-t2 -c64,
# bounded, bench/faults.lua counts statuses) so that socket errors are
# counted per fault; 1.5 s into it:
#   baseline    nothing (the probes' latency under the same load)
#   kill        Redis SIGKILL, restarted (same port, same dump.rdb) 3 s
#               later; FAULTS_KILLS (3) times, 3 s apart
#   stop        Redis SIGSTOP for 3 s, then SIGCONT
#   clientkill  CLIENT KILL TYPE normal, 8 times 0.5 s apart
#   reload      nginx -s reload, 4 times 1 s apart
#   upgrade     binary upgrade: USR2; WINCH then QUIT to the old master
# It fails unless: no "exited on signal" in the error log; every response
# 200, 503 or 504; no wrk socket error (reload and upgrade: read errors
# only warn -- exiting workers close idle keep-alive connections under a
# request in flight, as nginx does for "return 200" too -- but connect,
# write and timeout errors fail, and the probes, a new connection each,
# must not fail); the static probe's p99 in every fault window (the fault
# plus 1.5 s) stays under max(100 ms, 3x its baseline p99) -- a worker that
# blocked would show; the users probe answers only 200 from 1 s after Redis
# returns (after SIGKILL, SIGCONT, the last CLIENT KILL) on; 200 at the end.
#
# Part 2. A single-worker nginx (users_cache 1m, so that pages are cached
# and evicted) and one million requests in passes of wrk, each pass
# rotating over many URLs: list pages at many offsets and sorts, 400s (bad
# parameters), 404s (a malformed workspace), and, with Redis stalled, 504s
# then, with Redis stopped, 503s. Records the worker's VmRSS after every
# pass; fails if it grew by more than FAULTS_RSS_SLACK_KB (1024) between
# 100k and 1M requests.
#
# The stalled pass holds 1000 connections (each waits out the 1 s timeout
# or gets the fail-fast 503): the worker's RSS rises with them and falls
# back once they close; the check compares the steady state.
#
# Environment: FAULTS_USERS (3000), FAULTS_KILLS (3), FAULTS_REQUESTS
# (part 2, 1000000), FAULTS_RSS_SLACK_KB (1024). Installs nothing. Work
# files and logs: build/faults/. Everything it started is stopped on exit.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/faults
parts=${1:-all}
case "$parts" in all|faults|memory) ;; *)
    echo "usage: $0 [all|faults|memory]" >&2; exit 2 ;; esac

USERS=${FAULTS_USERS:-3000}
REQUESTS=${FAULTS_REQUESTS:-1000000}
SLACK=${FAULTS_RSS_SLACK_KB:-1024}
KILLS=${FAULTS_KILLS:-3}

NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
WRK=${WRK:-wrk}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so

say() { printf '%s\n' "faults: $*" >&2; }
die() { printf '%s\n' "faults: $*" >&2; exit 1; }

redis_pid=
nginx_pids=
bg_pids=

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    for p in $bg_pids; do kill -TERM "$p" 2>/dev/null; done
    [ -n "$redis_pid" ] && kill -CONT "$redis_pid" 2>/dev/null
    for p in $nginx_pids; do kill -QUIT "$p" 2>/dev/null; done
    [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null
    for p in $nginx_pids $redis_pid $bg_pids; do
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

now() { perl -MTime::HiRes=time -e 'printf "%.3f\n", time'; }
event() { printf '%s %s\n' "$(now)" "$1" >> "$work/events"; }

[ -x "$ADMIN" ] && [ -f "$MODULE" ] \
    || die "build first: make (needs $MODULE and $ADMIN)"
command -v "$WRK" >/dev/null || die "no wrk (apt-get install wrk)"

rm -rf "$work"
mkdir -p "$work/redis" "$work/www/files" "$work/wrk"
echo ok > "$work/www/files/ok.txt"
cp "$MODULE" "$work/ngx_http_users_module.so" || die "cannot copy $MODULE"

# ---- Redis -----------------------------------------------------------------

REDIS_PORT=$(free_port) || die "no free port"
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# the same port and the same dump.rdb (functions included) every time
start_redis() {
    rm -f "$work/redis/redis.pid"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" \
        --dir "$work/redis" --dbfilename dump.rdb --save '' \
        --appendonly no --daemonize yes \
        --pidfile "$work/redis/redis.pid" \
        --logfile "$work/redis/redis.log" \
        || die "redis-server failed, see $work/redis/redis.log"
    for _ in $(seq 100); do
        [ -s "$work/redis/redis.pid" ] \
            && rcli ping 2>/dev/null | grep -q PONG && break
        sleep 0.02
    done
    redis_pid=$(cat "$work/redis/redis.pid" 2>/dev/null)
    [ -n "$redis_pid" ] || die "redis-server did not start"
}

start_redis
admin() { "$ADMIN" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
admin load-functions "$root/redis/users.lua" >/dev/null \
    || die "load-functions failed"
admin schema demo --sort last_name:str,first_name:str,status:str,created_at:time \
    --enum status,type --member groups:group >/dev/null || die "schema failed"
"$root/scripts/gen-users.pl" "$USERS" 1 > "$work/users.jsonl" \
    || die "gen-users.pl failed"
admin import demo "$work/users.jsonl" >/dev/null || die "import failed"
rcli save >/dev/null || die "redis SAVE failed"

# ---- nginx -----------------------------------------------------------------

# write_conf PREFIX PORT WORKERS CACHE
write_conf() {
    local prefix=$1 port=$2 workers=$3 cache=$4
    mkdir -p "$prefix/logs" "$prefix/tmp"
    perl "$root/bench/bench.pl" public "$root/conf/accounts.conf" demo \
        > "$work/accounts-public.conf" || die "cannot write accounts-public.conf"
    cat > "$prefix/nginx.conf" <<EOF
load_module  $work/ngx_http_users_module.so;

worker_processes  $workers;
pid               $prefix/nginx.pid;
error_log         $prefix/logs/error.log  notice;

events {
    worker_connections  4096;
}

http {
    access_log              off;
    client_body_temp_path   $prefix/tmp/body;
    proxy_temp_path         $prefix/tmp/proxy;
    fastcgi_temp_path       $prefix/tmp/fastcgi;
    uwsgi_temp_path         $prefix/tmp/uwsgi;
    scgi_temp_path          $prefix/tmp/scgi;
    keepalive_requests      1000000;

    users_redis  127.0.0.1:$REDIS_PORT  connections=4 timeout=1s
                 connect_timeout=500ms;
    users_cache  $cache;

    server {
        listen       127.0.0.1:$port  backlog=4096;
        server_name  localhost;

        # conf/accounts.conf without its bearer tokens (bench.pl public)
        include  $work/accounts-public.conf;

        location = /static {
            return 200 "ok";
        }

        location /files/ {
            root  $work/www;
        }

        location = /stub {
            stub_status;
        }

        # a malformed workspace: 404 from the module
        location = /badws/users {
            set  \$bad_ws  "bad:ws";
            users_list;
            users_workspace  \$bad_ws;
            users_field id int;
        }
    }
}
EOF
}

# start_nginx PREFIX: echo the master's pid
start_nginx() {
    local prefix=$1 pid
    "$NGINX" -q -t -p "$prefix" -c "$prefix/nginx.conf" \
        -e "$prefix/logs/error.log" || die "nginx -t failed ($prefix)"
    "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
        || die "nginx failed, see $prefix/logs/error.log"
    for _ in $(seq 50); do
        [ -s "$prefix/nginx.pid" ] && break
        sleep 0.1
    done
    pid=$(cat "$prefix/nginx.pid" 2>/dev/null)
    [ -n "$pid" ] || die "nginx did not start, see $prefix/logs/error.log"
    printf '%s\n' "$pid"
}

wait_200() {
    local code
    for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$1")
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    die "$1 answers $code"
}

crashes() {
    grep -c 'exited on signal' "$1" 2>/dev/null
}

rc=0

# ---- part 1: faults ----------------------------------------------------------

faults() {
    local prefix=$work/nginx port url master old n
    port=$(free_port) || die "no free port"
    write_conf "$prefix" "$port" 2 off
    master=$(start_nginx "$prefix") || exit 1
    nginx_pids=$master
    url=http://127.0.0.1:$port
    wait_200 "$url/accounts/users?limit=20"
    wait_200 "$url/static"
    wait_200 "$url/files/ok.txt"
    : > "$work/events"

    say "part 1: $USERS users; per fault a wrk -t2 -c64 run of its own"
    perl "$root/bench/faults.pl" probe "$port" static 120 \
        "$work/probes.static" &
    bg_pids="$bg_pids $!"
    perl "$root/bench/faults.pl" probe "$port" users 120 \
        "$work/probes.users" &
    bg_pids="$bg_pids $!"

    # the phases: wrk starts, 1.5 s later the fault, 2.5 s after its end
    # wrk stops (its -d is the phase's length)
    local phase secs wrk_pid wrk_args
    wrk_args="-t2 -c64 --timeout 5s -s $root/bench/faults.lua"
    for phase in baseline kill stop clientkill reload upgrade; do
        case "$phase" in
            baseline)   secs=5 ;;
            kill)       secs=$((KILLS * 6 + 3)) ;;
            stop)       secs=7 ;;
            clientkill) secs=8 ;;
            reload)     secs=9 ;;
            upgrade)    secs=9 ;;
        esac
        # shellcheck disable=SC2086
        timeout $((secs + 20)) "$WRK" $wrk_args -d"${secs}s" \
            "$url/accounts/users?limit=20" > "$work/wrk/$phase.txt" 2>&1 &
        wrk_pid=$!
        bg_pids="$bg_pids $wrk_pid"
        sleep 1.5
        case "$phase" in
        baseline)
            event baseline-start; sleep 2; event baseline-end ;;
        kill)
            for i in $(seq "$KILLS"); do
                event "kill$i-start"
                kill -KILL "$redis_pid"; sleep 3
                start_redis; event "kill$i-end"
                sleep 3
            done ;;
        stop)
            event stop-start
            kill -STOP "$redis_pid"; sleep 3
            kill -CONT "$redis_pid"; event stop-end ;;
        clientkill)
            event clientkill-start
            for _ in $(seq 8); do
                rcli client kill type normal >/dev/null; sleep 0.5
            done
            event clientkill-end ;;
        reload)
            event reload-start
            for _ in 1 2 3 4; do
                "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" \
                    -e "$prefix/logs/error.log" -s reload || rc=1
                sleep 1
            done
            event reload-end ;;
        upgrade)
            event upgrade-start
            kill -USR2 "$master"
            for _ in $(seq 50); do
                [ -s "$prefix/nginx.pid.oldbin" ] && [ -s "$prefix/nginx.pid" ] \
                    && [ "$(cat "$prefix/nginx.pid")" != "$master" ] && break
                sleep 0.1
            done
            n=$(cat "$prefix/nginx.pid" 2>/dev/null)
            if [ -z "$n" ] || [ "$n" = "$master" ]; then
                say "binary upgrade: no new master"; rc=1
            else
                old=$master; master=$n; nginx_pids="$master $old"
                sleep 1
                kill -WINCH "$old"      # old workers finish gracefully
                sleep 1.5
                kill -QUIT "$old"       # the old master exits
                for _ in $(seq 50); do
                    kill -0 "$old" 2>/dev/null || break; sleep 0.1
                done
                kill -0 "$old" 2>/dev/null && { say "old master stays"; rc=1; }
                nginx_pids=$master
            fi
            event upgrade-end ;;
        esac
        wait "$wrk_pid"
        say "phase $phase done"
    done
    event end

    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/accounts/users?limit=20")
    [ "$code" = 200 ] || { say "after the faults: $code"; rc=1; }

    for p in $bg_pids; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    bg_pids=

    echo
    echo "== part 1: faults under load"
    sort -n "$work/probes.static" "$work/probes.users" > "$work/probes"
    perl "$root/bench/faults.pl" report "$work/events" "$work/probes" \
        $(for p in baseline kill stop clientkill reload upgrade; do
              printf '%s=%s ' "$p" "$work/wrk/$p.txt"; done) || rc=1
    n=$(crashes "$prefix/logs/error.log")
    echo "worker crashes (\"exited on signal\"): ${n:-0}"
    [ "${n:-0}" = 0 ] || rc=1
    grep -E '\[(alert|emerg|crit)\]' "$prefix/logs/error.log" | head -5
    echo "error log lines by level:" \
        "$(sed -n 's/^[^[]*\[\([a-z]*\)\].*/\1/p' "$prefix/logs/error.log" \
           | sort | uniq -c | tr -s ' \n' ' ')"

    kill -QUIT "$master"
    for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
    nginx_pids=
}

# ---- part 2: memory ----------------------------------------------------------

rss_of() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
handled() {
    curl -s "$1/stub" | sed -n 's/^ *[0-9]* *[0-9]* *\([0-9]*\) *$/\1/p'
}

memory() {
    local prefix=$work/mem port url master worker total=0 want pass wpid start
    port=$(free_port) || die "no free port"
    write_conf "$prefix" "$port" 1 1m
    master=$(start_nginx "$prefix") || exit 1
    nginx_pids=$master
    url=http://127.0.0.1:$port
    wait_200 "$url/accounts/users?limit=20"
    worker=$(pgrep -P "$master")
    [ -n "$worker" ] || die "no worker"

    # the URL mixes
    perl -e '
        # indexed plans (one sort key, indexed filters); one scan in 600
        my @o = ("", "ordering=-last_name&", "ordering=first_name&",
                 "ordering=-first_name&", "status=invited&",
                 "status=inactive&ordering=-status&");
        for my $off (map { $_ * 29 } 0 .. 99) {
            for my $o (@o) {
                print "/accounts/users?${o}limit=", 1 + $off % 100,
                      "&offset=$off\n";
            }
        }
        print "/accounts/users?groups=3&ordering=first_name,-id&limit=5\n";
        ' > "$work/mem-pages"
    perl -e '
        my @bad = ("limit=abc", "limit=1000", "offset=-1", "ordering=nope",
                   "status=bogus", "limit=1&limit=2", "type=%zz",
                   "groups=x", "ordering=" . ("a," x 50));
        print "/accounts/users?$_\n" for @bad;
        print "/badws/users?limit=$_\n" for 1 .. 20;
        print "/accounts/users?limit=$_\n" for 1 .. 20;' > "$work/mem-errors"
    cp "$work/mem-pages" "$work/mem-stall"

    say "part 2: $REQUESTS requests to one worker (pid $worker)"
    printf '%-10s %10s %10s  %s\n' pass requests 'VmRSS kB' statuses \
        > "$work/mem-table"
    printf '%-10s %10s %10s\n' start 0 "$(rss_of "$worker")" >> "$work/mem-table"
    local rss100k= rss_end=
    pass=0
    # (kind, share of the total): 100k first, then the mix to 1M
    for spec in pages:100000 errors:150000 pages:150000 stall:50000 \
                dead:100000 pages:150000 errors:100000 pages:200000; do
        kind=${spec%%:*}; want=${spec#*:}
        want=$((want * REQUESTS / 1000000))
        pass=$((pass + 1))
        case "$kind" in
            stall) kill -STOP "$redis_pid" ;;
            dead) kill -KILL "$redis_pid" ;;
        esac
        paths=$work/mem-$kind
        [ "$kind" = dead ] && paths=$work/mem-pages
        # stalled: every request waits the 1 s timeout; more connections
        c=64; [ "$kind" = stall ] && c=1000
        # wrk -d bounds the pass; it stops (SIGINT: it prints its
        # figures) once nginx counts the pass's requests
        start=$(handled "$url")
        "$WRK" -t2 -c$c -d300s --timeout 5s \
            -s "$root/bench/faults.lua" "$url/" -- "$paths" \
            > "$work/wrk/mem-$pass-$kind.txt" 2>&1 &
        wpid=$!     # waited for in the background: a signal stops it now
        bg_pids="$bg_pids $wpid"
        while kill -0 "$wpid" 2>/dev/null; do
            n=$(handled "$url")
            [ "${n:-0}" -ge $((start + want)) ] && break
            sleep 0.2
        done
        kill -INT "$wpid" 2>/dev/null
        wait "$wpid"
        case "$kind" in
            stall) kill -CONT "$redis_pid" ;;
            dead) start_redis ;;
        esac
        sleep 0.3
        n=$(handled "$url")
        total=$((n))
        r=$(rss_of "$worker")
        [ -n "$r" ] || { say "the worker is gone"; rc=1; break; }
        printf '%-10s %10s %10s  %s\n' "$pass:$kind" "$total" "$r" \
            "$(sed -n 's/^faults: status_\([0-9]*\) \(.*\)/\1:\2/p;
                       s/^faults: err_\([a-z]*\) \([1-9][0-9]*\)/err_\1:\2/p' \
               "$work/wrk/mem-$pass-$kind.txt" | tr '\n' ' ')" \
            >> "$work/mem-table"
        [ -z "$rss100k" ] && rss100k=$r
        rss_end=$r
        [ "$kind" = dead ] && wait_200 "$url/accounts/users?limit=20"
    done
    echo
    echo "== part 2: memory of one worker"
    cat "$work/mem-table"
    n=$(crashes "$prefix/logs/error.log")
    echo "worker crashes: ${n:-0}; same worker: $(pgrep -P "$master")"
    [ "${n:-0}" = 0 ] && [ "$(pgrep -P "$master")" = "$worker" ] || rc=1
    if [ -n "$rss100k" ] && [ -n "$rss_end" ]; then
        echo "VmRSS at ~100k requests: $rss100k kB; at ~$total: $rss_end kB;" \
             "growth $((rss_end - rss100k)) kB (limit $SLACK kB)"
        [ $((rss_end - rss100k)) -le "$SLACK" ] || rc=1
        [ "$total" -ge $((REQUESTS * 9 / 10)) ] \
            || { echo "only $total requests handled"; rc=1; }
    fi
    kill -QUIT "$master"
    for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
    nginx_pids=
}

case "$parts" in all|faults) faults ;; esac
case "$parts" in all|memory) memory ;; esac

echo
[ "$rc" = 0 ] && echo "faults: PASS" || echo "faults: FAIL (work files: $work)"
exit "$rc"
