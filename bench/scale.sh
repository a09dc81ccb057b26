#!/bin/bash
# The scale benchmark: the same queries against 10,000 and 1,000,000 users,
# with the module's page cache off, so that Redis does the work each time.
#
#   bench/scale.sh                  ~5 min, most of it loading and scanning 1M users
#   SCALE_SIZES="10000 100000" bench/scale.sh         a quick run (~2 min)
#
# Starts its own redis-server and one nginx (2 workers, users_cache off,
# bench/scale.conf.in) on free loopback ports. For each size N it writes
# workspace "n<N>" with bench/gen-redis.pl | redis-cli --pipe (the hashes
# and every index written directly, as docs/SCHEMA.md encodes them), then
# checks it: FCALL_RO users_check in full up to 100,000 users (or always
# with SCALE_CHECK=full: about a minute at 1M), and at every size
# bench.pl sample-check (100 random users re-upserted through users_upsert
# leave every index as it was). Redis memory is read before and after.
#
# Then, interleaved over SCALE_ROUNDS rounds, wrk -t2 -c16 --latency for
# SCALE_DURATION seconds against the indexed queries (answered by ZCARD +
# ZRANGE of one index and an HMGET per user: 2 round trips):
#   p1@N         /accounts/users?limit=20                    every size
#   invited@N    /accounts/users?limit=20&status=invited     every size
#   off50000@N   /accounts/users?limit=20&offset=50000       the largest
# and, one request at a time with curl (SCALE_REPS times each), the
# queries that only FCALL_RO users_query answers (1 round trip, a scan),
# at every size, then at the largest size again through the server with
# users_scan_limit 100000 (a 400 query_too_broad beyond it).
#
# Needs about 2 GB of memory for Redis at 1M users.
#
# Environment: SCALE_SIZES ("10000 1000000"; the first is the reference),
# SCALE_ROUNDS (3), SCALE_DURATION (5), SCALE_CONNECTIONS (16),
# SCALE_REPS (3), SCALE_CHECK (sample | full), SCALE_TIMEOUT (the module's
# Redis timeout, 60s). Results: build/bench-scale/results.txt.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench-scale

SIZES=${SCALE_SIZES:-10000 1000000}
ROUNDS=${SCALE_ROUNDS:-3}
DURATION=${SCALE_DURATION:-5}
CONNS=${SCALE_CONNECTIONS:-16}
REPS=${SCALE_REPS:-3}
CHECK=${SCALE_CHECK:-sample}
TIMEOUT=${SCALE_TIMEOUT:-60s}
WORKERS=2

NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
WRK=${WRK:-wrk}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so

say() { printf '%s\n' "scale: $*" >&2; }
die() { printf '%s\n' "scale: $*" >&2; exit 1; }

redis_pid=
nginx_pid=

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null
    for p in $nginx_pid $redis_pid; do
        for _ in $(seq 100); do
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

[ -x "$ADMIN" ] && [ -f "$MODULE" ] \
    || die "build first: make (needs $MODULE and $ADMIN)"
command -v "$WRK" >/dev/null || die "no wrk (apt-get install wrk)"

set -- $SIZES
small=$1
eval "big=\${$#}"

rm -rf "$work"
mkdir -p "$work/redis" "$work/nginx/logs" "$work/nginx/tmp" "$work/wrk"
cp "$MODULE" "$work/ngx_http_users_module.so" || die "cannot copy $MODULE"
out=$work/results.txt
: > "$out"
note() { printf '%s\n' "$*" | tee -a "$out"; }

# ---- Redis and the data ---------------------------------------------------

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
mem() { rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
now() { date +%s.%N; }

"$ADMIN" -h 127.0.0.1 -p "$REDIS_PORT" load-functions \
    "$root/redis/users.lua" >/dev/null || die "load-functions failed"

note "ngx_http_users_module scale benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
note "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), shared by wrk, nginx and Redis;" \
     "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $WORKERS workers, users_cache off;" \
     "redis $(rcli info server | tr -d '\r' | sed -n 's/^redis_version://p')"
note ""

for n in $SIZES; do
    ws=n$n
    m0=$(mem); t0=$(now)
    perl "$root/bench/gen-redis.pl" "$ws" "$n" \
        | rcli --pipe > "$work/load.$n.txt" 2>&1
    grep -q '^errors: 0,' "$work/load.$n.txt" \
        || die "loading $n users failed: $(tail -3 "$work/load.$n.txt")"
    t1=$(now); m1=$(mem)
    note "$(perl -e 'printf "load %d users: %.1f s, Redis used_memory +%.0f MB (%.0f bytes a user)",
                          $ARGV[0], $ARGV[2] - $ARGV[1], ($ARGV[4] - $ARGV[3]) / 2**20,
                          ($ARGV[4] - $ARGV[3]) / $ARGV[0]' "$n" "$t0" "$t1" "$m0" "$m1")"

    if [ "$n" -le 100000 ] || [ "$CHECK" = full ]; then
        t0=$(now)
        rcli FCALL_RO users_check 1 "users:{$ws}" > "$work/check.$n.txt" \
            || die "users_check failed"
        grep -q . "$work/check.$n.txt" \
            && die "users_check at $n: $(head -3 "$work/check.$n.txt")"
        note "$(perl -e 'printf "  FCALL_RO users_check: consistent (%.1f s)", $ARGV[1] - $ARGV[0]' "$t0" "$(now)")"
    fi
    c=$(perl "$root/bench/bench.pl" sample-check "$REDIS_PORT" "$ws" "$n" 100) \
        || die "sample check at $n failed"
    note "  sample check: $c"
done
note "Redis used_memory in all: $(rcli info memory | tr -d '\r' | sed -n 's/^used_memory_human://p')"
note ""

# ---- nginx ------------------------------------------------------------------

PORT=$(free_port) || die "no free port"
PORT_NARROW=$(free_port) || die "no free port"
while [ "$PORT_NARROW" = "$PORT" ]; do PORT_NARROW=$(free_port); done
perl "$root/bench/bench.pl" public "$root/conf/accounts.conf" \
    '$http_x_workspace' > "$work/accounts-public.conf" \
    || die "cannot write accounts-public.conf"
conf=$work/nginx/nginx.conf
perl "$root/bench/bench.pl" conf "$root/bench/scale.conf.in" \
    ACCOUNTS="$work/accounts-public.conf" \
    ROOT="$root" MODULE="$work/ngx_http_users_module.so" \
    PREFIX="$work/nginx" PORT="$PORT" PORT_NARROW="$PORT_NARROW" \
    REDIS_PORT="$REDIS_PORT" WORKERS="$WORKERS" TIMEOUT="$TIMEOUT" \
    > "$conf" || die "cannot write $conf"
"$NGINX" -q -t -p "$work/nginx" -c "$conf" -e "$work/nginx/logs/error.log" \
    || die "nginx -t failed for $conf"
"$NGINX" -p "$work/nginx" -c "$conf" -e "$work/nginx/logs/error.log" \
    || die "nginx failed, see $work/nginx/logs/error.log"
for _ in $(seq 50); do
    [ -s "$work/nginx/nginx.pid" ] && break
    sleep 0.1
done
nginx_pid=$(cat "$work/nginx/nginx.pid" 2>/dev/null)
[ -n "$nginx_pid" ] || die "nginx did not start"

for n in $SIZES; do
    for _ in $(seq 30); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Workspace: n$n" \
               "http://127.0.0.1:$PORT/accounts/users")
        [ "$code" = 200 ] && break
        sleep 0.2
    done
    [ "$code" = 200 ] || die "the module answers $code for n$n"
done

# ---- indexed queries: wrk, interleaved ----------------------------------------

targets=
for n in $SIZES; do
    targets="$targets p1@$n"
done
targets="$targets off50000@$big"
for n in $SIZES; do
    targets="$targets invited@$n"
done

path_of() {
    case "${1%@*}" in
        p1)        echo "/accounts/users?limit=20" ;;
        off50000)  echo "/accounts/users?limit=20&offset=50000" ;;
        invited)   echo "/accounts/users?limit=20&status=invited" ;;
    esac
}

redis_cpu() {
    rcli info cpu | tr -d '\r' \
        | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'
}

raw=$work/raw.tsv
printf '# round\ttarget\trps\tp50_ms\tp99_ms\trequests\tnon2xx\terrors\tredis_us\n' > "$raw"
set -- $targets
nt=$#
say "indexed queries: $ROUNDS rounds x $nt targets x ${DURATION}s, -t2 -c$CONNS"
for round in $(seq "$ROUNDS"); do
    set -- $targets
    shift $(( (round - 1) % nt ))
    order="$* $(printf '%s\n' $targets | head -n $(( (round - 1) % nt )) | tr '\n' ' ')"
    for t in $order; do
        u="http://127.0.0.1:$PORT$(path_of "$t")"
        h="X-Workspace: n${t#*@}"
        "$WRK" -t2 -c"$CONNS" -d1s -H "$h" "$u" >/dev/null 2>&1
        r0=$(redis_cpu)
        timeout $((DURATION + 30)) "$WRK" -t2 -c"$CONNS" -d"${DURATION}s" \
            --latency -H "$h" "$u" > "$work/wrk/$t.$round.txt" 2>&1
        r1=$(redis_cpu)
        line=$(perl "$root/bench/bench.pl" wrk "$work/wrk/$t.$round.txt")
        rus=$(perl -e 'my ($a, $b, $n) = @ARGV;
                       printf "%.1f", $n ? ($b - $a) * 1e6 / $n : 0' \
              "$r0" "$r1" "$(printf '%s' "$line" | cut -f4)")
        printf '%s\t%s\t%s\t%s\n' "$round" "$t" "$line" "$rus" >> "$raw"
        say "round $round $t: $(printf '%s' "$line" | cut -f1) req/s"
    done
done

perl -e '
    my ($raw, $small) = @ARGV;
    my (%r, @order);
    open my $fh, "<", $raw or die;
    while (<$fh>) {
        next if /^#/;
        chomp;
        my ($round, $t, $rps, $p50, $p99, $req, $non, $err, $rus) = split /\t/;
        push @order, $t unless $r{$t};
        $r{$t}{rps}{$round} = $rps;
        push @{ $r{$t}{p50} }, $p50;
        push @{ $r{$t}{p99} }, $p99;
        push @{ $r{$t}{rus} }, $rus;
        $r{$t}{bad} += $non + $err;
    }
    sub med { my @v = sort { $a <=> $b } @_; my $m = int(@v / 2);
              @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2 }
    printf "%-20s %9s %8s %8s %9s %13s %6s\n", "indexed (wrk)", "req/s",
           "p50 ms", "p99 ms", "redis us", "vs p1\@$small", "errors";
    my $ref = $r{"p1\@$small"}{rps};
    for my $t (@order) {
        my $x = $r{$t};
        # the ratio of req/s within each round, then its median
        my @pr = map { $ref->{$_} / $x->{rps}{$_} }
                 grep { $x->{rps}{$_} } keys %$ref;
        my @s = sort { $a <=> $b } @pr;
        printf "%-20s %9.0f %8.2f %8.2f %9.1f %5.2fx %3.2f-%3.2f %6d\n", $t,
               med(values %{ $x->{rps} }), med(@{ $x->{p50} }),
               med(@{ $x->{p99} }), med(@{ $x->{rus} }), med(@pr),
               $s[0], $s[-1], $x->{bad};
    }
    print "vs p1\@$small: how many times slower (req/s of the reference",
          " / req/s, within each round;\nmedian, min-max). redis us: Redis",
          " CPU per request.\n";
' "$raw" "$small" | tee -a "$out"
note ""

# ---- scan queries: one at a time ---------------------------------------------

scans="
search      /bench/users?search=smi
search_all  /bench/users?search=smi&status=active,inactive,invited
two_enums   /accounts/users?status=invited&type=guest
type_guest  /accounts/users?type=guest
two_status  /accounts/users?status=active,invited
order2      /accounts/users?ordering=last_name,first_name
order2_deep /accounts/users?ordering=last_name,first_name&offset=50000
order2_fn   /accounts/users?ordering=-first_name,last_name
group       /accounts/users?groups=7
"

scan_raw=$work/scan.tsv
printf '# server\tsize\tquery\trep\tcode\tseconds\tcount_or_error\n' > "$scan_raw"

run_scans() {
    local server=$1 port=$2 n=$3 name path rep res
    printf '%s\n' "$scans" | while read -r name path; do
        [ -n "$name" ] || continue
        for rep in $(seq "$REPS"); do
            res=$(curl -s -o "$work/scan.out" -w '%{http_code}\t%{time_total}' \
                  --max-time 120 -H "X-Workspace: n$n" \
                  "http://127.0.0.1:$port$path")
            what=$(perl -MJSON::PP -e 'local $/; my $d = eval {
                       JSON::PP->new->decode(<STDIN>) } or do { print "-"; exit };
                       print $d->{count} // $d->{error} // "-"' \
                   < "$work/scan.out")
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$n" "$name" "$rep" \
                "$res" "$what" >> "$scan_raw"
        done
        say "scan $server n$n $name: $(tail -1 "$scan_raw" | cut -f5-)"
    done
}

for n in $SIZES; do
    run_scans default "$PORT" "$n"
done
run_scans narrow "$PORT_NARROW" "$big"

perl -e '
    my ($raw) = @ARGV;
    my (%r, @order);
    open my $fh, "<", $raw or die;
    while (<$fh>) {
        next if /^#/;
        chomp;
        my ($srv, $n, $q, $rep, $code, $s, $what) = split /\t/;
        my $k = "$srv\t$n\t$q";
        push @order, $k unless $r{$k};
        push @{ $r{$k}{s} }, $s * 1000;
        $r{$k}{code}{$code}++;
        $r{$k}{what} = $what;
    }
    sub med { my @v = sort { $a <=> $b } @_; my $m = int(@v / 2);
              @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2 }
    printf "%-36s %8s %9s %9s %9s  %s\n", "scan (users_query), one at a time",
           "status", "ms med", "ms min", "ms max", "count or error";
    for my $k (@order) {
        my ($srv, $n, $q) = split /\t/, $k;
        my @s = sort { $a <=> $b } @{ $r{$k}{s} };
        printf "%-36s %8s %9.1f %9.1f %9.1f  %s\n",
               sprintf("%s n=%s %s", $srv eq "narrow" ? "limit 100k" : "default",
                       $n, $q),
               join("/", sort keys %{ $r{$k}{code} }), med(@s), $s[0], $s[-1],
               $r{$k}{what};
    }
' "$scan_raw" | tee -a "$out"
note ""
note "default: users_scan_limit 1000000 (the default); limit 100k: users_scan_limit 100000"
note "Redis used_memory at the end: $(rcli info memory | tr -d '\r' | sed -n 's/^used_memory_human://p')"
say "results: $out; raw: $raw, $scan_raw, $work/wrk/"
