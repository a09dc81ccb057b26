# The host of next/previous links (README "users_base_url", docs/SECURITY.md):
# users_base_url when set; else the request's host (absolute request line,
# else Host) only when it is one of the server's server_name values (exact,
# wildcard, regex), with the port the client wrote; else the first plain
# server_name, else the local address, with the local port. HTTP/1.x here;
# t/081-hosts-h2-h3.t does HTTP/2 and HTTP/3.
#
# Hosts that nginx itself refuses depend on the version: from 1.29.4 nginx
# answers 400 to a Host with quotes, braces or a backquote before any
# module runs; those blocks assert what the version under test does.
#
# One Host per block: a raw_request array is one request in several
# packets to the real Test::Nginx; several hosts in one block go in
# absolute request lines (request eval arrays), whose host wins over Host.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd nginx_at_least);

repeat_each(2);
no_shuffle();
no_long_string();

my $ws = 'users:{t080}';
redis_cmd('FCALL', 'users_schema', 1, $ws, 'id:int', 'status', 'groups:group');
redis_cmd('FCALL', 'users_delete', 1, $ws, $_) for 1 .. 3;
redis_cmd('FCALL', 'users_upsert', 1, $ws, $_, id => $_, status => 'active')
    for 1 .. 3;

our $P = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
our $Strict = nginx_at_least('1.29.4');   # nginx refuses '"<>{}`' in Host
our $Ngx400 = qr{\A<html>\r?\n<head><title>400 Bad Request</title></head>};

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Location = q{
        location = /users {
            users_list;
            users_workspace t080;
            users_pagination offset limit=limit offset=offset default=1
                             max=10;
            users_sort id kind=int default;
            users_envelope next:next_url previous:prev_url results:items;
            users_header Link links;
            users_field id int;
        }
};

# the generated server (server_name localhost) serves /users
our $Config = $Location;

# A server of its own on 127.0.0.1 (the address both runners connect to):
# it is the only server there, so every Host reaches it.
sub server {
    my ($names, $extra) = @_;
    return qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
    server {
        listen 127.0.0.1:$P;
        server_name $names;
        @{[ $extra // '' ]}
        $Location
    }
};
}

# the body of /users?offset=1 with links to $base
sub page2 {
    my $base = shift;
    my $path = shift // '/users';
    return '{"next":"' . "$base$path?offset=2" . '","previous":"' . "$base$path"
           . '","results":[{"id":2}]}';
}

sub link2 {
    my $base = shift;
    return qq{Link: <$base/users?offset=2>; rel="next", <$base/users>; rel="prev"};
}

add_block_preprocessor(sub {
    my $b = shift;
    $b->set_value(http_config => $::HttpConfig) unless defined $b->http_config;
    $b->set_value(config => $::Config) unless defined $b->config;
    $b->set_value(no_error_log => "[error]\n[alert]\n[crit]")
        unless defined $b->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: the Host of a server_name is kept, with no port
--- request
GET /users?offset=1
--- response_headers eval
::link2('http://localhost')
--- response_body eval
::page2('http://localhost')



=== TEST 2: a spoofed Host: the server's name and the local port
--- request
GET /users?offset=1
--- more_headers
Host: evil.example
--- response_headers eval
::link2("http://localhost:$::P")
--- response_body eval
::page2("http://localhost:$::P")



=== TEST 3: the port the client wrote is kept
--- request
GET /users?offset=1
--- more_headers
Host: localhost:8080
--- response_body eval
::page2('http://localhost:8080')



=== TEST 4: a scheme's default port is dropped; case and a trailing dot too
--- request
GET /users?offset=1
--- more_headers
Host: LocalHost.:80
--- response_body eval
::page2('http://localhost')



=== TEST 5: an absolute request line wins over Host (RFC 9112 3.2.2)
--- http_config eval: ::server('localhost good.example')
--- config
--- request eval
["GET http://good.example/users?offset=1",
 "GET http://good.example:8443/users?offset=1",
 "GET http://evil.example:8443/users?offset=1"]
--- more_headers
Host: evil.example:9
--- response_body eval
[::page2('http://good.example'), ::page2('http://good.example:8443'),
 ::page2("http://localhost:$::P")]



=== TEST 6: HTTP/1.0 without a Host: the server's name and the local port
--- raw_request eval
"GET /users?offset=1 HTTP/1.0\r\n\r\n"
--- response_body eval
::page2("http://localhost:$::P")



=== TEST 7: server_name "" alone, no Host: the local address, never an empty host
--- http_config eval: ::server('""')
--- config
--- raw_request eval
"GET /users?offset=1 HTTP/1.0\r\n\r\n"
--- response_body eval
::page2("http://127.0.0.1:$::P")



=== TEST 8: server_name "" alone, a spoofed Host: the local address
--- http_config eval: ::server('""')
--- config
--- request
GET /users?offset=1
--- more_headers
Host: evil.example
--- response_body eval
::page2("http://127.0.0.1:$::P")



=== TEST 9: server_name "_" alone and Host "_": the local address too
--- http_config eval: ::server('_')
--- config
--- request
GET /users?offset=1
--- more_headers
Host: _
--- response_body eval
::page2("http://127.0.0.1:$::P")



=== TEST 10: a server_name list: exact, wildcard and regex names are accepted
--- http_config eval
::server('_ *.wild.example .dot.example www.tail.* "~^re-[0-9]+\.example$" good.example')
--- config
--- request eval
[map { "GET http://$_/users?offset=1" }
 'good.example', 'a.b.wild.example:81', 'dot.example', 'x.dot.example',
 'www.tail.org', 're-12.example']
--- response_body eval
[::page2('http://good.example'), ::page2('http://a.b.wild.example:81'),
 ::page2('http://dot.example'), ::page2('http://x.dot.example'),
 ::page2('http://www.tail.org'), ::page2('http://re-12.example')]



=== TEST 11: what the list does not name falls back to its first plain name
--- http_config eval
::server('_ *.wild.example .dot.example www.tail.* "~^re-[0-9]+\.example$" good.example')
--- config
--- request eval
[map { "GET http://$_/users?offset=1" }
 'wild.example', 'xdot.example', 'www.tail', 're-x.example', 'evil.example',
 'good.example.evil', 'a.wild.example.evil']
--- response_body eval
[map { ::page2("http://good.example:$::P") } 1 .. 7]



=== TEST 12: the Host header against the list (no absolute request line)
--- http_config eval
::server('_ *.wild.example good.example')
--- config
--- request
GET /users?offset=1
--- more_headers
Host: a.wild.example:8080
--- response_body eval
::page2('http://a.wild.example:8080')



=== TEST 13: a Host every nginx accepts, with sub-delimiters: not copied
--- request
GET /users?offset=1
--- more_headers
Host: a'b;rel=x,y
--- response_body eval
::page2("http://localhost:$::P")



=== TEST 14: a Host every nginx accepts, with ()!$&*+~ and %: not copied
--- request
GET /users?offset=1
--- more_headers
Host: ev(il)!$&*+~%2e.example
--- response_body eval
::page2("http://localhost:$::P")



=== TEST 15: a Host with a quote: nginx's 400 from 1.29.4, else not copied
--- request
GET /users?offset=1
--- more_headers
Host: a"b
--- error_code eval
$::Strict ? 400 : 200
--- response_body_like eval
$::Strict ? $::Ngx400 : '^' . quotemeta(::page2("http://localhost:$::P")) . '$'



=== TEST 16: a Host with braces and a backquote: the same
--- request
GET /users?offset=1
--- more_headers
Host: ev{il}.c`om
--- error_code eval
$::Strict ? 400 : 200
--- response_body_like eval
$::Strict ? $::Ngx400 : '^' . quotemeta(::page2("http://localhost:$::P")) . '$'



=== TEST 17: users_base_url with variables; one that comes out empty falls back
--- config
    set $api https://api.example.com:8443;
    set $nothing "";
    location = /users {
        users_list;
        users_workspace t080;
        users_pagination offset limit=limit offset=offset default=1 max=10;
        users_sort id kind=int default;
        users_envelope next:next_url previous:prev_url results:items;
        users_field id int;
        users_base_url $api;
    }
    location = /users2 {
        users_list;
        users_workspace t080;
        users_pagination offset limit=limit offset=offset default=1 max=10;
        users_sort id kind=int default;
        users_envelope next:next_url previous:prev_url results:items;
        users_field id int;
        users_base_url $nothing;
    }
--- request eval
["GET /users?offset=1", "GET /users2?offset=1"]
--- more_headers
Host: evil.example
--- response_body eval
[::page2('https://api.example.com:8443'),
 ::page2("http://localhost:$::P", '/users2')]



=== TEST 18: users_base_url is used whatever the request's host
--- config
    location = /users {
        users_list;
        users_workspace t080;
        users_pagination offset limit=limit offset=offset default=1 max=10;
        users_sort id kind=int default;
        users_envelope next:next_url previous:prev_url results:items;
        users_field id int;
        users_base_url https://api.example.com;
    }
--- request eval
["GET /users?offset=1", "GET http://evil.example/users?offset=1"]
--- response_body eval
[::page2('https://api.example.com'), ::page2('https://api.example.com')]
