# users_auth: bearer tokens in the access phase (RFC 6750). No token,
# another scheme: 401; a malformed one: 400 invalid_request; an unknown,
# revoked or expired one: 401 invalid_token; users_auth_require not met:
# 403 insufficient_scope. The principal's variables, users_auth_query (and
# its removal from links), users_see_all, /user, another workspace's id.
# No token ever reaches the error log, whatever the answer.
#
# repeat_each(2): the second run of a block is answered from the token
# cache (positive and negative), which must answer the same.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();
# nginx --with-debug logs every request header at debug level: look at
# what the module (and nginx at info) writes, as in production
log_level('info');

# workspace t040: Ann (1), Bob (2), Cid (3); workspace t040b reuses id 1
# and has 9.
for my $ws ('users:{t040}', 'users:{t040b}') {
    redis_cmd('FCALL', 'users_schema', 1, $ws, 'name:str,id:int', '', '');
    redis_cmd('FCALL', 'users_delete', 1, $ws, $_) for 1 .. 9;
}
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t040}', 1, name => 'Ann');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t040}', 2, name => 'Bob');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t040}', 3, name => 'Cid');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t040b}', 1, name => 'Other');
redis_cmd('FCALL', 'users_upsert', 1, 'users:{t040b}', 9, name => 'Nine');

# the tokens; every one unique to this file
our %Tok = (
    user    => 'uk_t040-user.Ann_tok~1',
    admin   => 'uk_t040/admin+Bob==',
    perm    => 'uk_t040perm',
    expired => 'uk_t040expired',
    future  => 'uk_t040future',
    nows    => 'uk_t040nows',
    nouser  => 'uk_t040nouser',
    badexp  => 'uk_t040badexp',
    other   => 'uk_t040other',
    unknown => 'uk_t040unknown',
    revoked => 'uk_t040revoked',
    wrong   => 'uk_t040wrongtype',
    long    => 'uk_' . ('L' x 509),       # 512 bytes: the longest allowed
    toolong => 'uk_' . ('L' x 510),       # 513 bytes
);

sub token_key { 'users:token:' . sha256_hex($_[0]) }

sub token {
    my ($name, %f) = @_;
    my $key = token_key($Tok{$name});
    redis_cmd('DEL', $key);
    redis_cmd('HSET', $key, %f) if %f;
}

my $now = time;
token(user    => user => 1, ws => 't040', role => 'user', perms => 'read',
                 exp => 0);
token(admin   => user => 2, ws => 't040', role => 'admin',
                 perms => 'view_all,metadata', exp => $now + 86400);
token(perm    => user => 3, ws => 't040', role => 'user',
                 perms => 'read,metadata,view_all');
token(expired => user => 3, ws => 't040', role => 'admin', perms => '',
                 exp => $now - 60);
token(future  => user => 3, ws => 't040', role => 'user', perms => '',
                 exp => $now + 3600);
token(nows    => user => 1, role => 'admin', exp => 0);
token(nouser  => ws => 't040', role => 'admin', exp => 0);
token(badexp  => user => 1, ws => 't040', role => 'admin', exp => 'soon');
token(other   => user => 9, ws => 't040b', role => 'admin',
                 perms => 'view_all', exp => 0);
token('unknown');
token('revoked');
token('long');
redis_cmd('DEL', token_key($Tok{wrong}));
redis_cmd('SET', token_key($Tok{wrong}), 'not a hash');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

my $fields = q{
        users_workspace  $users_workspace;
        users_field id   int;
        users_field name string;
};

our $Config = qq{
    users_auth "t040 realm";
    users_auth_query access_token;

    location = /who {
        alias html/who.txt;
        add_header X-User-Id     "[\$users_user_id]";
        add_header X-Workspace   "[\$users_workspace]";
        add_header X-Role        "[\$users_role]";
        add_header X-Permissions "[\$users_permissions]";
    }
    location = /admin {
        users_auth_require admin;
        alias html/who.txt;
    }
    location = /metadata {
        users_auth_require metadata;
        alias html/who.txt;
    }
    location = /both {
        users_auth_require admin view_all;
        alias html/who.txt;
    }
    location = /noquery {
        users_auth_query off;
        alias html/who.txt;
    }
    location = /open {
        users_auth off;
        alias html/who.txt;
        add_header X-User-Id "[\$users_user_id]";
    }
    location = /users {
        users_list;
        users_see_all view_all;
        users_sort id kind=int default;
        users_pagination offset limit=limit offset=offset default=20 max=100;
        $fields
    }
    location = /user {
        users_get \$users_user_id;
        $fields
    }
    location = /byid {
        users_get \$arg_id;
        $fields
    }
};

our $UserFiles = "--- user_files\n>>> who.txt\nok\n";

our $Unauthorized = '{"error":"unauthorized","message":"a bearer token is required"}';
our $Invalid = '{"error":"invalid_request","message":"malformed bearer token"}';
our $BadToken = '{"error":"invalid_token","message":"the token is unknown, revoked or expired"}';
our $Scope = '{"error":"insufficient_scope","message":"the token does not allow this"}';

# for no_error_log: [error] and every token (and its digest)
our $NoTokens = [qr/\[(?:error|crit|alert|emerg)\]/,
                 map { ($_, sha256_hex($_)) } sort values %Tok];

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $::Config) unless defined $block->config;
    $block->set_value('user_files', ">>> who.txt\nok\n")
        unless defined $block->user_files;
    $block->set_value('no_error_log', $::NoTokens)
        unless defined $block->no_error_log || defined $block->must_die;
});

run_tests();

__DATA__

=== TEST 1: no Authorization header: 401, a challenge without an error code
--- request
GET /who
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm"
Content-Type: application/json
!X-User-Id
--- response_body eval: $::Unauthorized



=== TEST 2: another scheme (Basic): 401 unauthorized, as with no header
--- request
GET /who
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm"
--- response_body eval: $::Unauthorized



=== TEST 3: another scheme without credentials ("Negotiate"): 401 unauthorized
--- request
GET /who
--- more_headers
Authorization: Negotiate
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm"
--- response_body eval: $::Unauthorized



=== TEST 4: a bare token without the Bearer scheme is no bearer credential
--- request
GET /who
--- more_headers eval
"Authorization: $::Tok{user}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm"
--- response_body eval: $::Unauthorized



=== TEST 5: a valid token: 200 and the principal in variables
--- request
GET /who
--- more_headers eval
"Authorization: Bearer $::Tok{user}"
--- response_headers
X-User-Id: [1]
X-Workspace: [t040]
X-Role: [user]
X-Permissions: [read]
!WWW-Authenticate
--- response_body
ok



=== TEST 6: the scheme is case-insensitive, several spaces may follow it
--- request
GET /who
--- more_headers eval
"Authorization: bEARER    $::Tok{admin}"
--- response_headers
X-User-Id: [2]
X-Workspace: [t040]
X-Role: [admin]
X-Permissions: [view_all,metadata]
--- response_body
ok



=== TEST 7: "Bearer" with no token: 400 invalid_request
--- request
GET /who
--- more_headers
Authorization: Bearer 
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="invalid_request"
Content-Type: application/json
--- response_body eval: $::Invalid



=== TEST 8: a character outside b64token: 400
--- request
GET /who
--- more_headers
Authorization: Bearer uk_t040!bad
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="invalid_request"
--- response_body eval: $::Invalid



=== TEST 9: a space inside the token: 400
--- request
GET /who
--- more_headers eval
"Authorization: Bearer uk_t040 $::Tok{user}"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="invalid_request"
--- response_body eval: $::Invalid



=== TEST 10: "=" only as padding at the end: 400 inside, 400 alone
--- request eval
["GET /who", "GET /who"]
--- more_headers eval
["Authorization: Bearer uk_t0=40", "Authorization: Bearer ==="]
--- error_code eval
[400, 400]
--- response_body eval
[$::Invalid, $::Invalid]



=== TEST 11: 513 bytes: 400; 512 bytes: looked up (unknown: 401)
--- request eval
["GET /who", "GET /who"]
--- more_headers eval
["Authorization: Bearer $::Tok{toolong}", "Authorization: Bearer $::Tok{long}"]
--- error_code eval
[400, 401]
--- response_body eval
[$::Invalid, $::BadToken]



=== TEST 12: an unknown token: 401 invalid_token
--- request
GET /who
--- more_headers eval
"Authorization: Bearer $::Tok{unknown}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="invalid_token"
Content-Type: application/json
!X-User-Id
--- response_body eval: $::BadToken



=== TEST 13: an expired token: 401 invalid_token; one expiring later passes
--- request eval
["GET /who", "GET /who"]
--- more_headers eval
["Authorization: Bearer $::Tok{expired}", "Authorization: Bearer $::Tok{future}"]
--- error_code eval
[401, 200]
--- response_body eval
[$::BadToken, "ok\n"]



=== TEST 14: a record without ws, without user, or with a bad exp: 401
--- request eval
["GET /who", "GET /who", "GET /who"]
--- more_headers eval
["Authorization: Bearer $::Tok{nows}", "Authorization: Bearer $::Tok{nouser}",
 "Authorization: Bearer $::Tok{badexp}"]
--- error_code eval
[401, 401, 401]
--- response_body eval
[$::BadToken, $::BadToken, $::BadToken]



=== TEST 15: a token key that is not a hash: an error, not a pass (and no token logged)
--- request
GET /who
--- more_headers eval
"Authorization: Bearer $::Tok{wrong}"
--- error_code: 502
--- response_body_like: "error"
--- no_error_log eval
[map { ($_, Digest::SHA::sha256_hex($_)) } sort values %::Tok]



=== TEST 16: the same with the token as a parameter: the logged request line must not carry it
--- request eval
"GET /who?access_token=$::Tok{wrong}"
--- error_code: 502
--- response_body_like: "error"
--- no_error_log eval
[map { ($_, Digest::SHA::sha256_hex($_)) } sort values %::Tok]



=== TEST 17: users_auth_require admin: a user token 403, an admin token 200
--- request eval
["GET /admin", "GET /admin"]
--- more_headers eval
["Authorization: Bearer $::Tok{user}", "Authorization: Bearer $::Tok{admin}"]
--- error_code eval
[403, 200]
--- response_body eval
[$::Scope, "ok\n"]



=== TEST 18: 403 carries the insufficient_scope challenge
--- request
GET /admin
--- more_headers eval
"Authorization: Bearer $::Tok{user}"
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="insufficient_scope"
Content-Type: application/json
--- response_body eval: $::Scope



=== TEST 19: a required name may be a permission: held (perm, admin), not held (user)
--- request eval
["GET /metadata", "GET /metadata", "GET /metadata"]
--- more_headers eval
["Authorization: Bearer $::Tok{perm}", "Authorization: Bearer $::Tok{admin}",
 "Authorization: Bearer $::Tok{user}"]
--- error_code eval
[200, 200, 403]
--- response_body eval
["ok\n", "ok\n", $::Scope]



=== TEST 20: several required names: all of them (admin has both, perm only view_all)
--- request eval
["GET /both", "GET /both"]
--- more_headers eval
["Authorization: Bearer $::Tok{admin}", "Authorization: Bearer $::Tok{perm}"]
--- error_code eval
[200, 403]
--- response_body eval
["ok\n", $::Scope]



=== TEST 21: a permission name is not matched as a prefix or substring
--- config eval
my $c = $::Config;
$c =~ s/users_auth_require metadata;/users_auth_require meta;/;
$c .= q{
    location = /rea { users_auth_require rea; alias html/who.txt; }
    location = /ead { users_auth_require ead; alias html/who.txt; }
};
$c
--- request eval
["GET /metadata", "GET /rea", "GET /ead"]
--- more_headers eval
["Authorization: Bearer $::Tok{admin}", "Authorization: Bearer $::Tok{user}",
 "Authorization: Bearer $::Tok{user}"]
--- error_code eval
[403, 403, 403]



=== TEST 22: the token as the access_token parameter (users_auth_query)
--- request eval
"GET /who?access_token=$::Tok{user}"
--- response_headers
X-User-Id: [1]
X-Workspace: [t040]
--- response_body
ok



=== TEST 23: a percent-encoded parameter is decoded first
--- request
GET /who?access_token=uk_t040%2Fadmin%2BBob%3D%3D
--- response_headers
X-User-Id: [2]
--- response_body
ok



=== TEST 24: both the header and the parameter: 400, even when equal
--- request eval
"GET /who?access_token=$::Tok{user}"
--- more_headers eval
"Authorization: Bearer $::Tok{user}"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t040 realm", error="invalid_request"
--- response_body eval: $::Invalid



=== TEST 25: an empty or malformed parameter: 400; an unknown one: 401
--- request eval
["GET /who?access_token=", "GET /who?access_token=a%20b", "GET /who?access_token=a%21",
 "GET /who?access_token=$::Tok{unknown}"]
--- error_code eval
[400, 400, 400, 401]
--- response_body eval
[$::Invalid, $::Invalid, $::Invalid, $::BadToken]



=== TEST 26: a parameter that decodes to "Bearer <token>" is malformed
--- request eval
"GET /who?access_token=Bearer%20$::Tok{user}"
--- error_code: 400
--- response_body eval: $::Invalid



=== TEST 27: users_auth_query off: the parameter is no credential (401), the header is
--- request eval
["GET /noquery?access_token=$::Tok{user}",
 "GET /noquery?access_token=$::Tok{user}"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{admin}"]
--- error_code eval
[401, 200]
--- response_body eval
[$::Unauthorized, "ok\n"]



=== TEST 28: users_auth off: no token needed, no principal
--- request
GET /open
--- response_headers
X-User-Id: []
--- response_body
ok



=== TEST 29: users_auth off: a bad token is not even looked at
--- request
GET /open
--- more_headers
Authorization: Bearer !!!
--- response_body
ok



=== TEST 30: users_see_all: without view_all a caller sees only itself
--- request
GET /users
--- more_headers eval
"Authorization: Bearer $::Tok{user}"
--- response_body eval
'{"count":1,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"}]}'



=== TEST 31: users_see_all: with view_all (a permission) the whole workspace
--- request
GET /users
--- more_headers eval
"Authorization: Bearer $::Tok{admin}"
--- response_body eval
'{"count":3,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"},{"id":3,"name":"Cid"}]}'



=== TEST 32: users_see_all: the role may be the name too
--- config eval
my $c = $::Config; $c =~ s/users_see_all view_all;/users_see_all admin;/; $c
--- request eval
["GET /users", "GET /users"]
--- more_headers eval
["Authorization: Bearer $::Tok{admin}", "Authorization: Bearer $::Tok{perm}"]
--- response_body eval
['{"count":3,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"},{"id":3,"name":"Cid"}]}',
 '{"count":1,"next":null,"previous":null,"results":[{"id":3,"name":"Cid"}]}']



=== TEST 33: another workspace's admin sees its own workspace only
--- request
GET /users
--- more_headers eval
"Authorization: Bearer $::Tok{other}"
--- response_body eval
'{"count":2,"next":null,"previous":null,"results":[{"id":1,"name":"Other"},{"id":9,"name":"Nine"}]}'



=== TEST 34: the parameter token never travels into next/previous links
--- request eval
"GET /users?limit=1&offset=1&access_token=$::Tok{admin}&x=1"
--- response_body eval
'{"count":3,"next":"http://localhost/users?limit=1&offset=2&x=1","previous":"http://localhost/users?limit=1&x=1","results":[{"id":2,"name":"Bob"}]}'



=== TEST 35: nor when it comes first, or twice
--- request eval
"GET /users?access_token=$::Tok{admin}&limit=1&access_token=$::Tok{admin}"
--- response_body_like: ^\{"count":3,"next":"http://localhost/users\?limit=1&offset=1","previous":null,
--- response_body_unlike: access_token



=== TEST 36: GET /user: the caller, for each token
--- request eval
["GET /user", "GET /user", "GET /user"]
--- more_headers eval
["Authorization: Bearer $::Tok{user}", "Authorization: Bearer $::Tok{admin}",
 "Authorization: Bearer $::Tok{other}"]
--- response_body eval
['{"id":1,"name":"Ann"}', '{"id":2,"name":"Bob"}', '{"id":9,"name":"Nine"}']



=== TEST 37: GET /user without a token: 401, not an empty user
--- request
GET /user
--- error_code: 401
--- response_body eval: $::Unauthorized



=== TEST 38: users_get: an id of the caller's workspace 200; another workspace's id 404
--- request eval
["GET /byid?id=3", "GET /byid?id=9", "GET /byid?id=2"]
--- more_headers eval
["Authorization: Bearer $::Tok{admin}", "Authorization: Bearer $::Tok{admin}",
 "Authorization: Bearer $::Tok{other}"]
--- error_code eval
[200, 404, 404]
--- response_body eval
['{"id":3,"name":"Cid"}', '{"error":"not_found","message":"no such user"}',
 '{"error":"not_found","message":"no such user"}']



=== TEST 39: id 1 exists in both workspaces: each token sees its own
--- request eval
["GET /byid?id=1", "GET /byid?id=1"]
--- more_headers eval
["Authorization: Bearer $::Tok{admin}", "Authorization: Bearer $::Tok{other}"]
--- response_body eval
['{"id":1,"name":"Ann"}', '{"id":1,"name":"Other"}']



=== TEST 40: the list refuses before any Redis read: errors keep their challenge
--- request eval
["GET /users", "GET /users?limit=1", "GET /users"]
--- more_headers eval
["", "Authorization: Bearer x y", "Authorization: Bearer $::Tok{revoked}"]
--- error_code eval
[401, 400, 401]
--- response_body eval
[$::Unauthorized, $::Invalid, $::BadToken]



=== TEST 41: POST is refused by the content handler only after auth passes
--- request eval
["POST /users\nx", "POST /users\nx"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{admin}"]
--- error_code eval
[401, 405]



=== TEST 42: users_auth in http{} applies to every server location; a realm is checked
--- http_config eval
$::HttpConfig . q{ users_auth "outer"; }
--- config
    location = /who { alias html/who.txt; add_header X-Role "[$users_role]"; }
--- request eval
["GET /who", "GET /who"]
--- more_headers eval
["", "Authorization: Bearer $::Tok{admin}"]
--- error_code eval
[401, 200]



=== TEST 43: a realm with a quote is refused at start-up
--- config
    users_auth 'a"b';
    location = /who { alias html/who.txt; }
--- must_die



=== TEST 44: users_auth without users_redis is refused at start-up
--- http_config
--- config
    users_auth t;
    location = /who { alias html/who.txt; }
--- must_die
