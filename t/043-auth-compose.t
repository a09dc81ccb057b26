# users_auth composed with the rest of nginx (issue 9, items 1 and 2).
#
# The principal's variables cannot be overridden: "set", "map" or a regex
# capture of $users_workspace, $users_user_id, $users_role or
# $users_permissions fail at start-up; under users_auth a location serves
# the caller's workspace with the caller's permissions, and any other
# users_workspace / users_permissions is refused with file:line, wherever
# users_auth and the value were set (http, server, location). The demo's
# old configuration (a server-level "set $users_workspace demo;" over a
# users_auth /user) served one workspace's user to another's token.
#
# Subrequests: nginx's access phase skips them, so users_auth and
# users_auth_require are also checked before a subrequest's content. An
# auth_request gate to a users_auth location answers 401 (with the
# challenge), 403 or 2xx, and its principal is the main request's.
#
# Counting Redis lookups (once per request across internal redirects and
# subrequests) needs a private Redis: t/042-auth-faults.t.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();
log_level('info');

# workspace t043a: Ann (1), Bob (2); workspace t043b: Other (1), Gus (7)
for my $ws ('users:{t043a}', 'users:{t043b}') {
    redis_cmd('FCALL', 'users_schema', 1, $ws, 'name:str,id:int', '', '');
    redis_cmd('FCALL', 'users_delete', 1, $ws, $_) for 1 .. 9;
}
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t043a}', 1, name => 'Ann');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t043a}', 2, name => 'Bob');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t043b}', 1, name => 'Other');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t043b}', 7, name => 'Gus');

our %Tok = (
    ann   => 'uk_t043-ann',
    bob   => 'uk_t043-bob-admin',
    gus   => 'uk_t043-gus',
    other => 'uk_t043-other-1',
    gone  => 'uk_t043-unknown',
);

sub token {
    my ($name, %f) = @_;
    my $key = 'users:token:' . sha256_hex($Tok{$name});
    redis_cmd('DEL', $key);
    redis_cmd('HSET', $key, %f, exp => 0) if %f;
}

token(ann   => user => 1, ws => 't043a', role => 'user', perms => 'read');
token(bob   => user => 2, ws => 't043a', role => 'admin',
               perms => 'view_all');
token(gus   => user => 7, ws => 't043b', role => 'user', perms => '');
token(other => user => 1, ws => 't043b', role => 'user', perms => '');
token('gone');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Include = 'include $TEST_NGINX_SERVER_ROOT/html/t.conf;';

sub at { "in $ENV{TEST_NGINX_SERVER_ROOT}/html/t.conf:$_[0]" }

# the whole line: "[emerg] PID#TID: TEXT" and nothing after it
sub emerg { my $text = shift; qr/\[emerg\] \d+#\d+: \Q$text\E$/ }

# the message for a users_workspace / users_permissions under users_auth
sub conflict {
    my ($dir, $value, $vat, $aat, $what, $wat, $is) = @_;
    my $var = $dir eq 'workspace' ? 'workspace is' : 'permissions are';
    emerg(qq{"users_$dir $value" } . at($vat)
          . qq{ conflicts with "users_auth" } . at($aat)
          . qq{ for "$what" } . at($wat)
          . qq{: under users_auth the $var always the caller's}
          . qq{ (\$users_$dir); remove "users_$dir" there, or make the}
          . qq{ location public with "users_auth off"});
}

our $Unauthorized = '{"error":"unauthorized","message":"a bearer token is required"}';

# a gated location, its gate, and what the gate's principal looks like
# from the main request
our $Gate = q{
    location = /gated {
        auth_request /_auth;
        alias html/ok.txt;
        add_header X-User "[$users_user_id]";
        add_header X-Workspace "[$users_workspace]";
    }
    location = /admin-gated {
        auth_request /_admin;
        alias html/ok.txt;
        add_header X-User "[$users_user_id]";
    }
    location = /_auth {
        internal;
        users_auth "gate";
        users_auth_query access_token;
        empty_gif;
    }
    location = /_admin {
        internal;
        users_auth "gate";
        users_auth_require admin;
        empty_gif;
    }
};

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('user_files', ">>> ok.txt\nok\n")
        unless defined $block->user_files;
    $block->set_value('no_error_log',
                      [qr/\[(?:error|crit|alert|emerg)\]/, sort values %::Tok])
        unless defined $block->no_error_log || defined $block->must_die;
});

run_tests();

__DATA__

=== TEST 1: the demo's old configuration (set $users_workspace over users_auth) is refused
--- config eval: $::Include
--- user_files
>>> t.conf
set  $users_workspace  demo;
location = /user {
    users_auth        "demo";
    users_get         $users_user_id;
    users_workspace   $users_workspace;
    users_field id    int;
}
--- must_die
--- error_log eval
::emerg(qq{the duplicate "users_workspace" variable } . ::at(1))



=== TEST 2: no principal variable can be set, mapped or captured
--- config eval: $::Include
--- user_files
>>> t.conf
location = /x {
    set $users_permissions "admin,view_all";
}
--- must_die
--- error_log eval
::emerg(qq{the duplicate "users_permissions" variable } . ::at(2))



=== TEST 3: ... nor $users_user_id by a regex capture
--- config eval: $::Include
--- user_files
>>> t.conf
location ~ ^/u/(?<users_user_id>\d+)$ {
    return 204;
}
--- must_die
--- error_log eval
qr/\[emerg\] .*"users_user_id"/



=== TEST 4: ... nor $users_role by a map
--- http_config eval
$::HttpConfig . 'map $arg_r $users_role { default admin; }'
--- config
    location = /x { return 204; }
--- must_die
--- error_log eval
qr/\[emerg\] .*the duplicate "users_role" variable/



=== TEST 4b: ... nor $users_workspace by auth_request_set
--- config
    location = /x {
        auth_request /y;
        auth_request_set $users_workspace $sent_http_x_ws;
        alias html/ok.txt;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*the duplicate "users_workspace" variable/



=== TEST 5: a literal users_workspace at server level over a users_auth location: refused
--- config eval: $::Include
--- user_files
>>> t.conf
users_workspace  demo;
location = /user {
    users_auth        "demo";
    users_get         $users_user_id;
    users_field id    int;
}
--- must_die
--- error_log eval
::conflict('workspace', 'demo', 1, 3, 'users_get', 4)



=== TEST 6: users_auth at server level, a variable users_workspace in the location: refused
--- config eval: $::Include
--- user_files
>>> t.conf
users_auth  "api";
location = /users {
    users_list;
    users_workspace  $arg_ws;
    users_field id   int;
}
--- must_die
--- error_log eval
::conflict('workspace', '$arg_ws', 4, 1, 'users_list', 3)



=== TEST 7: users_auth in http{}, a literal users_workspace in a nested location: refused
--- http_config eval
$::HttpConfig . 'users_auth "api";'
--- config eval: $::Include
--- user_files
>>> t.conf
location /api/ {
    location = /api/users {
        users_workspace  t043a;
        users_list;
        users_field id   int;
    }
}
--- must_die
--- error_log eval
qr/\[emerg\] \d+#\d+: "users_workspace t043a" in \S+t\.conf:3 conflicts with "users_auth" in \S+nginx\.conf:\d+ for "users_list" in \S+t\.conf:4: under users_auth the workspace is always the caller's/



=== TEST 8: users_permissions other than the caller's under users_auth: refused
--- config eval: $::Include
--- user_files
>>> t.conf
location = /users {
    users_auth         "api";
    users_list;
    users_permissions  "metadata";
    users_field id     int;
}
--- must_die
--- error_log eval
::conflict('permissions', 'metadata', 4, 2, 'users_list', 3)



=== TEST 9: the public form: a literal workspace where users_auth is off, beside an authenticated /user
--- config eval: $::Include
--- user_files
>>> t.conf
users_auth  "demo";
location = /user {
    users_get          $users_user_id;
    users_field id     int;
    users_field name   string;
}
location = /public/users {
    users_auth         off;
    users_list;
    users_workspace    t043b;
    users_sort id kind=int default;
    users_field id     int;
    users_field name   string;
}
>>> ok.txt
ok
--- request eval
["GET /public/users", "GET /user"]
--- error_code eval
[200, 401]
--- response_body eval
['{"count":2,"next":null,"previous":null,"results":[{"id":1,"name":"Other"},{"id":7,"name":"Gus"}]}',
 $::Unauthorized]



=== TEST 10: /user under users_auth: each token its own workspace's user (the demo's leak)
--- config
    location = /user {
        users_auth         "demo";
        users_get          $users_user_id;
        users_field id     int;
        users_field name   string;
    }
    location = /user2 {
        users_auth         "demo";
        users_get          $users_user_id;
        users_workspace    $users_workspace;
        users_field id     int;
        users_field name   string;
    }
--- request eval
["GET /user", "GET /user", "GET /user2", "GET /user2"]
--- more_headers eval
["Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{other}",
 "Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{other}"]
--- response_body eval
['{"id":1,"name":"Ann"}', '{"id":1,"name":"Other"}',
 '{"id":1,"name":"Ann"}', '{"id":1,"name":"Other"}']



=== TEST 11: auth_request to a users_auth location: no token 401 with the gate's challenge
--- config eval: $::Gate
--- request
GET /gated
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="gate"
!X-User
--- response_body_like: 401 Authorization Required



=== TEST 12: auth_request gate: an unknown token 401 invalid_token, the challenge passed on
--- config eval: $::Gate
--- request
GET /gated
--- more_headers eval
"Authorization: Bearer $::Tok{gone}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="gate", error="invalid_token"



=== TEST 12b: auth_request gate: a malformed token is the gate's 400, which auth_request makes a 500
--- config eval: $::Gate
--- request
GET /gated
--- more_headers
Authorization: Bearer a b
--- error_code: 500
--- response_headers
!WWW-Authenticate
--- no_error_log eval
[qr/\[(?:crit|alert|emerg)\]/, sort values %::Tok]
--- error_log
auth request unexpected status: 400



=== TEST 13: auth_request gate: a good token 200, the principal visible to the main request
--- config eval: $::Gate
--- request eval
["GET /gated", "GET /gated"]
--- more_headers eval
["Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{gus}"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-User: [1]\nX-Workspace: [t043a]", "X-User: [7]\nX-Workspace: [t043b]"]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 14: auth_request gate: the token as the client's query parameter (users_auth_query)
--- config eval: $::Gate
--- request eval
["GET /gated?access_token=$::Tok{gus}", "GET /gated?access_token=$::Tok{gone}"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-User: [7]", 'WWW-Authenticate: Bearer realm="gate", error="invalid_token"']



=== TEST 15: auth_request gate with users_auth_require admin: none 401, a user 403, an admin 200
--- config eval: $::Gate
--- request eval
["GET /admin-gated", "GET /admin-gated", "GET /admin-gated"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{bob}"]
--- error_code eval
[401, 403, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="gate"', '!X-User', 'X-User: [2]']



=== TEST 16: a gated list: the workspace is the gate's principal's
--- config eval
$::Gate . q{
    location = /gated/users {
        auth_request /_auth;
        users_list;
        users_workspace $users_workspace;
        users_sort id kind=int default;
        users_field id   int;
        users_field name string;
    }
}
--- request eval
["GET /gated/users", "GET /gated/users", "GET /gated/users"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{gus}"]
--- error_code eval
[401, 200, 200]
--- response_body eval
[qr/401 Authorization Required/,
 '{"count":2,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"}]}',
 '{"count":2,"next":null,"previous":null,"results":[{"id":1,"name":"Other"},{"id":7,"name":"Gus"}]}']



=== TEST 17: users_auth_require in a location reached by an internal redirect: checked there too
--- config
    users_auth "r";
    location = /start {
        try_files /nonexistent /admin-part;
    }
    location = /admin-part {
        internal;
        users_auth_require admin;
        alias html/ok.txt;
        add_header X-User "[$users_user_id]";
    }
--- request eval
["GET /start", "GET /start", "GET /start"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{bob}"]
--- error_code eval
[401, 403, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="r"', 'WWW-Authenticate: Bearer realm="r", error="insufficient_scope"', 'X-User: [2]']



=== TEST 18: SSI: two virtual includes of a users_auth location, each checked
--- config
    location = /page.html {
        ssi on;
        root html;
    }
    location = /part {
        users_auth "ssi";
        users_auth_require admin;
        alias html/ok.txt;
    }
--- user_files
>>> page.html
[<!--# include virtual="/part" -->|<!--# include virtual="/part" -->]
>>> ok.txt
ok
--- request eval
["GET /page.html", "GET /page.html", "GET /page.html"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{ann}", "Authorization: Bearer $::Tok{bob}"]
--- response_body_like eval
[qr/^\[\{"error":"unauthorized",.*\}\|\{"error":"unauthorized",.*\}\]$/,
 qr/^\[\{"error":"insufficient_scope",.*\}\|\{"error":"insufficient_scope",.*\}\]$/,
 qr/^\[ok\n\|ok\n\]$/]
