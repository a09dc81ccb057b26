# GET /accounts/users (shared/seeds/000): paging, ordering, envelope,
# field types, validation of limit/offset, methods.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);

repeat_each(2);
no_shuffle();
no_long_string();

# Five users; two share a last name (ties break by id), one has a
# lower-case last name (order is case-insensitive), one a non-ASCII one,
# one stored with bytes that are not UTF-8.

my $ws = 'users:{t010}';

redis_cmd('FCALL', 'users_schema', 1, $ws,
          'last_name:str,first_name:str,status:str', 'status,type',
          'groups:group');

for my $id (1 .. 9) {
    redis_cmd('FCALL', 'users_delete', 1, $ws, $id);
}

redis_cmd('FCALL', 'users_upsert', 1, $ws, 1,
          id => 1, email => 'ann@example.com', first_name => 'Ann',
          last_name => 'Adams', phone => '+1 555 0100', status => 'active',
          type => 'user', is_staff => 1, is_admin => 0,
          is_account_owner => 1, invite_id => 'inv-1',
          invite_by_username => 'root', invite_invited_by => '0042',
          invite_date_created => '2024-01-02T03:04:05.678',
          invite_invited_from => 'email');
redis_cmd('FCALL', 'users_upsert', 1, $ws, 2,
          id => 2, email => 'bob@example.com', first_name => 'Bob',
          last_name => 'Brown', status => 'active', type => 'user',
          is_staff => 0, is_admin => 'true', is_account_owner => 'false');
redis_cmd('FCALL', 'users_upsert', 1, $ws, 3,
          id => 3, email => 'cid@example.com',
          first_name => "C\xffd", last_name => 'Brown', status => 'invited',
          type => 'guest', photo => 'https://img.example.com/3.png');
redis_cmd('FCALL', 'users_upsert', 1, $ws, 4,
          id => 4, email => 'dirk@example.com', first_name => 'Dirk',
          last_name => 'de Vries', status => 'active', type => 'user');
redis_cmd('FCALL', 'users_upsert', 1, $ws, 5,
          id => 5, email => 'eva@example.com', first_name => 'Eva',
          last_name => "\xc3\x89vora", status => 'inactive', type => 'user');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/accounts.conf;
    location = /static { return 200 "static\n"; }
};
$Config =~ s/users_workspace  demo;/users_workspace  t010;/;
# the shipped file names workspace "demo": point it at this suite's data
$Config = qq{
    location = /accounts/users {
        users_list;
        users_workspace t010;
        users_pagination offset limit=limit offset=offset default=20 max=100;
        users_sort last_name;
        users_envelope count:total next:next_url previous:prev_url
                       results:items;
        users_field id                   int;
        users_field email                string;
        users_field first_name           string;
        users_field last_name            string;
        users_field phone                string  nullable;
        users_field photo                string  nullable;
        users_field status               string;
        users_field is_staff             bool;
        users_field is_admin             bool;
        users_field is_account_owner     bool;
        users_field invite               object  nullable;
        users_field invite.id            string;
        users_field invite.by_username   string;
        users_field invite.date_created  timestamp;
        users_field invite.invited_by    int;
        users_field invite.invited_from  string;
    }
};

our $Ann = '{"id":1,"email":"ann@example.com","first_name":"Ann","last_name":"Adams","phone":"+1 555 0100","photo":null,"status":"active","is_staff":true,"is_admin":false,"is_account_owner":true,"invite":{"id":"inv-1","by_username":"root","date_created":"2024-01-02T03:04:05.678","invited_by":42,"invited_from":"email"}}';
our $Bob = '{"id":2,"email":"bob@example.com","first_name":"Bob","last_name":"Brown","phone":null,"photo":null,"status":"active","is_staff":false,"is_admin":true,"is_account_owner":false,"invite":null}';
our $Cid = qq{{"id":3,"email":"cid\@example.com","first_name":"C\xef\xbf\xbdd","last_name":"Brown","phone":null,"photo":"https://img.example.com/3.png","status":"invited","is_staff":false,"is_admin":false,"is_account_owner":false,"invite":null}};
our $Dirk = '{"id":4,"email":"dirk@example.com","first_name":"Dirk","last_name":"de Vries","phone":null,"photo":null,"status":"active","is_staff":false,"is_admin":false,"is_account_owner":false,"invite":null}';
our $Eva = qq{{"id":5,"email":"eva\@example.com","first_name":"Eva","last_name":"\xc3\x89vora","phone":null,"photo":null,"status":"inactive","is_staff":false,"is_admin":false,"is_account_owner":false,"invite":null}};

run_tests();

__DATA__

=== TEST 1: the first page: every user, ordered by last name then id
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users
--- response_headers
Content-Type: application/json
--- response_body eval
qq{{"count":5,"next":null,"previous":null,"results":[$::Ann,$::Bob,$::Cid,$::Dirk,$::Eva]}}
--- no_error_log
[error]



=== TEST 2: limit: a next link with the offset moved, no previous
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=2
--- response_body eval
qq{{"count":5,"next":"http://localhost/accounts/users?limit=2&offset=2","previous":null,"results":[$::Ann,$::Bob]}}



=== TEST 3: a middle page keeps the other parameters in their order
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?offset=2&limit=2&x=%41
--- response_body eval
qq{{"count":5,"next":"http://localhost/accounts/users?offset=4&limit=2&x=%41","previous":"http://localhost/accounts/users?limit=2&x=%41","results":[$::Cid,$::Dirk]}}



=== TEST 4: the last page has no next link
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=2&offset=4
--- response_body eval
qq{{"count":5,"next":null,"previous":"http://localhost/accounts/users?limit=2&offset=2","results":[$::Eva]}}



=== TEST 5: an offset past the end: an empty page, still counted
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?offset=50&limit=20
--- response_body eval
qq{{"count":5,"next":null,"previous":"http://localhost/accounts/users?offset=30&limit=20","results":[]}}



=== TEST 6: a short step back from a small offset goes to the first page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=3&offset=1
--- response_body eval
qq{{"count":5,"next":"http://localhost/accounts/users?limit=3&offset=4","previous":"http://localhost/accounts/users?limit=3","results":[$::Bob,$::Cid,$::Dirk]}}



=== TEST 7: limit 0
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=0
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"must be an integer from 1 to 100"}



=== TEST 8: negative limit
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=-1
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"must be an integer from 1 to 100"}



=== TEST 9: limit over the maximum
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=101
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"must be an integer from 1 to 100"}



=== TEST 10: non-numeric, empty, signed, spaced and huge limits
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?limit=abc", "GET /accounts/users?limit=",
 "GET /accounts/users?limit=%2B5", "GET /accounts/users?limit=5%20",
 "GET /accounts/users?limit=99999999999999999999999", "GET /accounts/users?limit"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[('{"error":"invalid_parameter","parameter":"limit","message":"must be an integer from 1 to 100"}') x 6]



=== TEST 11: repeated limit
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=1&limit=1
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"must not be repeated"}



=== TEST 12: negative, non-numeric and repeated offsets
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?offset=-1", "GET /accounts/users?offset=x",
 "GET /accounts/users?offset=1&offset=2",
 "GET /accounts/users?offset=1000000001"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
['{"error":"invalid_parameter","parameter":"offset","message":"must be an integer from 0 to 1000000000"}',
 '{"error":"invalid_parameter","parameter":"offset","message":"must be an integer from 0 to 1000000000"}',
 '{"error":"invalid_parameter","parameter":"offset","message":"must not be repeated"}',
 '{"error":"invalid_parameter","parameter":"offset","message":"must be an integer from 0 to 1000000000"}']



=== TEST 13: percent-encoded parameter names are the same parameter
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?%6Cimit=1&limit=2
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"must not be repeated"}



=== TEST 14: malformed percent-encoding
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=%zz
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"limit","message":"has malformed percent-encoding"}



=== TEST 15: an over-long query string
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
"GET /accounts/users?x=" . ("a" x 4100)
--- error_code: 400
--- response_body chomp
{"error":"invalid_parameter","parameter":"query","message":"must not be longer than 4096 bytes"}



=== TEST 16: unknown parameters are ignored
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=1&foo=bar&&=x
--- response_body eval
qq{{"count":5,"next":"http://localhost/accounts/users?limit=1&foo=bar&=x&offset=1","previous":null,"results":[$::Ann]}}



=== TEST 17: POST is not allowed
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
POST /accounts/users
hello
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body chomp
{"error":"method_not_allowed","message":"only GET and HEAD are allowed"}



=== TEST 18: HEAD answers the headers only
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
HEAD /accounts/users?limit=1
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body



=== TEST 19: users_base_url replaces the Host header in links
--- http_config eval: $::HttpConfig
--- config eval
$::Config =~ s/users_list;/users_list; users_base_url https:\/\/api.example.com;/r
--- request
GET /accounts/users?limit=4
--- response_body eval
qq{{"count":5,"next":"https://api.example.com/accounts/users?limit=4&offset=4","previous":null,"results":[$::Ann,$::Bob,$::Cid,$::Dirk]}}



=== TEST 20: a Host that no server_name matches is not copied into links
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?limit=4
--- more_headers
Host: a'b;c=d,e
--- response_body eval
my $p = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
qq{{"count":5,"next":"http://localhost:$p/accounts/users?limit=4&offset=4","previous":null,"results":[$::Ann,$::Bob,$::Cid,$::Dirk]}}



=== TEST 21: an empty workspace is not found
--- http_config eval: $::HttpConfig
--- config eval
$::Config =~ s/users_workspace t010;/users_workspace \$arg_ws;/r
--- request eval
["GET /accounts/users", "GET /accounts/users?ws=a:b", "GET /accounts/users?ws=nobody"]
--- error_code eval
[404, 404, 200]
--- response_body eval
['{"error":"not_found","message":"no such workspace"}',
 '{"error":"not_found","message":"no such workspace"}',
 '{"count":0,"next":null,"previous":null,"results":[]}']
