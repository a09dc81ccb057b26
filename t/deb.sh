#!/bin/sh
# make test-deb: the Debian package on this machine, end to end.
#
#   t/deb.sh build/deb/libnginx-mod-http-users_<version>_<arch>.deb
#
# As root. Installs the package with dpkg and checks what it put where
# (the .so, mod-http-users.conf and its modules-enabled symlink, users-admin,
# its manual page, the Functions library, the conf files, the Depends on the
# ABI the installed nginx provides); runs nginx -t on the system
# configuration, which now loads the module. Then a private Redis on a free
# loopback port gets the packaged Functions library, a user and a token
# through the packaged users-admin, and a private nginx (its own prefix
# under build/deb-test and a free loopback port) loads the module through
# the modules-enabled symlink and includes the packaged conf/gateway.conf:
# GET /user with the token answers the user, without it 401. Last, the
# package is purged and nothing of it may be left: no file of its list,
# no directory no other package owns, no modules-enabled symlink.
#
# The system's nginx service is never started, stopped or reloaded: for the
# run /usr/sbin/policy-rc.d denies every action (so the nginx-reload
# trigger of the package's postinst and postrm does nothing), and the
# policy-rc.d found there, if any, is put back on exit. The test refuses to
# run when the package is already installed (it would purge it).
#
# Prints ok / not ok per check and "N passed, N failed" last; exits 0 only
# when every check passed.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/deb-test
prefix=$work/nginx
redis_dir=$work/redis

NGINX=/usr/sbin/nginx
ADMIN=/usr/bin/users-admin
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
POLICY=/usr/sbin/policy-rc.d
ENABLED=/etc/nginx/modules-enabled/50-mod-http-users.conf
AVAILABLE=/usr/share/nginx/modules-available/mod-http-users.conf
SHARE=/usr/share/libnginx-mod-http-users

passed=0
failed=0
installed=
policy_saved=
policy_ours=
redis_pid=

die() { echo "t/deb.sh: $*" >&2; exit 1; }

ok() {
    if [ "$1" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok - $2"
    else
        failed=$((failed + 1)); echo "not ok - $2"
    fi
}

# ok when the strings $1 and $2 are equal; shows both otherwise
is() {
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
    fi
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                      Proto => "tcp", Listen => 1) or die "$!\n";
        print $s->sockport, "\n";'
}

status() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null; }

stop_pid() {
    [ -n "$1" ] || return 0
    kill -"$2" "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1; i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null
}

cleanup() {
    if [ -s "$prefix/nginx.pid" ]; then
        stop_pid "$(cat "$prefix/nginx.pid")" QUIT
    fi
    stop_pid "$redis_pid" TERM
    redis_pid=
    if [ -n "$installed" ] && [ -n "$(status "$pkg")" ]; then
        echo "t/deb.sh: purging $pkg"
        dpkg --purge "$pkg" >>"$work/dpkg.log" 2>&1
    fi
    if [ -n "$policy_ours" ]; then
        rm -f "$POLICY"
        [ -n "$policy_saved" ] && mv -f "$policy_saved" "$POLICY"
        policy_ours=
    fi
}

# ---------------------------------------------------------------- start

deb=${1:-}
[ -f "$deb" ] || die "usage: t/deb.sh <package.deb> (make test-deb builds it)"
case "$deb" in /*) ;; *) deb=$(pwd)/$deb ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (dpkg -i, dpkg --purge)"
for c in dpkg-deb curl perl "$REDIS_CLI"; do
    command -v "$c" >/dev/null || die "$c not found (make deps)"
done
[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx)"
[ -x "$REDIS_SERVER" ] || die "$REDIS_SERVER not found (make deps)"

pkg=$(dpkg-deb -f "$deb" Package) || die "$deb: not a package"
case "$(status "$pkg")" in
    ""|*not-installed) ;;
    *) die "$pkg is installed on this machine ($(status "$pkg")):" \
           "the test would purge it; remove it first" ;;
esac

rm -rf "$work" && mkdir -p "$work" "$prefix/logs" "$prefix/tmp" "$redis_dir" \
    || die "cannot create $work"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# no service actions while the package comes and goes
if [ -e "$POLICY" ] || [ -L "$POLICY" ]; then
    policy_saved=$work/policy-rc.d.saved
    mv -f "$POLICY" "$policy_saved" || die "cannot move $POLICY aside"
fi
policy_ours=1
printf '#!/bin/sh\n# t/deb.sh (make test-deb): no service actions\nexit 101\n' \
    > "$POLICY" && chmod 755 "$POLICY" || die "cannot write $POLICY"

# ---------------------------------------------------------------- install

echo "t/deb.sh: dpkg -i $deb"
installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1
rc=$?
ok $rc "dpkg -i"
[ $rc -eq 0 ] || { cat "$work/dpkg.log"; exit 1; }
is "$(status "$pkg")" "install ok installed" "$pkg is installed"
dpkg-query -L "$pkg" > "$work/files"

[ -f /usr/lib/nginx/modules/ngx_http_users_module.so ]
ok $? "the module is /usr/lib/nginx/modules/ngx_http_users_module.so"
is "$(cat "$AVAILABLE" 2>&1)" \
    "load_module modules/ngx_http_users_module.so;" "$AVAILABLE loads it"
is "$(readlink "$ENABLED")" "$AVAILABLE" "$ENABLED links to it"

abi=$(dpkg-query -W -f='${Provides}' nginx | tr ',' '\n' \
      | sed -n 's/^ *\(nginx-abi-[^ ]*\).*/\1/p')
case ", $(dpkg-query -W -f='${Depends}' "$pkg")," in
    *", $abi,"*) r=0 ;;
    *) r=1 ;;
esac
ok $r "Depends names the ABI the installed nginx provides (${abi:-none})"

"$ADMIN" --help 2>&1 | head -1 | grep -q '^usage: users-admin'
ok $? "$ADMIN --help"
[ -f /usr/share/man/man1/users-admin.1.gz ]
ok $? "users-admin(1) is installed"
[ -f "$SHARE/redis/users.lua" ] && [ -f "$SHARE/conf/gateway.conf" ] \
    && [ -f "$SHARE/conf/accounts.conf" ] && [ ! -e "$SHARE/conf/demo.conf" ]
ok $? "the Functions library and the conf files are in $SHARE"

"$NGINX" -t >"$work/nginx-t.log" 2>&1
ok $? "nginx -t (the system configuration, module enabled)"
"$NGINX" -T 2>/dev/null | grep -qxF "# configuration file $ENABLED:"
ok $? "the system configuration includes $ENABLED"

# ---------------------------------------------------------------- one request

redis_port=$(free_port) || die "no free loopback port"
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$redis_dir" --daemonize no \
    >"$redis_dir/redis.log" 2>&1 &
redis_pid=$!
i=0
until [ "$("$REDIS_CLI" -p "$redis_port" PING 2>/dev/null)" = PONG ]; do
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited"
    i=$((i + 1))
    [ $i -gt 100 ] && die "redis-server on port $redis_port does not answer"
    sleep 0.05
done

admin() { "$ADMIN" -p "$redis_port" "$@"; }

admin load-functions "$SHARE/redis/users.lua" >"$work/admin.log" 2>&1
ok $? "users-admin load-functions $SHARE/redis/users.lua"
admin schema deb --sort name:str,id:int >>"$work/admin.log" 2>&1
ok $? "users-admin schema"
echo '{"id":7,"name":"Ann Deb","timezone":"Europe/Paris"}' \
    | admin import deb - >>"$work/admin.log" 2>&1
ok $? "users-admin import"
token=$(admin token-create deb 7 2>>"$work/admin.log")
ok $? "users-admin token-create"

http_port=$(free_port) || die "no free loopback port"
ln -s /usr/lib/nginx/modules "$prefix/modules"   # as /usr/share/nginx has
cat > "$prefix/nginx.conf" <<EOF
include           $ENABLED;

worker_processes  1;
pid               $prefix/nginx.pid;
error_log         $prefix/logs/error.log  info;

events {
    worker_connections  64;
}

http {
    access_log              $prefix/logs/access.log;
    client_body_temp_path   $prefix/tmp/body;
    proxy_temp_path         $prefix/tmp/proxy;
    fastcgi_temp_path       $prefix/tmp/fastcgi;
    uwsgi_temp_path         $prefix/tmp/uwsgi;
    scgi_temp_path          $prefix/tmp/scgi;

    users_redis  127.0.0.1:$redis_port  timeout=2s;

    server {
        listen       127.0.0.1:$http_port;
        server_name  localhost;

        include  $SHARE/conf/gateway.conf;
    }
}
EOF

ngx() { "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" "$@"; }

ngx -t >>"$work/nginx-t.log" 2>&1
ok $? "nginx -t (a private configuration including $SHARE/conf/gateway.conf)"
ngx >>"$work/nginx-t.log" 2>&1 || { cat "$work/nginx-t.log"; die "nginx did not start"; }

url=http://127.0.0.1:$http_port/user
i=0
until curl -s -o /dev/null "$url"; do
    i=$((i + 1))
    [ $i -gt 50 ] && die "nginx does not answer on 127.0.0.1:$http_port"
    sleep 0.1
done

body=$(curl -s -H "Authorization: Bearer $token" -w ' %{http_code}' "$url")
is "$body" \
    '{"id":7,"name":"Ann Deb","timezone":"Europe/Paris","date_format":null,"time_format":null} 200' \
    "GET /user with the token: the user"
is "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 401 \
    "GET /user without a token: 401"

stop_pid "$(cat "$prefix/nginx.pid")" QUIT
! grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log"
ok $? "no alert, crit or emerg in the error log"
! grep -qF "$token" "$prefix/logs/error.log" "$prefix/logs/access.log"
ok $? "the token is in no log"
stop_pid "$redis_pid" TERM
redis_pid=

# ---------------------------------------------------------------- purge

# as every libnginx-mod package: remove parks the link as .removed (an
# admin's disabling survives a reinstall), purge deletes it
dpkg --remove "$pkg" >>"$work/dpkg.log" 2>&1
ok $? "dpkg --remove"
[ ! -e "$ENABLED" ] && [ "$(readlink "$ENABLED.removed")" = "$AVAILABLE" ]
ok $? "removed: $ENABLED parked as $ENABLED.removed"
"$NGINX" -t >>"$work/nginx-t.log" 2>&1
ok $? "nginx -t after the removal"

dpkg --purge "$pkg" >>"$work/dpkg.log" 2>&1
ok $? "dpkg --purge"
installed=
case "$(status "$pkg")" in
    ""|"unknown ok not-installed") r=0 ;;
    *) r=1 ;;
esac
ok $r "$pkg is purged (status: $(status "$pkg"))"

left=
while read -r f; do
    if [ "$f" = /. ]; then
        continue
    elif [ -L "$f" ] || [ -f "$f" ]; then
        left="$left $f"
    elif [ -d "$f" ] && ! dpkg-query -S "$f" >/dev/null 2>&1; then
        left="$left $f/"
    fi
done < "$work/files"
is "$left" "" "no file of the package, no directory nothing else owns"
[ ! -e "$ENABLED" ] && [ ! -L "$ENABLED" ] && [ ! -L "$ENABLED.removed" ]
ok $? "$ENABLED is gone (and no .removed link)"
"$NGINX" -t >>"$work/nginx-t.log" 2>&1
ok $? "nginx -t after the purge"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
