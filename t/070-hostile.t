# Hostile input against /users (conf/users-v1.conf), /accounts/users
# (conf/accounts.conf) and a users_auth location: malformed request lines,
# huge and repeated parameters, percent-encoding tricks, bytes that are not
# UTF-8 or not printable, oversized Authorization headers, header injection
# through the Link header, odd Host headers, ids that look like other keys.
# Every answer is exact (the module's JSON, or nginx's own 400/414 for what
# nginx rejects before the module runs) and nothing worse than [error] is
# logged.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();
log_level('info');

# one workspace serving both conf files: the union of their schemas
my $ws = 'users:{t070}';
redis_cmd('FCALL', 'users_schema', 1, $ws,
          'name:str,email:str,identifier:str,user_type:str,status:str,'
          . 'created_at:time,updated_at:time,last_name:str,first_name:str,id:int',
          'user_type,status,type', 'groups:group');
redis_cmd('FCALL', 'users_delete', 1, $ws, $_) for 1 .. 9;
redis_cmd('FCALL', 'users_upsert', 1, $ws, 1,
          id => 1, name => 'Ann', email => 'ann@example.com',
          identifier => 'ann', user_type => 'saas_user', status => 'active',
          created_at => '2024-01-01T00:00:00Z',
          updated_at => '2024-01-02T00:00:00Z', first_name => 'Ann',
          last_name => 'Adams', type => 'user', groups => '3');
redis_cmd('FCALL', 'users_upsert', 1, $ws, 2,
          id => 2, name => 'Dee Dee', email => 'dee@example.com',
          identifier => 'dee', user_type => 'saas_admin', status => 'active',
          created_at => '2024-02-01T00:00:00Z',
          updated_at => '2024-02-02T00:00:00Z', first_name => 'Dee',
          last_name => 'Dee', type => 'user', groups => '3,4');

# another workspace, whose group 3 and user 9 must stay out of reach
my $wsx = 'users:{t070x}';
redis_cmd('FCALL', 'users_schema', 1, $wsx,
          'last_name:str,first_name:str,status:str,id:int', 'status,type',
          'groups:group');
redis_cmd('FCALL', 'users_delete', 1, $wsx, $_) for 1 .. 9;
redis_cmd('FCALL', 'users_upsert', 1, $wsx, 9,
          id => 9, first_name => 'Xena', last_name => 'Other',
          status => 'active', type => 'user', groups => '3,x');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/accounts.conf;
    include $FindBin::Bin/../conf/users-v1.conf;
    location = /auth/users {
        users_auth "t070";
        users_list;
        users_workspace \$users_workspace;
        users_sort id kind=int default;
        users_field id int;
    }
};

our $Ann = '{"id":"1","identifier":"ann","name":"Ann","email":"ann@example.com","user_type":"saas_user","status":"active","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-02T00:00:00Z"}';
our $Dee = '{"id":"2","identifier":"dee","name":"Dee Dee","email":"dee@example.com","user_type":"saas_admin","status":"active","created_at":"2024-02-01T00:00:00Z","updated_at":"2024-02-02T00:00:00Z"}';
our $AAnn = '{"id":1,"email":"ann@example.com","first_name":"Ann","last_name":"Adams","phone":null,"photo":null,"status":"active","is_staff":false,"is_admin":false,"is_account_owner":false,"invite":null}';
our $ADee = '{"id":2,"email":"dee@example.com","first_name":"Dee","last_name":"Dee","phone":null,"photo":null,"status":"active","is_staff":false,"is_admin":false,"is_account_owner":false,"invite":null}';
our $Empty = '{"count":0,"next":null,"previous":null,"results":[]}';

sub bad { my ($p, $m) = @_; $m =~ s/(["\\])/\\$1/g;
          qq{{"error":"invalid_parameter","parameter":"$p","message":"$m"}} }

our $Ngx400 = qr{\A<html>\r?\n<head><title>400 Bad Request</title></head>};

# the shipped confs have users_auth: a token of t070 (no permissions) goes
# with every request that does not carry its own, raw requests included
our $Tok = 'uk_t070-ann';
redis_cmd('HSET', 'users:token:' . sha256_hex($Tok), user => 1, ws => 't070',
          role => 'user', perms => '', exp => 0);
our $Auth = "Authorization: Bearer $Tok";

sub ::with_auth {
    my $r = shift;
    return $r =~ /\r\nAuthorization:/i ? $r : $r =~ s/\r\n/\r\n$::Auth\r\n/r;
}

# nginx 1.29.4 answers 400 to a Host with quotes, <> or braces; a Host no
# server_name matches goes into links as the server's name and local port
our $StrictHost = UsersTest::nginx_at_least('1.29.4');
our $Port = $ENV{TEST_NGINX_SERVER_PORT} || 1984;

# blocks that share a request template: one GET per block
add_block_preprocessor(sub {
    my $b = shift;
    if (defined $b->raw_request) {
        my $r = $b->raw_request;
        $b->set_value(raw_request => ref $r ? [map { ::with_auth($_) } @$r]
                                            : ::with_auth($r));
    } elsif (!defined $b->more_headers) {
        $b->set_value(more_headers => $::Auth);
    }
    $b->set_value(http_config => $::HttpConfig) unless defined $b->http_config;
    $b->set_value(config => $::Config) unless defined $b->config;
    $b->set_value(no_error_log => "[alert]\n[crit]\n[emerg]\nsignal")
        unless defined $b->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: sanity: both lists
--- request
GET /users
--- response_body eval
"[$::Ann,$::Dee]"



=== TEST 2: malformed request line: a space in the URI and no version
--- raw_request eval
"GET /users?a b\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 3: malformed request line: a control byte in the query
--- raw_request eval
"GET /users?x=a\x01b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 4: malformed request line: a NUL in the path
--- raw_request eval
"GET /us\0ers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 5: a 4,097-byte query
--- request eval
"GET /users?page_size=1&s=" . ("a" x (4097 - 14))
--- error_code: 400
--- response_body eval
::bad('query', 'must not be longer than 4096 bytes')



=== TEST 6: a 4,096-byte query passes; the unknown parameter is kept in the link
--- request eval
"GET /users?page_size=1&s=" . ("a" x (4096 - 14))
--- response_headers eval
"X-Total-Count: 2\nLink: <http://localhost/users?page_size=1&s=" . ("a" x 4082) . "&page=2>; rel=\"next\""
--- response_body eval
"[$::Ann]"



=== TEST 7: 5,000 repeated &x=1 (20 KB): nginx's 414 before the module
--- request eval
"GET /users?page_size=1" . ("&x=1" x 5000)
--- error_code: 414
--- response_body_like eval
qr{<title>414 Request-URI Too Large</title>}



=== TEST 8: 1,000 repeated &x=1 fit: accepted, echoed in the link
--- request eval
"GET /users?page_size=1" . ("&x=1" x 1000)
--- response_headers eval
"Link: <http://localhost/users?page_size=1" . ("&x=1" x 1000) . "&page=2>; rel=\"next\""
--- response_body eval
"[$::Ann]"



=== TEST 9: 1,025 parameters over 4,096 bytes: the query limit
--- request eval
"GET /users?" . ("x=1&" x 1023) . "page_size=1"
--- error_code: 400
--- response_body eval
::bad('query', 'must not be longer than 4096 bytes')



=== TEST 10: a known parameter repeated 300 times
--- request eval
"GET /users?" . ("page_size=1&" x 300)
--- error_code: 400
--- response_body eval
::bad('page_size', 'must not be repeated')



=== TEST 11: %00 alone: printable in the reason
--- request
GET /users?status=%00
--- error_code: 400
--- response_body eval
::bad('status', 'unknown value "\x00"')



=== TEST 12: a NUL inside a value
--- request
GET /users?status=act%00ive
--- error_code: 400
--- response_body eval
::bad('status', 'unknown value "act\x00ive"')



=== TEST 13: %2526 is decoded once
--- request
GET /users?status=%2526
--- error_code: 400
--- response_body eval
::bad('status', 'unknown value "%26"')



=== TEST 14: %zz, a lone %, a trailing %
--- request eval
["GET /users?status=%zz", "GET /users?status=%", "GET /users?status=a%"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[::bad('status', 'has malformed percent-encoding'),
 ::bad('status', 'has malformed percent-encoding'),
 ::bad('status', 'has malformed percent-encoding')]



=== TEST 15: overlong UTF-8 %C0%AF (a disguised /) and invalid %FF%FE
--- request eval
["GET /users?status=%C0%AF", "GET /users?status=%FF%FE",
 "GET /users?sort_by=%C0%AF", "GET /accounts/users?ordering=%00"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[::bad('status', 'unknown value "\xC0\xAF"'),
 ::bad('status', 'unknown value "\xFF\xFE"'),
 ::bad('sort_by', 'unknown sort field "\xC0\xAF"'),
 ::bad('ordering', 'unknown sort field "\x00"')]



=== TEST 16: a control byte in a value is escaped in the reason
--- request
GET /users?status=%01x
--- error_code: 400
--- response_body eval
::bad('status', 'unknown value "\x01x"')



=== TEST 17: + is a space, %2B a plus (search is a substring of "Dee Dee")
--- request eval
["GET /users?search=e+D", "GET /users?search=e%20D", "GET /users?search=e%2BD",
 "GET /users?search=%C0%AF"]
--- response_body eval
["[$::Dee]", "[$::Dee]", "[]", "[]"]



=== TEST 18: integers with NUL, + and %2B signs
--- request eval
["GET /users?page_size=1%00", "GET /users?page_size=+1", "GET /users?page=%2B1"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[::bad('page_size', 'must be an integer from 1 to 100'),
 ::bad('page_size', 'must be an integer from 1 to 100'),
 ::bad('page', 'must be an integer from 1 to 9007199254740991')]



=== TEST 19: NUL, invalid UTF-8 and empty names are unknown parameters: ignored
--- request eval
["GET /users?st%00atus=inactive", "GET /users?%FF=1", "GET /users?%00=1",
 "GET /users?=1", "GET /users?&&&"]
--- response_body eval
["[$::Ann,$::Dee]", "[$::Ann,$::Dee]", "[$::Ann,$::Dee]", "[$::Ann,$::Dee]",
 "[$::Ann,$::Dee]"]



=== TEST 20: a value-less filter, an encoded comma in a single-value filter
--- request eval
["GET /users?status", "GET /users?status=active%2Cinactive"]
--- error_code eval
[400, 400]
--- response_body eval
[::bad('status', 'values must be 1 to 256 bytes'),
 ::bad('status', 'unknown value "active,inactive"')]



=== TEST 21: an 8 KB Authorization header: nginx's own 400
--- more_headers eval
"Authorization: Bearer uk_" . ("A" x 8190)
--- request
GET /auth/users
--- error_code: 400
--- response_body_like eval
qr{<title>400 Request Header Or Cookie Too Large</title>}



=== TEST 22: an 8,000-byte token fits nginx's buffer: the module's invalid_request
--- more_headers eval
"Authorization: Bearer uk_" . ("A" x 8000)
--- request
GET /auth/users
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t070", error="invalid_request"
--- response_body chomp
{"error":"invalid_request","message":"malformed bearer token"}



=== TEST 23: a control byte in the token
--- raw_request eval
"GET /auth/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer uk_a\x01b\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="t070", error="invalid_request"
--- response_body chomp
{"error":"invalid_request","message":"malformed bearer token"}



=== TEST 24: two Authorization headers: nginx's 400
--- raw_request eval
"GET /auth/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer uk_ab\r\nAuthorization: Bearer uk_cd\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 25: CR LF in a parameter stays percent-encoded in Link: no Set-Cookie
--- request
GET /users?page_size=1&x=%0D%0ASet-Cookie:%20a=b
--- response_headers
!Set-Cookie
Link: <http://localhost/users?page_size=1&x=%0D%0ASet-Cookie:%20a=b&page=2>; rel="next"
--- response_body eval
"[$::Ann]"



=== TEST 26: raw <>" in the query are encoded in Link
--- raw_request eval
"GET /users?page_size=1&x=<>\" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- response_headers
Link: <http://localhost/users?page_size=1&x=%3C%3E%22&page=2>; rel="next"
--- response_body eval
"[$::Ann]"



=== TEST 27: a Host with quotes and <>: nginx's 400 from 1.29.4, else not copied
--- raw_request eval
"GET /users?page_size=1 HTTP/1.1\r\nHost: evil\"<>.com\r\nConnection: close\r\n\r\n"
--- error_code eval
$::StrictHost ? 400 : 200
--- response_headers eval
$::StrictHost ? "!Link" : "Link: <http://localhost:$::Port/users?page_size=1&page=2>; rel=\"next\""
--- response_body_like eval
$::StrictHost ? $::Ngx400 : '^' . quotemeta("[$::Ann]") . '$'



=== TEST 28: a Host every nginx accepts (sub-delimiters, %) is not copied either
--- raw_request eval
"GET /users?page_size=1 HTTP/1.1\r\nHost: ev'il;rel=x,(y)!\$&*+~%3e.com\r\nConnection: close\r\n\r\n"
--- response_headers eval
"Link: <http://localhost:$::Port/users?page_size=1&page=2>; rel=\"next\""
--- response_body eval
"[$::Ann]"



=== TEST 29: a Host with a space: nginx's 400
One request per raw_request (an array would be one request in several
packets under the real Test::Nginx).
--- raw_request eval
"GET /users HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 29b: a Host with a control byte: nginx's 400
--- raw_request eval
"GET /users HTTP/1.1\r\nHost: ev\x01il\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 30: an absolute URI with an encoded host: nginx's 400
--- raw_request eval
"GET http://ex%41mple.org/users HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_body_like eval
$::Ngx400



=== TEST 31: group ids that look like paths or other keys reach nothing
Group ids are integers (kind=int in conf/accounts.conf): refused before
any Redis call.
--- request eval
["GET /accounts/users?groups=..%2F", "GET /accounts/users?groups=..%2F..%2Ft070x%2F3",
 "GET /accounts/users?groups=%7B", "GET /accounts/users?groups=}",
 "GET /accounts/users?groups={t070x}:m:group:3", "GET /accounts/users?groups=3:4",
 "GET /accounts/users?groups=x", "GET /accounts/users?groups=*"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[map { ::bad('groups', qq{invalid integer "$_"}) }
     '../', '../../t070x/3', '{', '}', '{t070x}:m:group:3', '3:4', 'x', '*']



=== TEST 32: the real group 3 of this workspace, and an empty item
--- request eval
["GET /accounts/users?groups=3", "GET /accounts/users?groups=3,,4"]
--- error_code eval
[200, 400]
--- response_body eval
[qq{{"count":2,"next":null,"previous":null,"results":[$::AAnn,$::ADee]}},
 ::bad('groups', 'values must be 1 to 256 bytes')]



=== TEST 33: an id filter without the metadata permission
--- request eval
["GET /users?id=9", "GET /users?created_by=%7Bt070x%7D"]
--- error_code eval
[403, 403]
--- response_body eval
['{"error":"forbidden","parameter":"id","message":"requires the \"metadata\" permission"}',
 '{"error":"forbidden","parameter":"created_by","message":"requires the \"metadata\" permission"}']
