# users_redis for a cluster or Sentinel, and users_redis_read: what nginx
# refuses at start-up (with file:line), and what a cluster directive does
# against a Redis that is not a cluster (serves from the seed, and says
# so once).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);

no_shuffle();
no_long_string();

our $P = $ENV{TEST_NGINX_REDIS_PORT};
($P) = $P =~ /^(\d+)/;

redis_cmd('FCALL', 'users_schema', 1, 'users:{t096}', 'name:str', '', '');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t096}', 1, id => 1, name => 'one');

our $Loc = q{
    location = /u {
        users_workspace t096;
        users_list;
        users_field id int;
        users_field name string;
    }
};

sub conf_err {
    my $text = shift;
    return qr{\[emerg\] \d+#\d+: \Q$text\E in \S+/conf/nginx\.conf:\d+$};
}

run_tests();

__DATA__

=== TEST 1: a cluster directive against one Redis: 503, and the log says why
--- http_config eval
"users_redis 127.0.0.1:$::P 127.0.0.1:$::P cluster connections=1 timeout=1s;"
--- config eval: $::Loc
--- request
GET /u
--- error_code: 503
--- response_body chomp
{"error":"unavailable","message":"the user store is unavailable; retry later"}
--- error_log eval
qr{\[error\] \d+#\d+: redis 127\.0\.0\.1:$::P: READONLY failed: ERR This instance has cluster support disabled; retrying with backoff$}



=== TEST 2: several addresses need "cluster" or "sentinel="
--- http_config eval
"users_redis 127.0.0.1:$::P 127.0.0.1:$::P;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{"users_redis" directive takes several addresses only with "cluster" or "sentinel="})



=== TEST 3: not both
--- http_config eval
"users_redis 127.0.0.1:$::P sentinel=m cluster;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{"users_redis" directive takes "cluster" or "sentinel=", not both})



=== TEST 4: a cluster has database 0 only
--- http_config eval
"users_redis 127.0.0.1:$::P cluster db=1;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{"users_redis" directive takes no "db" with "cluster": a cluster has database 0 only})



=== TEST 5: a cluster's seeds are IP addresses
--- http_config eval
"users_redis 127.0.0.1:$::P unix:/tmp/t096.sock cluster;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{a cluster's nodes are reached by IP address, not "unix:/tmp/t096.sock"})



=== TEST 6: sentinel= needs a name
--- http_config eval
"users_redis 127.0.0.1:$::P sentinel=;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{invalid parameter "sentinel="})



=== TEST 7: replica_check needs a time
--- http_config eval
"users_redis 127.0.0.1:$::P replica_check=0;"
--- config eval: $::Loc
--- must_die
--- error_log eval
::conf_err(q{invalid parameter "replica_check="})



=== TEST 8: users_redis_read: primary or replica
--- http_config eval
"users_redis 127.0.0.1:$::P;"
--- config
    location = /u { users_redis_read secondary; }
--- must_die
--- error_log eval
::conf_err(q{invalid value "secondary": "primary" or "replica"})



=== TEST 9: users_redis_read: max_lag only with replica
--- http_config eval
"users_redis 127.0.0.1:$::P;"
--- config
    location = /u { users_redis_read primary max_lag=1s; }
--- must_die
--- error_log eval
::conf_err(q{invalid parameter "max_lag=1s"})



=== TEST 10: users_redis_read: a bad max_lag
--- http_config eval
"users_redis 127.0.0.1:$::P;"
--- config
    location = /u { users_redis_read replica max_lag=soon; }
--- must_die
--- error_log eval
::conf_err(q{invalid max_lag "soon"})



=== TEST 11: users_redis_read twice
--- http_config eval
"users_redis 127.0.0.1:$::P;"
--- config
    location = /u { users_redis_read replica; users_redis_read primary; }
--- must_die
--- error_log eval
::conf_err(q{"users_redis_read" directive is duplicate})



=== TEST 12: replica reads from one Redis: it has no replica, the primary answers
--- http_config eval
"users_redis 127.0.0.1:$::P;"
--- config eval
"users_redis_read replica max_lag=2s;\n$::Loc"
--- request
GET /u
--- response_body chomp
{"count":1,"next":null,"previous":null,"results":[{"id":1,"name":"one"}]}
--- no_error_log
[error]
