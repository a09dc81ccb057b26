#!/bin/sh
# Run the Test::Nginx suites (what `make test` runs), from the repo root:
#
#   t/run.sh                  all of t/*.t
#   t/run.sh t/010-list.t     some files (extra prove options are passed too)
#
# Starts a private redis-server on a free loopback port for the run (data in
# build/test-redis, log in build/test-redis/redis.log), loads the Functions
# library redis/users.lua into it when present, exports
#   TEST_NGINX_REDIS_PORT, TEST_NGINX_SERVER_PORT (a free port unless set),
#   TEST_NGINX_BINARY (/usr/sbin/nginx; `make test NGINX_SRC=dir` sets the
#   nginx built from dir, whose version the suites read with
#   UsersTest::nginx_version),
#   TEST_NGINX_LOAD_MODULES (build/ngx_http_users_module.so),
#   TEST_NGINX_USERS_ADMIN (build/users-admin)
# and runs prove.  The real openresty Test::Nginx is used when it is
# importable (installed, or on PERL5LIB); otherwise the project's runner in
# t/lib.  Redis is stopped on exit, failure or interrupt; the exit code is
# prove's.

set -u

case "$0" in
    */*) here=$(cd "$(dirname "$0")" && pwd) ;;
    *)   here=$(pwd) ;;
esac
root=$(cd "$here/.." && pwd)

# make file arguments absolute before leaving the caller's directory
n=$#
while [ "$n" -gt 0 ]; do
    a=$1; shift; n=$((n - 1))
    if [ -e "$a" ]; then
        case "$a" in /*) ;; *) a="$(pwd)/$a" ;; esac
        case "$a" in "$root"/*) a=${a#"$root"/} ;; esac
    fi
    set -- "$@" "$a"
done
cd "$root" || exit 1
[ $# -eq 0 ] && set -- t/

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                      Proto => "tcp", Listen => 1) or die "$!\n";
        print $s->sockport, "\n";'
}

port_free() {
    perl -MIO::Socket::INET -e '
        exit(IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $ARGV[0],
                                   Proto => "tcp", Listen => 1, ReuseAddr => 1) ? 0 : 1)' "$1"
}

REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
redis_dir="$root/build/test-redis"
redis_pid=

cleanup() {
    if [ -n "$redis_pid" ]; then
        kill -CONT "$redis_pid" 2>/dev/null
        kill -TERM "$redis_pid" 2>/dev/null
        i=0
        while kill -0 "$redis_pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1; i=$((i + 1))
        done
        kill -KILL "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
        redis_pid=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "t/run.sh: $*" >&2; exit 1; }

# One run at a time per checkout: runs share t/servroot and port 1984.
mkdir -p "$root/build" || exit 1
if command -v flock >/dev/null; then
    exec 9>"$root/build/test-run.lock"
    if ! flock -n 9; then
        echo "t/run.sh: another t/run.sh is running in this checkout; waiting" >&2
        flock -w 1800 9 || die "gave up waiting for build/test-run.lock"
    fi
fi

# ---------------------------------------------------------------- redis
[ -x "$REDIS_SERVER" ] || die "$REDIS_SERVER not found (apt-get install redis-server)"
command -v "$REDIS_CLI" >/dev/null || die "$REDIS_CLI not found (apt-get install redis-tools)"
mkdir -p "$redis_dir" || die "cannot create $redis_dir"

redis_port=$(free_port) || die "no free loopback port"
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$redis_dir" --daemonize no \
    >"$redis_dir/redis.log" 2>&1 9>&- &
redis_pid=$!

i=0
until [ "$("$REDIS_CLI" -p "$redis_port" PING 2>/dev/null)" = PONG ]; do
    kill -0 "$redis_pid" 2>/dev/null ||
        { redis_pid=; tail -5 "$redis_dir/redis.log" >&2; die "redis-server exited"; }
    i=$((i + 1))
    [ $i -gt 100 ] && die "redis-server on port $redis_port does not answer PING"
    sleep 0.05
done

if [ -f redis/users.lua ]; then
    out=$("$REDIS_CLI" -p "$redis_port" FUNCTION LOAD REPLACE "$(cat redis/users.lua)" 2>&1)
    rc=$?
    case "$out" in
        ERR*|*"(error)"*|"") rc=1 ;;
    esac
    [ $rc -eq 0 ] || die "FUNCTION LOAD of redis/users.lua failed: $out"
    echo "t/run.sh: loaded redis/users.lua (library $out)"
fi

# ---------------------------------------------------------------- env
export TEST_NGINX_REDIS_PORT="$redis_port"
export TEST_NGINX_BINARY="${TEST_NGINX_BINARY:-/usr/sbin/nginx}"
export TEST_NGINX_LOAD_MODULES="${TEST_NGINX_LOAD_MODULES-$root/build/ngx_http_users_module.so}"
export TEST_NGINX_USERS_ADMIN="${TEST_NGINX_USERS_ADMIN:-$root/build/users-admin}"
# a free port rather than 1984: other checkouts' runs may share the machine
if [ -z "${TEST_NGINX_SERVER_PORT:-}" ]; then
    TEST_NGINX_SERVER_PORT=$(free_port)
fi
export TEST_NGINX_SERVER_PORT

for m in $TEST_NGINX_LOAD_MODULES; do
    [ -f "$m" ] || echo "t/run.sh: warning: module $m does not exist (make?)" >&2
done

# ---------------------------------------------------------------- runner
# The real Test::Nginx wins when importable without t/lib; our runner in
# t/lib is put on @INC only otherwise.  UsersTest.pm stays reachable either
# way (through a directory holding only it, so t/lib's Test::Nginx cannot
# shadow the real one).
ours="$root/t/lib/Test/Nginx/Socket.pm"
found=$(cd /tmp && perl -MTest::Nginx::Socket -e 'print $INC{"Test/Nginx/Socket.pm"}' 2>/dev/null)
case "$found" in
    /*) ;;
    ?*) found="/tmp/$found" ;;
esac
if [ -n "$found" ] && [ "$(readlink -f "$found")" != "$(readlink -f "$ours")" ]; then
    echo "t/run.sh: runner: real Test::Nginx ($found)"
    mkdir -p "$root/build/test-lib"
    ln -sf "$root/t/lib/UsersTest.pm" "$root/build/test-lib/UsersTest.pm"
    inc="$root/build/test-lib"
else
    echo "t/run.sh: runner: project's Test::Nginx subset (t/lib)"
    inc="$root/t/lib"
fi
ngx_version=$("$TEST_NGINX_BINARY" -v 2>&1 | sed -n 's|.*nginx/||p')
echo "t/run.sh: redis 127.0.0.1:$redis_port," \
     "nginx port $TEST_NGINX_SERVER_PORT," \
     "binary $TEST_NGINX_BINARY (${ngx_version:-version unknown})"

prove -r -I "$inc" "$@" 9>&-
rc=$?
exit $rc
