#!/bin/bash
# What bearer auth and rate limits cost: GET /accounts/users?limit=20 (page
# cache on, every request a hit) through one nginx with five servers:
#
#   (a) plain    no auth, no limit (the baseline)
#   (b) auth     users_auth, one token, warm in each worker's token cache
#                (users_auth_cache defaults: looked up again every 30 s);
#                the workspace comes from the token ($users_workspace)
#   (c) shm      (b) + users_limit of a shared-memory zone keyed by
#                $users_workspace
#   (d) redis    (b) + users_limit of a Redis zone keyed by
#                $users_workspace: one FCALL users_limit a request
#   (e) ip       no auth, a shared-memory zone keyed by $binary_remote_addr
#
# Every zone's rate is 1,000,000 r/s: it never rejects (any non-2xx answer
# in a round makes the script fail). wrk -t2 -c64 --latency in interleaved
# rounds (the order rotated each round), then medians over rounds (req/s,
# p50, p99, CPU per request of Redis and of nginx's workers, Redis calls
# per request) and the ratios within each round.
#
#   bench/auth-limit.sh                              5 rounds x 5 x 7 s (~4 min)
#   AL_ROUNDS=1 AL_DURATION=3 bench/auth-limit.sh    a quick look (~1 min)
#
# Starts its own redis-server and nginx (2 workers) on free loopback ports;
# everything is stopped on exit, error or interrupt. Work files, raw
# figures, wrk outputs and the table: build/bench-auth/.
#
# Environment: AL_ROUNDS (5), AL_DURATION (seconds, 7), AL_CONNECTIONS (64),
# AL_THREADS (2), AL_WORKERS (2), AL_USERS (10000), AL_REDIS_CONNECTIONS
# (module connections per worker, 4), AL_TARGETS (a subset of
# "plain auth shm redis ip"), NGINX, REDIS_SERVER, WRK.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench-auth

ROUNDS=${AL_ROUNDS:-5}
DURATION=${AL_DURATION:-7}
CONNS=${AL_CONNECTIONS:-64}
THREADS=${AL_THREADS:-2}
WORKERS=${AL_WORKERS:-2}
USERS=${AL_USERS:-10000}
REDIS_CONNS=${AL_REDIS_CONNECTIONS:-4}
TARGETS=${AL_TARGETS:-plain auth shm redis ip}

NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
WRK=${WRK:-wrk}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so

say() { printf '%s\n' "auth-limit: $*" >&2; }
die() { printf '%s\n' "auth-limit: $*" >&2; exit 1; }

redis_pid=
nginx_pid=

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null
    for p in $nginx_pid $redis_pid; do
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

[ -x "$ADMIN" ] && [ -f "$MODULE" ] \
    || die "build first: make (needs $MODULE and $ADMIN)"
command -v "$WRK" >/dev/null || die "no wrk (apt-get install wrk)"
for t in $TARGETS; do
    case "$t" in plain|auth|shm|redis|ip) ;; *) die "unknown target $t" ;; esac
done

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- Redis with the users and a token -------------------------------------

rm -rf "$work"
mkdir -p "$work/redis" "$work/nginx/logs" "$work/nginx/tmp" "$work/wrk" \
    || die "cannot create $work"

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

# the caller: user 1 of demo, role "user" (no users_see_all: the whole
# workspace is listed, the same page as the baseline)
TOKEN=$(admin token-create demo 1 | tr -d '\r\n')
case "$TOKEN" in uk_*) ;; *) die "token-create printed \"$TOKEN\"" ;; esac
AUTH="Authorization: Bearer $TOKEN"

# ---- nginx -----------------------------------------------------------------

ports=
for v in A B C D E; do
    while :; do
        p=$(free_port) || die "no free port"
        case " $ports " in *" $p "*) ;; *) break ;; esac
    done
    ports="$ports $p"
    eval "PORT_$v=$p"
done

perl "$root/bench/bench.pl" public "$root/conf/accounts.conf" demo \
    > "$work/accounts-public.conf" || die "cannot write accounts-public.conf"
conf=$work/nginx/nginx.conf
perl -e '
    my ($tpl, @kv) = @ARGV;
    my %v = map { /^(\w+)=(.*)\z/s ? ($1, $2) : die "bad $_\n" } @kv;
    open my $fh, "<", $tpl or die "$tpl: $!\n";
    local $/; my $t = <$fh>;
    $t =~ s/@(\w+)@/exists $v{$1} ? $v{$1} : die "no value for \@$1\@\n"/ge;
    print $t;
' "$root/bench/auth-limit.conf.in" ROOT="$root" \
    MODULE="$work/ngx_http_users_module.so" PREFIX="$work/nginx" \
    WORKERS="$WORKERS" REDIS_PORT="$REDIS_PORT" \
    REDIS_CONNECTIONS="$REDIS_CONNS" PORT_A="$PORT_A" PORT_B="$PORT_B" \
    PORT_C="$PORT_C" PORT_D="$PORT_D" PORT_E="$PORT_E" \
    ACCOUNTS="$work/accounts-public.conf" > "$conf" \
    || die "cannot write $conf"

"$NGINX" -q -t -p "$work/nginx" -c "$conf" -e "$work/nginx/logs/error.log" \
    || die "nginx -t failed for $conf"
"$NGINX" -p "$work/nginx" -c "$conf" -e "$work/nginx/logs/error.log" \
    || die "nginx failed, see $work/nginx/logs/error.log"
for _ in $(seq 50); do
    [ -s "$work/nginx/nginx.pid" ] && break
    sleep 0.1
done
nginx_pid=$(cat "$work/nginx/nginx.pid" 2>/dev/null)
[ -n "$nginx_pid" ] || die "nginx did not start, see $work/nginx/logs/error.log"

port_of() {
    case "$1" in
        plain) echo "$PORT_A" ;; auth) echo "$PORT_B" ;; shm) echo "$PORT_C" ;;
        redis) echo "$PORT_D" ;; ip) echo "$PORT_E" ;;
    esac
}
url_of() { echo "http://127.0.0.1:$(port_of "$1")/accounts/users?limit=20"; }
needs_token() { case "$1" in auth|shm|redis) return 0 ;; esac; return 1; }

# curl for target t: the token where it is needed
get() {
    local t=$1; shift
    if needs_token "$t"; then
        curl -s -H "$AUTH" "$@" "$(url_of "$t")"
    else
        curl -s "$@" "$(url_of "$t")"
    fi
}

calls() {   # calls of a Redis command since start
    rcli info commandstats | tr -d '\r' \
        | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

# ---- checks ----------------------------------------------------------------

for _ in $(seq 30); do
    code=$(get plain -o "$work/plain.json" -w '%{http_code}')
    [ "$code" = 200 ] && break
    sleep 0.2
done
[ "$code" = 200 ] || die "(a) answers $code, see $work/nginx/logs/error.log"

code=$(curl -s -o /dev/null -w '%{http_code}' "$(url_of auth)")
[ "$code" = 401 ] || die "(b) without a token answers $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer uk_nope" \
       "$(url_of auth)")
[ "$code" = 401 ] || die "(b) with an unknown token answers $code, not 401"

for t in auth shm redis ip; do
    code=$(get "$t" -D "$work/$t.headers" -o "$work/$t.json" -w '%{http_code}')
    [ "$code" = 200 ] || die "($t) answers $code"
    # the same page; next/previous differ by the port only
    sed "s/:$(port_of "$t")\//:$PORT_A\//g" "$work/$t.json" \
        | cmp -s - "$work/plain.json" \
        || die "($t) answers other bytes than (a), see $work/$t.json"
    case "$t" in
        shm|redis|ip)
            grep -qi '^RateLimit:' "$work/$t.headers" \
                || die "($t) has no RateLimit header: the zone is not applied" ;;
    esac
done

# per request: a hit is one EXEC; (d) adds one FCALL; a warm token no HMGET
for t in plain auth shm redis ip; do
    for _ in 1 2 3 4; do get "$t" -o /dev/null; done
    e0=$(calls exec); f0=$(calls fcall); h0=$(calls hmget)
    for _ in 1 2 3 4 5 6 7 8; do get "$t" -o /dev/null; done
    e1=$(calls exec); f1=$(calls fcall); h1=$(calls hmget)
    say "($t) 8 warm requests: $((e1 - e0)) EXEC, $((f1 - f0)) FCALL," \
        "$((h1 - h0)) HMGET"
    [ $((e1 - e0)) = 8 ] || die "($t) the page cache does not hit"
    if [ "$t" = redis ]; then
        [ $((f1 - f0)) = 8 ] || die "(redis) is not one FCALL a request"
    else
        [ $((f1 - f0)) = 0 ] || die "($t) calls Redis functions"
    fi
done

# ---- measure ---------------------------------------------------------------

tck=$(getconf CLK_TCK)

cpu_of() {  # CPU ticks (user+sys) of the given pids
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

workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')

raw=$work/raw.tsv
printf '# round\ttarget\trps\tp50_ms\tp99_ms\trequests\tnon2xx\terrors\tredis_us\tnginx_us\texec\tfcall\thmget\n' > "$raw"

set -- $TARGETS
ntargets=$#
say "$ROUNDS rounds x $ntargets targets x ${DURATION}s, -t$THREADS -c$CONNS," \
    "$WORKERS workers, $USERS users; load average $load_start"

for round in $(seq "$ROUNDS"); do
    set -- $TARGETS
    k=$(( (round - 1) % ntargets ))
    shift "$k"
    order="$* $(printf '%s\n' $TARGETS | head -n "$k" | tr '\n' ' ')"

    for t in $order; do
        u=$(url_of "$t")
        hdr=()
        needs_token "$t" && hdr=(-H "$AUTH")
        timeout 10 "$WRK" -t"$THREADS" -c"$CONNS" -d1s "${hdr[@]}" "$u" \
            >/dev/null 2>&1
        r0=$(redis_cpu); n0=$(cpu_of $workers)
        e0=$(calls exec); f0=$(calls fcall); h0=$(calls hmget)
        timeout $((DURATION + 30)) "$WRK" -t"$THREADS" -c"$CONNS" \
            -d"${DURATION}s" --latency "${hdr[@]}" "$u" \
            > "$work/wrk/$t.$round.txt" 2>&1
        r1=$(redis_cpu); n1=$(cpu_of $workers)
        e1=$(calls exec); f1=$(calls fcall); h1=$(calls hmget)

        line=$(perl -e '
            local $/; my $t = <STDIN>;
            sub ms { my ($n, $u) = ($_[0] // "") =~ /^([\d.]+)(\w+)$/
                         or return "nan";
                     $u eq "us" ? $n / 1000 : $u eq "ms" ? $n
                     : $u eq "s" ? $n * 1000 : "nan" }
            my ($rps) = $t =~ /^Requests\/sec:\s+([\d.]+)/m;
            my ($p50) = $t =~ /^\s+50%\s+([\d.]+\w+)/m;
            my ($p99) = $t =~ /^\s+99%\s+([\d.]+\w+)/m;
            my ($req) = $t =~ /^\s+(\d+) requests in/m;
            my ($non) = $t =~ /Non-2xx or 3xx responses:\s+(\d+)/;
            my $err = 0;
            $err = $1 + $2 + $3 + $4 if $t =~
                /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/;
            my ($r0, $r1, $n0, $n1, $tck, @c) = @ARGV;
            $req ||= 0;
            my @per = map { $req ? sprintf("%.3f", ($c[2*$_+1] - $c[2*$_]) / $req)
                                 : "nan" } 0 .. 2;
            print join "\t", $rps // 0, ms($p50), ms($p99), $req, $non // 0,
                $err,
                $req ? sprintf("%.2f", ($r1 - $r0) * 1e6 / $req) : "nan",
                $req ? sprintf("%.2f", ($n1 - $n0) / $tck * 1e6 / $req) : "nan",
                @per;
        ' "$r0" "$r1" "$n0" "$n1" "$tck" "$e0" "$e1" "$f0" "$f1" "$h0" "$h1" \
            < "$work/wrk/$t.$round.txt")
        printf '%s\t%s\t%s\n' "$round" "$t" "$line" >> "$raw"
        say "round $round $t: $(printf '%s' "$line" | cut -f1) req/s"

        bad=$(printf '%s' "$line" | cut -f5,6)
        [ "$bad" = "0	0" ] || die "($t) round $round: non-2xx / errors $bad," \
                                 "see $work/wrk/$t.$round.txt"
    done
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------

{
    echo "auth and rate limits, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"\
         "shared by wrk, nginx and Redis"
    echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $WORKERS workers;" \
         "redis $(rcli info server | tr -d '\r' | sed -n 's/^redis_version://p');" \
         "wrk -t$THREADS -c$CONNS -d${DURATION}s x $ROUNDS rounds, interleaved;" \
         "$USERS users; GET /accounts/users?limit=20, page cache on"
    echo "load average at start: $load_start; at end: $load_end"
    echo
    perl -e '
        my %name = (plain => "(a) no auth, no limit",
                    auth  => "(b) users_auth, warm token",
                    shm   => "(c) (b) + shm limit per workspace",
                    redis => "(d) (b) + Redis limit per workspace",
                    ip    => "(e) shm limit per address, no auth");
        my (%r, @order);
        open my $fh, "<", $ARGV[0] or die "$ARGV[0]: $!\n";
        while (<$fh>) {
            chomp; next if /^#/ || !length;
            my ($round, $t, @f) = split /\t/;
            push @order, $t unless $r{$t};
            my @k = qw(rps p50 p99 req non err rus nus exec fcall hmget);
            for my $i (0 .. $#k) { push @{ $r{$t}{$k[$i]} }, $f[$i] }
            $r{$t}{round}{$round} = { map { $k[$_] => $f[$_] } 0 .. $#k };
        }
        sub med { my @v = sort { $a <=> $b } grep { /^-?[\d.]+(e[-+]?\d+)?\z/i } @_;
                  return "nan" unless @v; my $m = int(@v / 2);
                  @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2 }
        my @k = grep { $r{$_} } qw(plain auth shm redis ip);
        printf "%-38s %9s %7s %7s %9s %9s %9s %6s %6s %6s\n", "target", "req/s",
            "p50 ms", "p99 ms", "redis us", "nginx us", "server us",
            "EXEC", "FCALL", "HMGET";
        for my $t (@k) {
            my $x = $r{$t};
            my $ru = med(@{ $x->{rus} }); my $nu = med(@{ $x->{nus} });
            printf "%-38s %9.0f %7.2f %7.2f %9.2f %9.2f %9.2f %6.3f %6.3f %6.3f\n",
                $name{$t}, med(@{ $x->{rps} }), med(@{ $x->{p50} }),
                med(@{ $x->{p99} }), $ru, $nu, $ru + $nu,
                med(@{ $x->{exec} }), med(@{ $x->{fcall} }),
                med(@{ $x->{hmget} });
        }
        print "\n(EXEC, FCALL, HMGET: Redis calls per request; server us:",
              " Redis + nginx workers CPU per request, wrk excluded)\n\n";
        print "ratios of req/s within each round: median (min-max); CPU added",
              " per request (median of the per-round difference of server us)\n";
        for my $p ([qw(auth plain)], [qw(shm auth)], [qw(redis auth)],
                   [qw(shm plain)], [qw(redis plain)], [qw(ip plain)]) {
            my ($n, $d) = @$p;
            next unless $r{$n} && $r{$d};
            my (@q, @c);
            for my $round (keys %{ $r{$n}{round} }) {
                my $u = $r{$n}{round}{$round}; my $w = $r{$d}{round}{$round};
                next unless $u && $w && $w->{rps};
                push @q, $u->{rps} / $w->{rps};
                push @c, ($u->{rus} + $u->{nus}) - ($w->{rus} + $w->{nus});
            }
            @q = sort { $a <=> $b } @q;
            printf "  %-6s / %-6s %6.3f (%.3f-%.3f)   %+7.2f us\n", $n, $d,
                med(@q), $q[0], $q[-1], med(@c);
        }
    ' "$raw"
} | tee "$work/results.txt"

say "raw figures: $raw, wrk outputs: $work/wrk/"
