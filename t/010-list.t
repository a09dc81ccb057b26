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

# Two more workspaces, with the same ids 1..5, for what a page does with
# stored data it cannot show as it is (docs/SCHEMA.md, "Rows"):
#   t010c: 2 has values over the 16 KiB cap (bio 20000 bytes, nullable;
#          photo 20000 bytes, not nullable); 3's key is not a hash (a
#          string, as a writer bug leaves it; its index entries remain);
#          4 and 5 hold values that are not of their fields' types;
#   t010d: the same ids, nothing wrong: never affected, never logged.

for my $w ('t010c', 't010d') {
    redis_cmd('FCALL', 'users_schema', 1, "users:{$w}", 'last_name:str,id:int',
              'status', 'groups:group');
    redis_cmd('DEL', "users:{$w}:u:$_") for 1 .. 5;
    redis_cmd('FCALL', 'users_delete', 1, "users:{$w}", $_) for 1 .. 5;
}

sub up010 {
    my ($w, $id, %f) = @_;
    redis_cmd('FCALL', 'users_upsert', 1, "users:{$w}", $id, %f,
              groups => 1);
}

up010('t010c', 1, last_name => 'Adams', status => 'active', bio => 'short',
      photo => 'p1', created_at => '2024-01-02T03:04:05Z',
      updated_at => '2024-01-02 03:04:05.123456789+01:00', n => '0042',
      m => 7, flag => 'true', flag2 => 0, score => '-1.5e3',
      tags => '1,,2');
up010('t010c', 2, last_name => 'Brown', status => 'active',
      bio => 'b' x 20000, photo => 'p' x 20000, created_at => '2024-02-29',
      updated_at => '2024-02-29T23:59:60z', n => '-0', m => '-007',
      flag => 1, flag2 => 'FALSE', score => 0, tags => '');
up010('t010c', 3, last_name => 'Cole', status => 'active', photo => 'p3');
redis_cmd('DEL', 'users:{t010c}:u:3');
redis_cmd('SET', 'users:{t010c}:u:3', 'notahash');
up010('t010c', 4, last_name => 'Dunn', status => 'active', photo => 'p4',
      created_at => 'not-a-date', updated_at => '2023-02-29T00:00:00Z',
      n => 'abc', m => '12x', flag => 'maybe', flag2 => 'yes',
      score => '1e', tags => '1,x,3,-4,+5');
up010('t010c', 5, last_name => 'Evans', status => 'inactive', photo => 'p5',
      bio => '', created_at => '2024-01-02T10:00:00+24:00',
      updated_at => '2024-13-01T00:00:00Z', n => '1' x 20,
      m => '123456789012345678', flag => '', flag2 => '', score => '01',
      tags => '9');
up010('t010d', $_, last_name => "Z$_", status => 'active', photo => "q$_",
      created_at => '2020-01-01T00:00:00Z', updated_at => '2020-01-01',
      n => $_, flag => 1, score => 1, tags => $_) for 1 .. 3;

our $Typed = q{
    users_pagination offset limit=limit offset=offset default=20 max=100;
    users_sort last_name;
    users_filter status in multi;
    users_filter groups member field=group multi kind=int;
    users_field id          int;
    users_field last_name   string;
    users_field bio         string    nullable;
    users_field photo       string;
    users_field created_at  timestamp nullable;
    users_field updated_at  timestamp;
    users_field n           int;
    users_field m           int       nullable;
    users_field flag        bool;
    users_field flag2       bool      nullable source=flag2;
    users_field score       number;
    users_field tags        int_list;
    location = /c { users_list; users_workspace t010c; }
    location = /d { users_list; users_workspace t010d; }
    location ~ ^/c/(?<uid>.+)$ { users_get $uid; users_workspace t010c; }
    location ~ ^/d/(?<uid>.+)$ { users_get $uid; users_workspace t010d; }
};

our %C = (
    1 => '{"id":1,"last_name":"Adams","bio":"short","photo":"p1","created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02 03:04:05.123456789+01:00","n":42,"m":7,"flag":true,"flag2":false,"score":-1.5e3,"tags":[1,2]}',
    2 => '{"id":2,"last_name":"Brown","bio":null,"photo":"","created_at":"2024-02-29","updated_at":"2024-02-29T23:59:60z","n":0,"m":-7,"flag":true,"flag2":false,"score":0,"tags":[]}',
    3 => '{"id":3,"last_name":"","bio":null,"photo":"","created_at":null,"updated_at":"","n":0,"m":null,"flag":false,"flag2":null,"score":0,"tags":[]}',
    4 => '{"id":4,"last_name":"Dunn","bio":null,"photo":"p4","created_at":null,"updated_at":"","n":0,"m":null,"flag":false,"flag2":null,"score":0,"tags":[1,3,-4,5]}',
    5 => '{"id":5,"last_name":"Evans","bio":"","photo":"p5","created_at":null,"updated_at":"","n":0,"m":123456789012345678,"flag":false,"flag2":false,"score":0,"tags":[9]}',
);
our %D = map {; $_ => qq{{"id":$_,"last_name":"Z$_","bio":null,"photo":"q$_","created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01","n":$_,"m":null,"flag":true,"flag2":null,"score":1,"tags":[$_]}} } 1 .. 3;

sub ::list010 {
    my ($count, $next, $prev, $users, @ids) = @_;
    my $url = sub { defined $_[0] ? qq{"http://localhost$_[0]"} : 'null' };
    return '{' . qq{"count":$count,"next":} . $url->($next) . ',"previous":'
         . $url->($prev) . ',"results":['
         . join(',', map { $users->{$_} } @ids) . ']}';
}

# The log lines of those flaws: once per key (and field) and worker, not
# once per request. Test::Nginx repeats a block without restarting nginx,
# so the count is checked here, on an nginx of our own.
{
    use UsersTest qw(nginx_start http_get);
    my $ngx = nginx_start(name => 't010', http_config => $HttpConfig,
                          config => $Typed);
    my @got;
    for my $path (qw(/c /c /c?groups=1 /c/3 /c/3 /c?limit=1&offset=1 /d
                     /d/3 /c?groups=1&status=active)) {
        push @got, (http_get($ngx->port, $path))[0];
    }
    Test::More::is("@got", '200 200 200 200 200 200 200 200 200',
                   'flaws: every page answers 200');
    my $log = $ngx->error_log;
    my $line = sub {
        my $text = shift;
        my @l = grep { /\[error\] \d+#\d+: \*\d+ \Q$text\E, client: / }
                split /\n/, $log;
        return scalar @l;
    };
    Test::More::is($line->('users: users:{t010c}:u:3 is not a hash, read as absent'),
                   1, 'flaws: the key that is not a hash, logged once');
    Test::More::is($line->('users: field "bio" of users:{t010c}:u:2 is 20000 bytes, too large to send, read as absent'),
                   1, 'flaws: bio of user 2, logged once');
    Test::More::is($line->('users: field "photo" of users:{t010c}:u:2 is 20000 bytes, too large to send, read as absent'),
                   1, 'flaws: photo of user 2, logged once');
    Test::More::is(scalar(() = $log =~ /\[error\]/g), 3,
                   'flaws: no other error line');
    Test::More::unlike($log, qr/t010d|\[crit\]|\[alert\]/,
                       'flaws: nothing of the other workspace');
    $ngx->stop;
}

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




=== TEST 22: a key that is not a hash, values over the size cap: the page stays whole
User 3's key holds a string: it is shown with its id alone, where the
index has it (count and total stay true, the page keeps its size); user
2's bio and photo (20000 bytes, over the 16 KiB cap) are absent: null
(nullable) and "" (not nullable). The other workspace, same ids: as stored.
--- http_config eval: $::HttpConfig
--- config eval: $::Typed
--- request eval
["GET /c", "GET /c?limit=2&offset=2", "GET /d"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::list010(5, undef, undef, \%::C, 1 .. 5),
 ::list010(5, '/c?limit=2&offset=4', '/c?limit=2', \%::C, 3, 4),
 ::list010(3, undef, undef, \%::D, 1 .. 3)]
--- no_error_log
[crit]
[alert]
unexpected reply



=== TEST 23: the same flaws in a scan: users_query never fails the page
By membership (users_query), the user whose key is not a hash is in group
1 still, and sorts with an absent last_name: first. A status filter does
not match its absent status. An offset at the maximum: the total, no rows.
--- http_config eval: $::HttpConfig
--- config eval: $::Typed
--- request eval
["GET /c?groups=1", "GET /c?groups=1&status=active,inactive",
 "GET /c?groups=1&offset=1000000000", "GET /d?groups=1"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::list010(5, undef, undef, \%::C, 3, 1, 2, 4, 5),
 ::list010(4, undef, undef, \%::C, 1, 2, 4, 5),
 ::list010(5, undef, '/c?groups=1&offset=999999980', \%::C),
 ::list010(3, undef, undef, \%::D, 1 .. 3)]
--- no_error_log
[crit]
[alert]
unexpected reply



=== TEST 24: users_get: a key that is not a hash is the user with its id alone
--- http_config eval: $::HttpConfig
--- config eval: $::Typed
--- request eval
["GET /c/3", "GET /c/2", "GET /c/9", "GET /d/3"]
--- error_code eval
[200, 200, 404, 200]
--- response_body eval
[$::C{3}, $::C{2}, '{"error":"not_found","message":"no such user"}', $::D{3}]
--- no_error_log
[crit]
[alert]
unexpected reply



=== TEST 25: values not of their type are absent: null if nullable, else the type's zero
timestamp: "not-a-date", 2023-02-29, hour 24 offsets and month 13 are not
timestamps (a space separator, a 9-digit fraction, a leap second and a
bare date are); int: "abc", "12x" and 20 digits are not integers; bool:
"maybe", "yes"; number: "1e", "01"; int_list items that are not integers
are left out.
--- http_config eval: $::HttpConfig
--- config eval: $::Typed
--- request eval
["GET /c/4", "GET /c/5", "GET /c/1", "GET /d/1"]
--- response_body eval
[$::C{4}, $::C{5}, $::C{1}, $::D{1}]
--- no_error_log
[error]
