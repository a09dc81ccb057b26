#!/bin/bash
# The demo (`make demo`, `make demo-stop`):
#
#   scripts/demo.sh start    start Redis and nginx with data, print examples
#   scripts/demo.sh stop     stop exactly what start started
#   scripts/demo.sh status   say what runs
#
# start: a private redis-server on 127.0.0.1:${USERS_DEMO_REDIS_PORT:-6390}
# (data in build/demo/redis), the Functions library redis/users.lua, the
# index spec and a few hundred generated users (scripts/gen-users.pl) in the
# workspaces "demo" and "other", a bearer token for each (their users 1
# and 5001), and /usr/sbin/nginx with build/demo/nginx.conf (written from
# conf/demo.conf) on 127.0.0.1:${USERS_DEMO_PORT:-8080}. /accounts/users
# and /user serve the token's workspace; /other/users is public.
#
# With USERS_DEMO_CLUSTER=1 (`make demo CLUSTER=1`) the data live in a
# Redis Cluster instead: 3 primaries and 3 replicas on 127.0.0.1 ports
# ${USERS_DEMO_CLUSTER_PORT:-6391} to +5 (data and nodes.conf in
# build/demo/cluster/PORT), made with redis-cli --cluster create the first
# time; users-admin -c loads it and nginx's users_redis names every node
# with "cluster". stop stops whichever runs.
#
# Running start again is harmless: a running Redis or nginx of the demo is
# reused (nginx is reloaded with the regenerated configuration), users are
# upserted by id (no duplicates) and the tokens are kept while Redis still
# has them. Pid files: build/demo/redis/redis.pid,
# build/demo/nginx/nginx.pid; tokens: build/demo/token, token-other.
#
# Needs `make` first (build/ngx_http_users_module.so, build/users-admin).

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
demo=$root/build/demo
redis_dir=$demo/redis
prefix=$demo/nginx
conf=$demo/nginx.conf
token_file=$demo/token
other_token_file=$demo/token-other

REDIS_PORT=${USERS_DEMO_REDIS_PORT:-6390}
CLUSTER_PORT=${USERS_DEMO_CLUSTER_PORT:-6391}
case "${USERS_DEMO_CLUSTER:-}" in
    1|yes|on|true) CLUSTER=1 ;;
    *)             CLUSTER= ;;
esac
cluster_dir=$demo/cluster
HTTP_PORT=${USERS_DEMO_PORT:-8080}
NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
ADMIN=$root/build/users-admin
MODULE=$root/build/ngx_http_users_module.so

DEMO_USERS=${USERS_DEMO_USERS:-300}      # in workspace "demo"
OTHER_USERS=${USERS_DEMO_OTHER_USERS:-120}

SCHEMA_SORT=last_name:str,first_name:str,status:str,created_at:time
SCHEMA_ENUM=status,type
SCHEMA_MEMBER=groups:group

say()  { printf '%s\n' "demo: $*"; }
die()  { printf '%s\n' "demo: $*" >&2; exit 1; }

# something accepts connections on 127.0.0.1:$1
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# the pid in file $1 if that process runs and its command line has $2
live_pid() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" \
        || return 1
    printf '%s\n' "$pid"
}

redis_pid() { live_pid "$redis_dir/redis.pid" "redis-server"; }
nginx_pid() { live_pid "$prefix/nginx.pid" "$conf"; }

# wait up to $2 tenths of a second for process $1 to go
wait_gone() {
    local i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt "$2" ] && return 1
        sleep 0.1
    done
}

admin() {
    if [ -n "$CLUSTER" ]; then
        "$ADMIN" -c -h 127.0.0.1 -p "$CLUSTER_PORT" "$@"
    else
        "$ADMIN" -h 127.0.0.1 -p "$REDIS_PORT" "$@"
    fi
}

# redis-cli to the demo's Redis, or through the cluster (-c follows MOVED)
rcli() {
    if [ -n "$CLUSTER" ]; then
        redis-cli -c -h 127.0.0.1 -p "$CLUSTER_PORT" "$@"
    else
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
    fi
}

cluster_ports() { seq "$CLUSTER_PORT" $((CLUSTER_PORT + 5)); }
cluster_pid() { live_pid "$cluster_dir/$1/redis.pid" "redis-server"; }

# one of the six nodes, kept across stop/start with its nodes.conf
start_cluster_node() {
    local port=$1 pid i

    if pid=$(cluster_pid "$port"); then
        return 0
    fi

    if listening "$port"; then
        die "127.0.0.1:$port is taken by something else;" \
            "set USERS_DEMO_CLUSTER_PORT"
    fi

    mkdir -p "$cluster_dir/$port"
    rm -f "$cluster_dir/$port/redis.pid"

    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" \
        --dir "$cluster_dir/$port" --dbfilename dump.rdb --save "60 1" \
        --appendonly no --protected-mode yes \
        --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-node-timeout 2000 --cluster-require-full-coverage no \
        --daemonize yes --pidfile "$cluster_dir/$port/redis.pid" \
        --logfile "$cluster_dir/$port/redis.log" \
        || die "redis-server failed, see $cluster_dir/$port/redis.log"

    for i in $(seq 50); do
        redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG \
            && return 0
        sleep 0.1
    done

    die "redis-server on $port did not answer, see" \
        "$cluster_dir/$port/redis.log"
}

# every node says the cluster is ok
cluster_ok() {
    local port
    for port in $(cluster_ports); do
        redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null \
            | grep -q '^cluster_state:ok' || return 1
    done
}

start_cluster() {
    local port addrs= i

    for port in $(cluster_ports); do
        start_cluster_node "$port"
        addrs="$addrs 127.0.0.1:$port"
    done

    # a new cluster: 3 primaries, a replica each
    if redis-cli -h 127.0.0.1 -p "$CLUSTER_PORT" cluster info \
       | grep -q '^cluster_known_nodes:1\b'
    then
        redis-cli --cluster create $addrs --cluster-replicas 1 \
            --cluster-yes > "$cluster_dir/create.log" 2>&1 \
            || die "redis-cli --cluster create failed, see" \
                   "$cluster_dir/create.log"
    fi

    for i in $(seq 300); do
        if cluster_ok; then
            say "redis cluster runs: 3 primaries, 3 replicas on" \
                "127.0.0.1:$CLUSTER_PORT-$((CLUSTER_PORT + 5))"
            return 0
        fi
        sleep 0.1
    done

    die "the cluster is not ok after 30 s, see $cluster_dir/*/redis.log"
}

stop_cluster() {
    local port pid

    for port in $(cluster_ports); do
        if pid=$(cluster_pid "$port"); then
            # SIGTERM: the node saves dump.rdb and nodes.conf and exits
            kill -TERM "$pid"
            wait_gone "$pid" 100 || kill -KILL "$pid" 2>/dev/null
            rm -f "$cluster_dir/$port/redis.pid"
            say "redis-server stopped (pid $pid, port $port)"
            STOPPED=1
        fi
    done
}

start_redis() {
    local pid i

    mkdir -p "$redis_dir"

    if pid=$(redis_pid); then
        say "redis-server already runs (pid $pid, port $REDIS_PORT)"
        return 0
    fi

    if listening "$REDIS_PORT"; then
        die "127.0.0.1:$REDIS_PORT is taken by something else;" \
            "set USERS_DEMO_REDIS_PORT"
    fi

    rm -f "$redis_dir/redis.pid"

    # the data persist across stop/start (dump.rdb in $redis_dir)
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" \
        --dir "$redis_dir" --dbfilename dump.rdb --save "60 1" \
        --appendonly no --protected-mode yes \
        --daemonize yes --pidfile "$redis_dir/redis.pid" \
        --logfile "$redis_dir/redis.log" \
        || die "redis-server failed, see $redis_dir/redis.log"

    for i in $(seq 50); do
        if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null \
           | grep -q PONG
        then
            pid=$(redis_pid) && {
                say "redis-server started (pid $pid, port $REDIS_PORT)"
                return 0
            }
        fi
        sleep 0.1
    done

    die "redis-server did not answer, see $redis_dir/redis.log"
}

load_data() {
    admin load-functions "$root/redis/users.lua" >/dev/null \
        || die "users-admin load-functions failed"

    for ws in demo other; do
        admin schema "$ws" --sort "$SCHEMA_SORT" --enum "$SCHEMA_ENUM" \
            --member "$SCHEMA_MEMBER" >/dev/null \
            || die "users-admin schema $ws failed"
    done

    # deterministic: the same users every time, upserted by id
    "$root/scripts/gen-users.pl" "$DEMO_USERS" 1 > "$demo/demo.jsonl" \
        && "$root/scripts/gen-users.pl" "$OTHER_USERS" 2 5001 \
               > "$demo/other.jsonl" \
        || die "scripts/gen-users.pl failed"

    admin import demo "$demo/demo.jsonl" || die "import into demo failed"
    admin import other "$demo/other.jsonl" || die "import into other failed"
}

# make_token FILE WORKSPACE USER [users-admin options]: the token kept in
# FILE while Redis has its record, else a new one; in $TOKEN_MADE
make_token() {
    local file=$1 ws=$2 user=$3 token digest
    shift 3

    if [ -s "$file" ]; then
        token=$(cat "$file")
        digest=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
        if [ "$(rcli exists "users:token:$digest")" = 1 ]
        then
            TOKEN_MADE=$token
            return 0
        fi
    fi

    token=$(admin token-create "$ws" "$user" "$@" 2>/dev/null) \
        || die "users-admin token-create $ws failed"
    [ -n "$token" ] || die "users-admin token-create printed nothing"
    (umask 077; printf '%s\n' "$token" > "$file")
    TOKEN_MADE=$token
}

make_tokens() {
    # user 1 is the account owner of "demo"; 5001 the first user of "other"
    make_token "$token_file" demo 1 --role admin --perms users:read
    TOKEN=$TOKEN_MADE
    make_token "$other_token_file" other 5001 --perms users:read
    OTHER_TOKEN=$TOKEN_MADE
}

write_conf() {
    mkdir -p "$prefix/logs" "$prefix/tmp"
    local redis=127.0.0.1:$REDIS_PORT port

    if [ -n "$CLUSTER" ]; then
        # every node a seed, and the flag (README, users_redis)
        redis=
        for port in $(cluster_ports); do
            redis="$redis 127.0.0.1:$port"
        done
        redis="${redis# } cluster"
    fi

    sed -e "s|@ROOT@|$root|g" -e "s|@PREFIX@|$prefix|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|127.0.0.1:@REDIS_PORT@|$redis|g" \
        "$root/conf/demo.conf" > "$conf.new" || die "cannot write $conf"
    mv "$conf.new" "$conf"

    "$NGINX" -q -t -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
        || die "nginx -t failed for $conf"
}

start_nginx() {
    local pid i code

    write_conf

    if pid=$(nginx_pid); then
        "$NGINX" -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
            -s reload || die "nginx reload failed"
        say "nginx already runs (pid $pid): reloaded"
        sleep 0.5
    else
        if listening "$HTTP_PORT"; then
            die "127.0.0.1:$HTTP_PORT is taken by something else;" \
                "set USERS_DEMO_PORT"
        fi
        rm -f "$prefix/nginx.pid"
        "$NGINX" -p "$prefix" -c "$conf" -e "$prefix/logs/error.log" \
            || die "nginx failed, see $prefix/logs/error.log"
    fi

    for i in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' \
               -H "Authorization: Bearer $TOKEN" \
               "http://127.0.0.1:$HTTP_PORT/accounts/users?limit=1")
        if [ "$code" = 200 ] && pid=$(nginx_pid); then
            say "nginx answers on 127.0.0.1:$HTTP_PORT (pid $pid)"
            return 0
        fi
        sleep 0.1
    done

    die "nginx does not answer 200 (last: $code), see" \
        "$prefix/logs/error.log"
}

examples() {
    local u="http://127.0.0.1:$HTTP_PORT"
    local a="-H 'Authorization: Bearer $TOKEN'"
    local o="-H 'Authorization: Bearer $OTHER_TOKEN'"
    local count

    # the active users of "demo" (the default filter): the last page's offset
    count=$(curl -s -H "Authorization: Bearer $TOKEN" \
            "$u/accounts/users?limit=1" \
            | sed -n 's/^{"count":\([0-9]*\).*/\1/p')
    count=${count:-$DEMO_USERS}

    if [ -n "$CLUSTER" ]; then
        cat <<EOF

Redis Cluster: 3 primaries, 3 replicas on 127.0.0.1:$CLUSTER_PORT-$((CLUSTER_PORT + 5))
  redis-cli -p $CLUSTER_PORT cluster shards
  redis-cli -p $CLUSTER_PORT cluster keyslot 'users:{demo}'    # demo's slot
  redis-cli -p $CLUSTER_PORT cluster keyslot 'users:{other}'   # other's
EOF
    fi

    cat <<EOF

tokens (kept in build/demo/token and build/demo/token-other):
  workspace "demo",  user 1 (admin):  $TOKEN
  workspace "other", user 5001:       $OTHER_TOKEN

Try:
  # first page of the token's workspace: 20 users by last name, with
  # count/next/previous
  curl -s $a '$u/accounts/users'

  # limit and offset
  curl -s $a '$u/accounts/users?limit=5&offset=10'

  # the last page ($count active users) has "next": null
  curl -s $a '$u/accounts/users?limit=100&offset=$((count > 3 ? count - 3 : 0))'

  # 400: limit is at most 100
  curl -si $a '$u/accounts/users?limit=1000'

  # no token: 401 and WWW-Authenticate
  curl -si '$u/accounts/users'

  # the same URL with the other workspace's token: its own users, never
  # demo's (the workspace is the token's; nothing in a request names it)
  curl -s $o '$u/accounts/users?limit=3'

  # who each token belongs to; without one: 401
  curl -s $a '$u/user'
  curl -s $o '$u/user'
  curl -si '$u/user'

  # public, no token: workspace "other", named in the location
  curl -s '$u/other/users?limit=3'

Stop with: make demo-stop   (or scripts/demo.sh stop)
EOF
}


cmd_start() {
    [ -x "$ADMIN" ] && [ -f "$MODULE" ] \
        || die "build first: make (needs $MODULE and $ADMIN)"

    mkdir -p "$demo"

    if [ -n "$CLUSTER" ]; then
        start_cluster
    else
        start_redis
    fi

    load_data
    make_tokens
    start_nginx
    examples
}

cmd_stop() {
    local pid stopped=0

    if pid=$(nginx_pid); then
        kill -QUIT "$pid"
        if ! wait_gone "$pid" 50; then
            kill -TERM "$pid" 2>/dev/null
            wait_gone "$pid" 30 || kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$prefix/nginx.pid"
        say "nginx stopped (pid $pid)"
        stopped=1
    fi

    if pid=$(redis_pid); then
        # SIGTERM: Redis saves dump.rdb and exits
        kill -TERM "$pid"
        if ! wait_gone "$pid" 100; then
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$redis_dir/redis.pid"
        say "redis-server stopped (pid $pid)"
        stopped=1
    fi

    STOPPED=$stopped
    stop_cluster
    stopped=$STOPPED

    [ "$stopped" = 1 ] || say "nothing of the demo runs"
}

cmd_status() {
    local pid port rc=0
    if [ -n "$CLUSTER" ]; then
        for port in $(cluster_ports); do
            if pid=$(cluster_pid "$port"); then
                say "redis-server runs (pid $pid, port $port)"
            else
                say "redis-server of port $port does not run"; rc=3
            fi
        done
    elif pid=$(redis_pid); then
        say "redis-server runs (pid $pid, port $REDIS_PORT)"
    else
        say "redis-server does not run"; rc=3
    fi
    if pid=$(nginx_pid); then
        say "nginx runs (pid $pid, port $HTTP_PORT)"
    else
        say "nginx does not run"; rc=3
    fi
    return $rc
}

case "${1:-}" in
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    *)      echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
