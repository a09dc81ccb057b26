# users_redis connection options against a private Redis of this file:
# password= (requirepass), user= + password= (an ACL user), db=N, a unix
# socket and a hostname.  A failed AUTH answers 503 and logs the failure,
# never the password.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_start);
use UsersData qw(redis cmd);

no_shuffle();
no_long_string();

# Started before its password is set (redis_start pings and loads the
# functions without AUTH); lives until the file ends.
our $Redis = redis_start(args => ['--unixsocket', 'redis.sock',
                                  '--unixsocketperm', '700']);
our $Port = $Redis->port;
our $Sock = "$Redis->{dir}/redis.sock";

our $Password = 'S3cret-default-pw';
our $AclPassword = 'S3cret-reader-pw';

{
    my $s = redis($Port);
    my $ok = sub { my $r = cmd($s, @_); die "redis: $r->{err}\n" if ref $r eq 'HASH'; $r };
    # db 0: workspace t021 (Ann); db 3: workspace t021db (Dora), which db 0
    # does not have
    $ok->('FLUSHALL');
    $ok->('FCALL', 'users_upsert', 1, 'users:{t021}', 1, id => 1, name => 'Ann');
    $ok->('SELECT', 3);
    $ok->('FCALL', 'users_upsert', 1, 'users:{t021db}', 7, id => 7, name => 'Dora');
    $ok->('SELECT', 0);
    $ok->('ACL', 'SETUSER', 'reader', 'reset', 'on', ">$AclPassword", '~*', '&*', '+@all');
    $ok->('CONFIG', 'SET', 'requirepass', $Password);
    close $s;
}

our $Ann  = '{"count":1,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"}]}';
our $Dora = '{"count":1,"next":null,"previous":null,"results":[{"id":7,"name":"Dora"}]}';
our $Empty = '{"count":0,"next":null,"previous":null,"results":[]}';
our $Unavailable = '{"error":"unavailable","message":"the user store is unavailable; retry later"}';

our $Config = q{
    location = /u {
        users_list;
        users_workspace t021;
        users_field id   int;
        users_field name string;
    }
    location = /db {
        users_list;
        users_workspace t021db;
        users_field id   int;
        users_field name string;
    }
};

sub redis_conf { "users_redis 127.0.0.1:$::Port @_;" }

# neither password may ever reach the log, whatever the block
our $NoSecrets = [$Password, $AclPassword, 'wrong-pw-1234'];

run_tests();

__DATA__

=== TEST 1: requirepass: the right password
--- http_config eval: ::redis_conf("password=$::Password")
--- config eval: $::Config
--- request
GET /u
--- response_headers
Content-Type: application/json
--- response_body eval: $::Ann
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 2: requirepass: a wrong password: 503, the failure logged, the password not
--- http_config eval: ::redis_conf('password=wrong-pw-1234')
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_headers
Content-Type: application/json
Retry-After: 1
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis 127.0.0.1:$::Port: AUTH failed: WRONGPASS invalid username-password pair or user is disabled.; retrying with backoff\E$/
--- no_error_log eval
$::NoSecrets



=== TEST 3: requirepass: no password at all: 503, Redis's refusal logged
--- http_config eval: ::redis_conf()
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis 127.0.0.1:$::Port: PING failed: NOAUTH Authentication required.; retrying with backoff\E$/
--- no_error_log eval
$::NoSecrets



=== TEST 4: an ACL user with its password
--- http_config eval: ::redis_conf("user=reader password=$::AclPassword")
--- config eval: $::Config
--- request
GET /u
--- response_body eval: $::Ann
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 5: an ACL user with the default user's password: 503
--- http_config eval: ::redis_conf("user=reader password=$::Password")
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis 127.0.0.1:$::Port: AUTH failed: WRONGPASS invalid username-password pair or user is disabled.; retrying with backoff\E$/
--- no_error_log eval
$::NoSecrets



=== TEST 6: a user that does not exist: 503
--- http_config eval: ::redis_conf("user=nobody password=$::AclPassword")
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis 127.0.0.1:$::Port: AUTH failed: WRONGPASS invalid username-password pair or user is disabled.; retrying with backoff\E$/
--- no_error_log eval
$::NoSecrets



=== TEST 7: db=3 serves what only db 3 holds
--- http_config eval: ::redis_conf("password=$::Password db=3")
--- config eval: $::Config
--- request eval
["GET /db", "GET /u"]
--- response_body eval
[$::Dora, $::Empty]
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 8: db=0 (the default) does not see db 3
--- http_config eval: ::redis_conf("password=$::Password db=0")
--- config eval: $::Config
--- request eval
["GET /db", "GET /u"]
--- response_body eval
[$::Empty, $::Ann]
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 9: an ACL user and a db together
--- http_config eval: ::redis_conf("user=reader password=$::AclPassword db=3")
--- config eval: $::Config
--- request
GET /db
--- response_body eval: $::Dora
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 10: a unix socket, with password and db
--- http_config eval
"users_redis unix:$::Sock password=$::Password db=3;"
--- config eval: $::Config
--- request
GET /db
--- response_body eval: $::Dora
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]



=== TEST 11: a unix socket nobody listens on: 503, logged by the name as written
--- http_config eval
"users_redis unix:$::Sock.none password=$::Password;"
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis unix:$::Sock.none: No such file or directory; retrying with backoff\E$/
--- no_error_log eval
$::NoSecrets



=== TEST 12: a hostname, resolved at start-up, named as written in the log
--- http_config eval
"users_redis localhost:$::Port password=wrong-pw-1234;"
--- config eval: $::Config
--- request
GET /u
--- error_code: 503
--- response_body eval: $::Unavailable
--- error_log eval
qr/\[error\] \d+#\d+: \Qredis localhost:$::Port: AUTH failed: WRONGPASS\E/
--- no_error_log eval
$::NoSecrets



=== TEST 13: a hostname with the right password
--- http_config eval
"users_redis localhost:$::Port password=$::Password;"
--- config eval: $::Config
--- request
GET /u
--- response_body eval: $::Ann
--- no_error_log eval
[qr/\[error\]/, @$::NoSecrets]
