# GET /users as shared/seeds/002 describes it, served by the shipped
# conf/workspace-users.conf: page/pageSize, role/deviceType/status,
# sortBy/sortOrder, ids as an array, the {page,next,prev,pageSize,total,
# results} envelope and the camelCase user object.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();

# Twelve users of workspace t032, with the schema of the conf's comment.
# Enums are stored lower-case (shown upper-case). Names: mixed case (the
# order is case-insensitive: "alice" < "Bob"), "Eve"/"eve" equal but for
# case (ties break by id), one non-ASCII. createdAt: offsets that reverse
# the textual order (u02 12:00+05:00 is before u01 10:00Z), three users at
# the same instant written three ways (u01, u09, u10: ties by id), a
# fraction. updatedAt runs against the ids. legacyId "0042" and "-11",
# booleans as 1/0/true/false, deviceUserId absent for API devices.

my $ws = 'users:{t032}';

redis_cmd('FCALL', 'users_schema', 1, $ws,
          'name:str,role:str,status:str,created_at:time,updated_at:time',
          'role,device_type,status', '');

my @users = (
  # id, name, role, device_type, status, legacy_id, legacy_view_all,
  # device_user_id, is_suspended, created_at, updated_at
  [u01 => 'Mallory', 'operator', 'psd', 'active', '0042', '1', 'D-1001',
          '0', '2021-03-01T10:00:00Z', '2024-01-12T00:00:00Z'],
  [u02 => 'alice', 'admin', 'soft_psd', 'active', '7', 'true', 'D-1002',
          'false', '2021-03-01T12:00:00+05:00', '2024-01-11T00:00:00Z'],
  [u03 => 'Eve', 'read_only_api_key', 'api', 'inactive', '13', '0', undef,
          '1', '2020-12-31T23:30:00-02:00', '2024-01-10T00:00:00Z'],
  [u04 => 'Bob', 'operator', 'psd', 'inactive', '4', '0', 'D-1004',
          '0', '2021-01-01T00:00:00Z', '2024-01-09T00:00:00Z'],
  [u05 => 'eve', 'admin', 'api', 'active', '5', '1', undef,
          '0', '2021-02-14T08:15:30.5Z', '2024-01-08T00:00:00Z'],
  [u06 => 'Zoe', 'operator', 'soft_psd', 'active', '6', '0', 'D-1006',
          'true', '2021-02-14T08:15:30.75Z', '2024-01-07T00:00:00Z'],
  [u07 => 'carol', 'read_only_api_key', 'api', 'active', '70', '0', undef,
          '0', '2022-05-05T05:05:05Z', '2024-01-06T00:00:00Z'],
  [u08 => 'Dan', 'admin', 'psd', 'inactive', '8', '1', 'D-1008',
          '0', '2020-06-30T12:00:00Z', '2024-01-05T00:00:00Z'],
  [u09 => "\xc3\x93scar", 'operator', 'psd', 'active', '9', '0', 'D-1009',
          '0', '2021-03-01T10:00:00Z', '2024-01-04T00:00:00Z'],
  [u10 => 'trent', 'operator', 'api', 'active', '10', '0', undef,
          '1', '2021-03-01T11:00:00+01:00', '2024-01-03T00:00:00Z'],
  [u11 => 'Frank', 'read_only_api_key', 'soft_psd', 'inactive', '-11', '0',
          'D-1011', '0', '2019-11-11T11:11:11Z', '2024-01-02T00:00:00Z'],
  [u12 => 'Peggy', 'admin', 'psd', 'active', '12', '1', 'D-1012',
          '0', '2023-01-01T00:00:00Z', '2024-01-01T00:00:00Z'],
);

for my $u (@users) {
    my ($id, $name, $role, $dev, $status, $lid, $lva, $dui, $susp, $created,
        $updated) = @$u;
    redis_cmd('FCALL', 'users_upsert', 1, $ws, $id,
              id => $id, legacy_id => $lid, legacy_view_all => $lva,
              workspace_name => 'acme', name => $name,
              (defined $dui ? (device_user_id => $dui) : ()),
              device_type => $dev, role => $role, pub_key => "pk-$id",
              status => $status, is_suspended => $susp,
              created_at => $created, updated_at => $updated);
}

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/workspace-users.conf;
};

# The conf has users_auth and users_see_all admin view_all: every request
# carries the token of alice (u02, an administrator, who sees everyone)
# unless a block sends its own headers. Bob (u04) is an operator without
# view_all, Mallory (u01) one with it (legacyViewAll). A second tenant,
# t032b, holds one user under alice's id.
my $wsb = 'users:{t032b}';

redis_cmd('FCALL', 'users_schema', 1, $wsb,
          'name:str,role:str,status:str,created_at:time,updated_at:time',
          'role,device_type,status', '');
redis_cmd('FCALL', 'users_upsert', 1, $wsb, 'u02', id => 'u02',
          legacy_id => 1, legacy_view_all => 1, workspace_name => 'bravo',
          name => 'Bravo', device_type => 'api', role => 'admin',
          pub_key => 'pk-b', status => 'active', is_suspended => 0,
          created_at => '2022-01-01T00:00:00Z',
          updated_at => '2022-01-01T00:00:00Z');

our %Tok = (alice => 'uk_t032-alice', bob => 'uk_t032-bob',
            mallory => 'uk_t032-mallory', bravo => 'uk_t032b-bravo');

for my $t (['alice', 'u02', 't032', 'admin', ''],
           ['bob', 'u04', 't032', 'operator', ''],
           ['mallory', 'u01', 't032', 'operator', 'view_all'],
           ['bravo', 'u02', 't032b', 'admin', ''])
{
    my ($name, $user, $ws, $role, $perms) = @$t;
    redis_cmd('HSET', 'users:token:' . sha256_hex($Tok{$name}),
              user => $user, ws => $ws, role => $role, perms => $perms,
              exp => 0);
}

sub ::auth032 { "Authorization: Bearer $::Tok{$_[0]}" }

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('more_headers', ::auth032('alice'))
        unless defined $block->more_headers;
});

our %U = (
    u01 => q{{"id":"u01","legacyId":42,"legacyViewAll":true,"workspaceName":"acme","name":"Mallory","deviceUserId":"D-1001","deviceType":"PSD","role":"OPERATOR","pubKey":"pk-u01","status":"ACTIVE","isSuspended":false,"createdAt":"2021-03-01T10:00:00Z","updatedAt":"2024-01-12T00:00:00Z"}},
    u02 => q{{"id":"u02","legacyId":7,"legacyViewAll":true,"workspaceName":"acme","name":"alice","deviceUserId":"D-1002","deviceType":"SOFT_PSD","role":"ADMIN","pubKey":"pk-u02","status":"ACTIVE","isSuspended":false,"createdAt":"2021-03-01T12:00:00+05:00","updatedAt":"2024-01-11T00:00:00Z"}},
    u03 => q{{"id":"u03","legacyId":13,"legacyViewAll":false,"workspaceName":"acme","name":"Eve","deviceUserId":null,"deviceType":"API","role":"READ_ONLY_API_KEY","pubKey":"pk-u03","status":"INACTIVE","isSuspended":true,"createdAt":"2020-12-31T23:30:00-02:00","updatedAt":"2024-01-10T00:00:00Z"}},
    u04 => q{{"id":"u04","legacyId":4,"legacyViewAll":false,"workspaceName":"acme","name":"Bob","deviceUserId":"D-1004","deviceType":"PSD","role":"OPERATOR","pubKey":"pk-u04","status":"INACTIVE","isSuspended":false,"createdAt":"2021-01-01T00:00:00Z","updatedAt":"2024-01-09T00:00:00Z"}},
    u05 => q{{"id":"u05","legacyId":5,"legacyViewAll":true,"workspaceName":"acme","name":"eve","deviceUserId":null,"deviceType":"API","role":"ADMIN","pubKey":"pk-u05","status":"ACTIVE","isSuspended":false,"createdAt":"2021-02-14T08:15:30.5Z","updatedAt":"2024-01-08T00:00:00Z"}},
    u06 => q{{"id":"u06","legacyId":6,"legacyViewAll":false,"workspaceName":"acme","name":"Zoe","deviceUserId":"D-1006","deviceType":"SOFT_PSD","role":"OPERATOR","pubKey":"pk-u06","status":"ACTIVE","isSuspended":true,"createdAt":"2021-02-14T08:15:30.75Z","updatedAt":"2024-01-07T00:00:00Z"}},
    u07 => q{{"id":"u07","legacyId":70,"legacyViewAll":false,"workspaceName":"acme","name":"carol","deviceUserId":null,"deviceType":"API","role":"READ_ONLY_API_KEY","pubKey":"pk-u07","status":"ACTIVE","isSuspended":false,"createdAt":"2022-05-05T05:05:05Z","updatedAt":"2024-01-06T00:00:00Z"}},
    u08 => q{{"id":"u08","legacyId":8,"legacyViewAll":true,"workspaceName":"acme","name":"Dan","deviceUserId":"D-1008","deviceType":"PSD","role":"ADMIN","pubKey":"pk-u08","status":"INACTIVE","isSuspended":false,"createdAt":"2020-06-30T12:00:00Z","updatedAt":"2024-01-05T00:00:00Z"}},
    u09 => qq{{"id":"u09","legacyId":9,"legacyViewAll":false,"workspaceName":"acme","name":"\xc3\x93scar","deviceUserId":"D-1009","deviceType":"PSD","role":"OPERATOR","pubKey":"pk-u09","status":"ACTIVE","isSuspended":false,"createdAt":"2021-03-01T10:00:00Z","updatedAt":"2024-01-04T00:00:00Z"}},
    u10 => q{{"id":"u10","legacyId":10,"legacyViewAll":false,"workspaceName":"acme","name":"trent","deviceUserId":null,"deviceType":"API","role":"OPERATOR","pubKey":"pk-u10","status":"ACTIVE","isSuspended":true,"createdAt":"2021-03-01T11:00:00+01:00","updatedAt":"2024-01-03T00:00:00Z"}},
    u11 => q{{"id":"u11","legacyId":-11,"legacyViewAll":false,"workspaceName":"acme","name":"Frank","deviceUserId":"D-1011","deviceType":"SOFT_PSD","role":"READ_ONLY_API_KEY","pubKey":"pk-u11","status":"INACTIVE","isSuspended":false,"createdAt":"2019-11-11T11:11:11Z","updatedAt":"2024-01-02T00:00:00Z"}},
    u12 => q{{"id":"u12","legacyId":12,"legacyViewAll":true,"workspaceName":"acme","name":"Peggy","deviceUserId":"D-1012","deviceType":"PSD","role":"ADMIN","pubKey":"pk-u12","status":"ACTIVE","isSuspended":false,"createdAt":"2023-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}},
);

# the envelope: page, next, prev, pageSize, total, then the ids in order
sub ::page032 {
    my ($page, $next, $prev, $size, $total, @ids) = @_;
    return qq({"page":$page,"next":$next,"prev":$prev,"pageSize":$size,)
           . qq("total":$total,"results":[) . join(',', map { $U{$_} } @ids)
           . ']}';
}

sub ::bad032 {
    my ($param, $message) = @_;
    return qq({"error":"invalid_parameter","parameter":"$param",)
           . qq("message":"$message"});
}

run_tests();

__DATA__

=== TEST 0: visibility: an operator without view_all sees only itself, with it everyone
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users", "GET /users?role=ADMIN", "GET /users", "GET /users"]
--- more_headers eval
[::auth032('bob'), ::auth032('bob'), ::auth032('mallory'), ""]
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
[::page032(1, 'null', 'null', 30, 1, 'u04'),
 ::page032(1, 'null', 'null', 30, 0),
 ::page032(1, 'null', 'null', 30, 12,
           qw(u02 u04 u07 u08 u03 u05 u11 u01 u12 u10 u06 u09)),
 '{"error":"unauthorized","message":"a bearer token is required"}']
--- no_error_log
[error]



=== TEST 0b: two tenants: t032b's token lists t032b's user only
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users", "GET /users?ids=u01&ids=u02"]
--- more_headers eval
::auth032('bravo')
--- response_body eval
[('{"page":1,"next":null,"prev":null,"pageSize":30,"total":1,"results":[{"id":"u02","legacyId":1,"legacyViewAll":true,"workspaceName":"bravo","name":"Bravo","deviceUserId":null,"deviceType":"API","role":"ADMIN","pubKey":"pk-b","status":"ACTIVE","isSuspended":false,"createdAt":"2022-01-01T00:00:00Z","updatedAt":"2022-01-01T00:00:00Z"}]}') x 2]
--- no_error_log
[error]



=== TEST 1: no parameters: everyone, by name case-insensitively, ties by id, pageSize 30
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u02 u04 u07 u08 u03 u05 u11 u01 u12 u10 u06 u09))
--- no_error_log
[error]



=== TEST 2: sortBy=name&sortOrder=asc is the default order
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=name&sortOrder=asc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u02 u04 u07 u08 u03 u05 u11 u01 u12 u10 u06 u09))



=== TEST 3: sortOrder=desc alone reverses the default order, ties included
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u09 u06 u10 u12 u01 u11 u05 u03 u08 u07 u04 u02))



=== TEST 4: sortBy=role: admin, operator, read_only_api_key, ties by id
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=role
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u02 u05 u08 u12 u01 u04 u06 u09 u10 u03 u07 u11))



=== TEST 5: sortBy=role&sortOrder=desc reverses the whole order
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortOrder=desc&sortBy=role
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u11 u07 u03 u10 u09 u06 u04 u01 u12 u08 u05 u02))



=== TEST 6: sortBy=status
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=status&sortOrder=asc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u01 u02 u05 u06 u07 u09 u10 u12 u03 u04 u08 u11))



=== TEST 7: sortBy=status&sortOrder=desc
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=status&sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u11 u08 u04 u03 u12 u10 u09 u07 u06 u05 u02 u01))



=== TEST 8: sortBy=createdAt orders instants, not text (offsets, fractions, one instant written three ways)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=createdAt
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u11 u08 u04 u03 u05 u06 u02 u01 u09 u10 u07 u12))



=== TEST 9: sortBy=createdAt&sortOrder=desc
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=createdAt&sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u12 u07 u10 u09 u01 u02 u06 u05 u03 u04 u08 u11))



=== TEST 10: sortBy=updatedAt
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=updatedAt&sortOrder=asc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u12 u11 u10 u09 u08 u07 u06 u05 u04 u03 u02 u01))



=== TEST 11: sortBy=updatedAt&sortOrder=desc
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=updatedAt&sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u01 u02 u03 u04 u05 u06 u07 u08 u09 u10 u11 u12))



=== TEST 12: pageSize=5: the first page has a next, no prev
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=5
--- response_body eval
::page032(1, 2, 'null', 5, 12, qw(u02 u04 u07 u08 u03))



=== TEST 13: page=2&pageSize=5: a middle page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=2&pageSize=5
--- response_body eval
::page032(2, 3, 2 - 1, 5, 12, qw(u05 u11 u01 u12 u10))



=== TEST 14: page=3&pageSize=5: the last page has no next
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=5&page=3
--- response_body eval
::page032(3, 'null', 2, 5, 12, qw(u06 u09))



=== TEST 15: a page past the end: no results, still counted
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=5&page=4
--- response_body eval
::page032(4, 'null', 3, 5, 12)



=== TEST 16: pageSize=1: the twelfth page holds the last user
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=1&page=12
--- response_body eval
::page032(12, 'null', 11, 1, 12, 'u09')



=== TEST 17: pageSize=30 (the maximum) and page=1 explicitly
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=1&pageSize=30
--- response_body eval
::page032(1, 'null', 'null', 30, 12,
          qw(u02 u04 u07 u08 u03 u05 u11 u01 u12 u10 u06 u09))



=== TEST 18: page=9007199254740991 (the documented maximum)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=9007199254740991
--- response_body eval
::page032('9007199254740991', 'null', '9007199254740990', 30, 12)
--- no_error_log
[error]



=== TEST 19: paging through an ordering
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=createdAt&sortOrder=desc&pageSize=4&page=2
--- response_body eval
::page032(2, 3, 1, 4, 12, qw(u01 u02 u06 u05))



=== TEST 20: role=ADMIN (stored "admin")
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=ADMIN
--- response_body eval
::page032(1, 'null', 'null', 30, 4, qw(u02 u08 u05 u12))
--- no_error_log
[error]



=== TEST 21: role=OPERATOR&status=ACTIVE
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=OPERATOR&status=ACTIVE
--- response_body eval
::page032(1, 'null', 'null', 30, 4, qw(u01 u10 u06 u09))



=== TEST 22: role=READ_ONLY_API_KEY ordered by createdAt desc
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=READ_ONLY_API_KEY&sortBy=createdAt&sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 3, qw(u07 u03 u11))



=== TEST 23: deviceType=API
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?deviceType=API
--- response_body eval
::page032(1, 'null', 'null', 30, 4, qw(u07 u03 u05 u10))



=== TEST 24: deviceType=SOFT_PSD
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?deviceType=SOFT_PSD
--- response_body eval
::page032(1, 'null', 'null', 30, 3, qw(u02 u11 u06))



=== TEST 25: deviceType=PSD ordered by updatedAt
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?deviceType=PSD&sortBy=updatedAt
--- response_body eval
::page032(1, 'null', 'null', 30, 5, qw(u12 u09 u08 u04 u01))



=== TEST 26: status=INACTIVE
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?status=INACTIVE
--- response_body eval
::page032(1, 'null', 'null', 30, 4, qw(u04 u08 u03 u11))



=== TEST 27: status=ACTIVE, second page of three
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?status=ACTIVE&pageSize=3&page=2
--- response_body eval
::page032(2, 3, 1, 3, 8, qw(u01 u12 u10))



=== TEST 28: ids=a&ids=b: those users (an unknown id matches nobody), in the list's order
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?ids=u11&ids=u03&ids=nope
--- response_body eval
::page032(1, 'null', 'null', 30, 2, qw(u03 u11))
--- no_error_log
[error]



=== TEST 29: ids[]=a&ids[]=b is the same array
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?ids[]=u11&ids[]=u03
--- response_body eval
::page032(1, 'null', 'null', 30, 2, qw(u03 u11))



=== TEST 30: ids[] percent-encoded, mixed with ids
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?ids%5B%5D=u11&ids=u07
--- response_body eval
::page032(1, 'null', 'null', 30, 2, qw(u07 u11))



=== TEST 31: a comma is part of an id, not a separator
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?ids=u03,u11
--- response_body eval
::page032(1, 'null', 'null', 30, 0)



=== TEST 32: ids with role and an ordering
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?ids=u02&ids=u03&ids=u05&ids=u12&role=ADMIN&sortBy=createdAt&sortOrder=desc
--- response_body eval
::page032(1, 'null', 'null', 30, 3, qw(u12 u02 u05))



=== TEST 33: page=0
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=0
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body eval
::bad032('page', 'must be an integer from 1 to 9007199254740991')
--- no_error_log
[error]



=== TEST 34: page past the documented maximum
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=9007199254740992
--- error_code: 400
--- response_body eval
::bad032('page', 'must be an integer from 1 to 9007199254740991')



=== TEST 35: page not a number
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page=two
--- error_code: 400
--- response_body eval
::bad032('page', 'must be an integer from 1 to 9007199254740991')



=== TEST 36: pageSize=0
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=0
--- error_code: 400
--- response_body eval
::bad032('pageSize', 'must be an integer from 1 to 30')



=== TEST 37: pageSize=31
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=31
--- error_code: 400
--- response_body eval
::bad032('pageSize', 'must be an integer from 1 to 30')



=== TEST 38: pageSize not a number
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=ten
--- error_code: 400
--- response_body eval
::bad032('pageSize', 'must be an integer from 1 to 30')



=== TEST 39: pageSize negative
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?pageSize=-5
--- error_code: 400
--- response_body eval
::bad032('pageSize', 'must be an integer from 1 to 30')



=== TEST 40: an unknown role
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=OWNER
--- error_code: 400
--- response_body eval
::bad032('role', 'unknown value \"OWNER\"')



=== TEST 41: role values are upper-case: the stored spelling is not a value of the API
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=admin
--- error_code: 400
--- response_body eval
::bad032('role', 'unknown value \"admin\"')



=== TEST 42: an unknown deviceType
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?deviceType=api
--- error_code: 400
--- response_body eval
::bad032('deviceType', 'unknown value \"api\"')



=== TEST 43: an unknown status
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?status=SUSPENDED
--- error_code: 400
--- response_body eval
::bad032('status', 'unknown value \"SUSPENDED\"')



=== TEST 44: an unknown sortBy (the stored field's name is not the API's)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=created_at
--- error_code: 400
--- response_body eval
::bad032('sortBy', 'unknown sort field \"created_at\"')



=== TEST 45: sortBy is case-sensitive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=Name
--- error_code: 400
--- response_body eval
::bad032('sortBy', 'unknown sort field \"Name\"')



=== TEST 46: an unknown sortOrder
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?sortBy=name&sortOrder=DESC
--- error_code: 400
--- response_body eval
::bad032('sortOrder', 'must be \"asc\" or \"desc\"')



=== TEST 47: malformed percent-encoding
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?role=AD%4
--- error_code: 400
--- response_body eval
::bad032('role', 'has malformed percent-encoding')



=== TEST 48: pages far past the end: 200, no results, the total; indexed or scanned
page * pageSize past 15 digits reached users_query's limit (a 502); the
page stays as asked, prev is the page before.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?page=9007199254740991",
 "GET /users?ids=u01&ids=u02&page=9007199254740991",
 "GET /users?ids=u01&page=300000000000000",
 "GET /users?ids=u01&status=ACTIVE&page=33333333333334&pageSize=30"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::page032(9007199254740991, 'null', 9007199254740990, 30, 12),
 ::page032(9007199254740991, 'null', 9007199254740990, 30, 2),
 ::page032(300000000000000, 'null', 299999999999999, 30, 1),
 ::page032(33333333333334, 'null', 33333333333333, 30, 1)]
--- no_error_log
[error]



=== TEST 49: ids are strings (Array<string>): any value is an id to look up
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?ids=not-an-id&ids=12", "GET /users?ids[]=u05&ids=007",
 "GET /users?ids=U05"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::page032(1, 'null', 'null', 30, 0),
 ::page032(1, 'null', 'null', 30, 1, 'u05'),
 ::page032(1, 'null', 'null', 30, 0)]
--- no_error_log
[error]
