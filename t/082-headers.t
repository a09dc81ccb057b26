# Request headers the module reads, on every nginx it supports: nginx
# itself refuses a repeated Authorization or Host with 400 (a unique header
# in 1.22 and in the 1.23 header-list API alike), so users_auth and the
# links never choose between two values.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";

repeat_each(2);
no_shuffle();
no_long_string();

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Ngx400 = qr{\A<html>\r?\n<head><title>400 Bad Request</title></head>};

run_tests();

__DATA__

=== TEST 1: two Authorization headers: nginx's 400 before users_auth runs
--- http_config eval: $::HttpConfig
--- config
    location = /users {
        users_auth "t082";
        users_list;
        users_workspace $users_workspace;
        users_field id int;
    }
--- request
GET /users
--- more_headers
Authorization: Bearer a
Authorization: Bearer b
--- error_code: 400
--- response_body_like eval
$::Ngx400
--- error_log
client sent duplicate header line



=== TEST 2: two Host headers: nginx's 400 before any link is built
--- http_config eval: $::HttpConfig
--- config
    location = /users {
        users_list;
        users_workspace t082;
        users_field id int;
    }
--- raw_request eval
"GET /users HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400
--- error_log
client sent duplicate host header
