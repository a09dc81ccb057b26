#!/bin/sh
# Runs a representative subset of the Test::Nginx suites with nginx under
# valgrind memcheck (the project's runner in t/lib: TEST_NGINX_USE_VALGRIND,
# reports in t/servroot/logs/valgrind.<pid>.log, a block fails when one is
# not empty).  From the repo root:
#
#   t/valgrind.sh                 the default subset
#   t/valgrind.sh t/052-query.t   other files
#
# Timing-sensitive blocks (latency bounds, windows and refill rates measured
# in wall-clock time) are skipped by name (TEST_NGINX_VALGRIND_SKIP, a Perl
# regex), not weakened.  The module is copied first, so a concurrent `make`
# cannot swap the .so under a running nginx.

set -u
case "$0" in
    */*) here=$(cd "$(dirname "$0")" && pwd) ;;
    *)   here=$(pwd) ;;
esac
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1

command -v valgrind >/dev/null || { echo "t/valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }

[ $# -eq 0 ] && set -- t/010-list.t t/030-accounts.t t/033-project-users.t \
                       t/040-auth.t t/060-limit.t

if [ -z "${TEST_NGINX_LOAD_MODULES:-}" ]; then
    mkdir -p build/valgrind || exit 1
    cp build/ngx_http_users_module.so build/valgrind/ngx_http_users_module.so || exit 1
    TEST_NGINX_LOAD_MODULES="$root/build/valgrind/ngx_http_users_module.so"
fi

# our runner only: the real Test::Nginx has its own valgrind mode
PERL5LIB="$root/t/lib${PERL5LIB:+:$PERL5LIB}"
export PERL5LIB TEST_NGINX_LOAD_MODULES
export TEST_NGINX_USE_VALGRIND="${TEST_NGINX_USE_VALGRIND:-1}"
export TEST_NGINX_TIMEOUT="${TEST_NGINX_TIMEOUT:-30}"
export TEST_NGINX_VALGRIND_SKIP="${TEST_NGINX_VALGRIND_SKIP-060-limit\.t TEST 1:}"

exec "$here/run.sh" "$@"
