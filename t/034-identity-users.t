# GET /identity/v1/users as shared/seeds/004 describes it, served by the
# shipped conf/identity-users.conf: the OData filter subset (every example
# of the document, each operator, and/or/not, parentheses, '' escapes,
# instants compared across offsets, the 400 messages), limit 1..600 and
# offset, the {offset,count,total,items} envelope; bearer tokens and the
# view_all permission the document requires.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();

# Ten users of workspace t034, U1..U10 in id order. T is the document's
# instant 2020-09-21T14:19:09.769747 (no offset: UTC). Around T: createdAt
# of U1 is T, U9 is T written with "Z", U2 one microsecond after, U3 one
# before; U4 (15:00+02:00) is before T though its text is after, U5
# (10:00-05:00) after T though its text is before. lastLogin is absent on
# U2 and U8, T written with +02:00 on U3, T on U6. U7 carries the
# document's id and username; U6 the same username in other case; U9 a
# lower-case "verified" (userStatus is case-sensitive); U4 a quote.

my $ws = 'users:{t034}';

redis_cmd('FCALL', 'users_schema', 1, $ws,
          'id:str,username:str,created_at:time', 'user_status', '');

my @users = (
  # id, username, user_status, created_at, updated_at, last_login
  ['0b9e2c1a-0000-4000-8000-000000000001', 'ann@example.com', 'VERIFIED',
   '2020-09-21T14:19:09.769747', '2021-01-01T00:00:00Z',
   '2020-09-21T14:19:09.769746'],
  ['1c0f3d2b-0000-4000-8000-000000000002', 'bob@example.com', 'UNVERIFIED',
   '2020-09-21T14:19:09.769748', '2020-09-21T14:19:09.769747Z', undef],
  ['2d1a4e3c-0000-4000-8000-000000000003', 'cid@example.com', 'BLOCKED',
   '2020-09-21T14:19:09.769746', '2020-09-22T00:00:00Z',
   '2020-09-21T16:19:09.769747+02:00'],
  ['3e2b5f4d-0000-4000-8000-000000000004', "o'brien\@example.com",
   'DELETE_IN_PROGRESS', '2020-09-21T15:00:00+02:00',
   '2020-09-21T10:00:00-05:00', '2019-01-01T00:00:00Z'],
  ['4f3c6a5e-0000-4000-8000-000000000005', 'dee@example.com', 'DELETED',
   '2020-09-21T10:00:00-05:00', '2020-01-01T00:00:00Z',
   '2022-02-02T02:02:02Z'],
  ['5a4d7b6f-0000-4000-8000-000000000006', 'User@Example.com', 'SUSPENDED',
   '2019-05-05T05:05:05Z', '2019-05-05T05:05:05Z',
   '2020-09-21T14:19:09.769747'],
  ['7600415a-8876-5722-9f3c-b0fd11112283', 'user@example.com', 'VERIFIED',
   '2018-01-01T00:00:00Z', '2023-03-03T03:03:03Z', '2020-09-21T14:19:09Z'],
  ['8b6f9d80-0000-4000-8000-000000000008', 'eve@example.com', 'UNVERIFIED',
   '2021-07-07T07:07:07.000001Z', '2021-07-07T07:07:07Z', undef],
  ['9c7a0e91-0000-4000-8000-000000000009', 'frank@example.com', 'verified',
   '2020-09-21T14:19:09.769747Z', '2020-09-21T14:19:09.769747+00:00',
   '2020-09-21T10:00:00-05:00'],
  ['ad8b1fa2-0000-4000-8000-00000000000a', 'gus@example.com', 'VERIFIED',
   '2022-12-31T23:59:59.999999Z', '2022-12-31T23:59:59Z',
   '2020-09-21T14:19:08Z'],
);

for my $u (@users) {
    my ($id, $username, $status, $created, $updated, $login) = @$u;
    redis_cmd('FCALL', 'users_upsert', 1, $ws, $id,
              id => $id, username => $username, user_status => $status,
              created_at => $created, updated_at => $updated,
              (defined $login ? (last_login => $login) : ()));
}

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/identity-users.conf;
};

# The conf has users_auth and users_auth_require view_all ("User view all
# permission is required"): every request carries a token with view_all
# unless a block sends its own headers. A second tenant, t034b, holds one
# user under U7's id.
my $wsb = 'users:{t034b}';

redis_cmd('FCALL', 'users_schema', 1, $wsb,
          'id:str,username:str,created_at:time', 'user_status', '');
redis_cmd('FCALL', 'users_upsert', 1, $wsb, $users[6][0], id => $users[6][0],
          username => 'bravo@b.example', user_status => 'VERIFIED',
          created_at => '2020-01-01T00:00:00Z',
          updated_at => '2020-01-01T00:00:00Z');

our %Tok = (all => 'uk_t034-view-all', none => 'uk_t034-no-view-all',
            admin => 'uk_t034-admin-role', bravo => 'uk_t034b-view-all');

for my $t (['all', 't034', 'user', 'read,view_all'],
           ['none', 't034', 'user', 'read,view_al,view_all_x'],
           ['admin', 't034', 'admin', 'metadata'],
           ['bravo', 't034b', 'user', 'view_all'])
{
    my ($name, $ws, $role, $perms) = @$t;
    redis_cmd('HSET', 'users:token:' . sha256_hex($Tok{$name}),
              user => $users[0][0], ws => $ws, role => $role,
              perms => $perms, exp => 0);
}

sub ::auth034 { "Authorization: Bearer $::Tok{$_[0]}" }

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('more_headers', ::auth034('all'))
        unless defined $block->more_headers;
});

our %U = (
    U1 => q{{"id":"0b9e2c1a-0000-4000-8000-000000000001","username":"ann@example.com","userStatus":"VERIFIED","createdAt":"2020-09-21T14:19:09.769747","updatedAt":"2021-01-01T00:00:00Z","lastLogin":"2020-09-21T14:19:09.769746"}},
    U2 => q{{"id":"1c0f3d2b-0000-4000-8000-000000000002","username":"bob@example.com","userStatus":"UNVERIFIED","createdAt":"2020-09-21T14:19:09.769748","updatedAt":"2020-09-21T14:19:09.769747Z","lastLogin":null}},
    U3 => q{{"id":"2d1a4e3c-0000-4000-8000-000000000003","username":"cid@example.com","userStatus":"BLOCKED","createdAt":"2020-09-21T14:19:09.769746","updatedAt":"2020-09-22T00:00:00Z","lastLogin":"2020-09-21T16:19:09.769747+02:00"}},
    U4 => q{{"id":"3e2b5f4d-0000-4000-8000-000000000004","username":"o'brien@example.com","userStatus":"DELETE_IN_PROGRESS","createdAt":"2020-09-21T15:00:00+02:00","updatedAt":"2020-09-21T10:00:00-05:00","lastLogin":"2019-01-01T00:00:00Z"}},
    U5 => q{{"id":"4f3c6a5e-0000-4000-8000-000000000005","username":"dee@example.com","userStatus":"DELETED","createdAt":"2020-09-21T10:00:00-05:00","updatedAt":"2020-01-01T00:00:00Z","lastLogin":"2022-02-02T02:02:02Z"}},
    U6 => q{{"id":"5a4d7b6f-0000-4000-8000-000000000006","username":"User@Example.com","userStatus":"SUSPENDED","createdAt":"2019-05-05T05:05:05Z","updatedAt":"2019-05-05T05:05:05Z","lastLogin":"2020-09-21T14:19:09.769747"}},
    U7 => q{{"id":"7600415a-8876-5722-9f3c-b0fd11112283","username":"user@example.com","userStatus":"VERIFIED","createdAt":"2018-01-01T00:00:00Z","updatedAt":"2023-03-03T03:03:03Z","lastLogin":"2020-09-21T14:19:09Z"}},
    U8 => q{{"id":"8b6f9d80-0000-4000-8000-000000000008","username":"eve@example.com","userStatus":"UNVERIFIED","createdAt":"2021-07-07T07:07:07.000001Z","updatedAt":"2021-07-07T07:07:07Z","lastLogin":null}},
    U9 => q{{"id":"9c7a0e91-0000-4000-8000-000000000009","username":"frank@example.com","userStatus":"verified","createdAt":"2020-09-21T14:19:09.769747Z","updatedAt":"2020-09-21T14:19:09.769747+00:00","lastLogin":"2020-09-21T10:00:00-05:00"}},
    U10 => q{{"id":"ad8b1fa2-0000-4000-8000-00000000000a","username":"gus@example.com","userStatus":"VERIFIED","createdAt":"2022-12-31T23:59:59.999999Z","updatedAt":"2022-12-31T23:59:59Z","lastLogin":"2020-09-21T14:19:08Z"}},
);

# GET with the filter percent-encoded (every byte but unreserved ones)
sub ::get034 {
    my ($filter, $more) = @_;
    (my $e = $filter) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return "GET /identity/v1/users?filter=$e" . ($more // '');
}

# the envelope: offset, total, then the users of the page
sub ::items034 {
    my ($offset, $total, @n) = @_;
    return qq({"offset":$offset,"count":) . scalar(@n) . qq(,"total":$total,)
         . '"items":[' . join(',', map { $U{"U$_"} } @n) . ']}';
}

sub ::bad034 {
    my ($param, $message) = @_;
    $message =~ s/(["\\])/\\$1/g;
    return qq({"error":"invalid_parameter","parameter":"$param",)
         . qq("message":"$message"});
}

our $T = '2020-09-21T14:19:09.769747';

run_tests();

__DATA__

=== TEST 0: view_all is required: without it 403 insufficient_scope (an admin role is not view_all); no token 401
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /identity/v1/users", "GET /identity/v1/users?filter=id%20eq%20'x'",
 "GET /identity/v1/users", "GET /identity/v1/users"]
--- more_headers eval
[::auth034('none'), ::auth034('none'), ::auth034('admin'), ""]
--- error_code eval
[403, 403, 403, 401]
--- response_headers eval
[('WWW-Authenticate: Bearer realm="identity", error="insufficient_scope"') x 3,
 'WWW-Authenticate: Bearer realm="identity"']
--- response_body eval
[('{"error":"insufficient_scope","message":"the token does not allow this"}') x 3,
 '{"error":"unauthorized","message":"a bearer token is required"}']
--- no_error_log
[error]



=== TEST 0b: two tenants: t034b's token lists t034b's user only
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /identity/v1/users", ::get034("username eq 'user\@example.com'")]
--- more_headers eval
::auth034('bravo')
--- response_body eval
['{"offset":0,"count":1,"total":1,"items":[{"id":"7600415a-8876-5722-9f3c-b0fd11112283","username":"bravo@b.example","userStatus":"VERIFIED","createdAt":"2020-01-01T00:00:00Z","updatedAt":"2020-01-01T00:00:00Z","lastLogin":null}]}',
 '{"offset":0,"count":0,"total":0,"items":[]}']
--- no_error_log
[error]



=== TEST 1: no parameters: everyone by id, offset 0
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::items034(0, 10, 1 .. 10)
--- no_error_log
[error]



=== TEST 2: document example: the user with a specific ID
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("id eq '7600415a-8876-5722-9f3c-b0fd11112283'")
--- response_body eval
::items034(0, 1, 7)
--- no_error_log
[error]



=== TEST 3: document example: the user with a specific username (case-sensitive)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("username eq 'user\@example.com'")
--- response_body eval
::items034(0, 1, 7)



=== TEST 4: document example: users that are not unverified
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus ne 'UNVERIFIED'")
--- response_body eval
::items034(0, 8, 1, 3, 4, 5, 6, 7, 9, 10)



=== TEST 5: document example: created after T (instants: U4 and U5 go against their text)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt gt '2020-09-21T14:19:09.769747'")
--- response_body eval
::items034(0, 4, 2, 5, 8, 10)
--- no_error_log
[error]



=== TEST 6: document example: updated after T
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("updatedAt gt '2020-09-21T14:19:09.769747'")
--- response_body eval
::items034(0, 6, 1, 3, 4, 7, 8, 10)



=== TEST 7: document example: logged in before T (never logged in: not before)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("lastLogin lt '2020-09-21T14:19:09.769747'")
--- response_body eval
::items034(0, 4, 1, 4, 7, 10)



=== TEST 8: document example: the user with a specific email
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("username eq 'user\@example.com'")
--- response_body eval
::items034(0, 1, 7)



=== TEST 9: ge
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt ge '$::T'")
--- response_body eval
::items034(0, 6, 1, 2, 5, 8, 9, 10)



=== TEST 10: lt
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt lt '$::T'")
--- response_body eval
::items034(0, 4, 3, 4, 6, 7)



=== TEST 11: le
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt le '$::T'")
--- response_body eval
::items034(0, 6, 1, 3, 4, 6, 7, 9)



=== TEST 12: eq on an instant written two ways
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt eq '$::T'")
--- response_body eval
::items034(0, 2, 1, 9)



=== TEST 13: ne
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt ne '$::T'")
--- response_body eval
::items034(0, 8, 2, 3, 4, 5, 6, 7, 8, 10)



=== TEST 14: a value with an offset is the same instant
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt eq '2020-09-21T16:19:09.769747+02:00'")
--- response_body eval
::items034(0, 2, 1, 9)



=== TEST 15: a value with a negative offset
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt gt '2020-09-21T09:00:00-05:00'")
--- response_body eval
::items034(0, 7, 1, 2, 3, 5, 8, 9, 10)



=== TEST 16: eq on a nullable timestamp stored with an offset
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("lastLogin eq '2020-09-21T14:19:09.769747Z'")
--- response_body eval
::items034(0, 2, 3, 6)



=== TEST 17: ne holds for an absent value
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("lastLogin ne '$::T'")
--- response_body eval
::items034(0, 8, 1, 2, 4, 5, 7, 8, 9, 10)



=== TEST 18: a date alone is midnight UTC
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt ge '2020-09-22'")
--- response_body eval
::items034(0, 2, 8, 10)
--- no_error_log
[error]



=== TEST 19: and
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'VERIFIED' and createdAt gt '2019-01-01T00:00:00Z'")
--- response_body eval
::items034(0, 2, 1, 10)



=== TEST 20: or
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'BLOCKED' or userStatus eq 'DELETED'")
--- response_body eval
::items034(0, 2, 3, 5)



=== TEST 21: not, with parentheses
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("not (userStatus eq 'VERIFIED')")
--- response_body eval
::items034(0, 7, 2, 3, 4, 5, 6, 8, 9)



=== TEST 22: and binds tighter than or
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'BLOCKED' or userStatus eq 'VERIFIED' and createdAt gt '$::T'")
--- response_body eval
::items034(0, 2, 3, 10)



=== TEST 23: parentheses change the grouping
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("(userStatus eq 'BLOCKED' or userStatus eq 'VERIFIED') and createdAt gt '$::T'")
--- response_body eval
::items034(0, 1, 10)



=== TEST 24: not applies to the comparison that follows it
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("not userStatus eq 'VERIFIED' and createdAt gt '$::T'")
--- response_body eval
::items034(0, 3, 2, 5, 8)



=== TEST 25: nested parentheses, not and or together
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("((not (userStatus eq 'VERIFIED' or userStatus eq 'UNVERIFIED')) and (lastLogin lt '$::T' or username eq 'dee\@example.com'))")
--- response_body eval
::items034(0, 2, 4, 5)



=== TEST 26: '' is a quote inside a string
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("username eq 'o''brien\@example.com'")
--- response_body eval
::items034(0, 1, 4)



=== TEST 27: userStatus is case-sensitive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'verified'")
--- response_body eval
::items034(0, 1, 9)



=== TEST 28: userStatus is case-sensitive: no match
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'Verified'")
--- response_body eval
::items034(0, 0)



=== TEST 29: strings compare as bytes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("username gt 'eve\@example.com'")
--- response_body eval
::items034(0, 4, 4, 7, 9, 10)



=== TEST 30: strings compare as bytes: upper case first
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("username le 'User\@Example.com'")
--- response_body eval
::items034(0, 1, 6)



=== TEST 31: lt on ids
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("id lt '3'")
--- response_body eval
::items034(0, 3, 1, 2, 3)



=== TEST 32: '+' is a space, as forms send it
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?filter=userStatus+eq+%27BLOCKED%27
--- response_body eval
::items034(0, 1, 3)



=== TEST 33: an empty filter (the documented default) filters nothing
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?filter=
--- response_body eval
::items034(0, 10, 1 .. 10)



=== TEST 34: a filter of spaces filters nothing
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?filter=%20%20
--- response_body eval
::items034(0, 10, 1 .. 10)



=== TEST 35: limit and offset
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=3&offset=2
--- response_body eval
::items034(2, 10, 3, 4, 5)



=== TEST 36: limit and offset with a filter
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus ne 'UNVERIFIED'", '&offset=3&limit=3')
--- response_body eval
::items034(3, 8, 5, 6, 7)



=== TEST 37: the last, short page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?offset=9&limit=5
--- response_body eval
::items034(9, 10, 10)



=== TEST 38: an offset at the end
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?offset=10
--- response_body eval
::items034(10, 10)



=== TEST 39: limit=1
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=1
--- response_body eval
::items034(0, 10, 1)



=== TEST 40: limit=600 (the maximum)
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=600&offset=0
--- response_body eval
::items034(0, 10, 1 .. 10)



=== TEST 41: limit=0
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=0
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body eval
::bad034('limit', 'must be an integer from 1 to 600')
--- no_error_log
[error]



=== TEST 42: limit=601
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=601
--- error_code: 400
--- response_body eval
::bad034('limit', 'must be an integer from 1 to 600')



=== TEST 43: limit not a number
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?limit=all
--- error_code: 400
--- response_body eval
::bad034('limit', 'must be an integer from 1 to 600')



=== TEST 44: a negative offset
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?offset=-1
--- error_code: 400
--- response_body eval
::bad034('offset', 'must be an integer from 0 to 1000000000')



=== TEST 45: a repeated filter
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?filter=id%20eq%20%27a%27&filter=id%20eq%20%27b%27
--- error_code: 400
--- response_body eval
::bad034('filter', 'must not be repeated')



=== TEST 46: malformed percent-encoding in the filter
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /identity/v1/users?filter=id%20eq%20%2
--- error_code: 400
--- response_body eval
::bad034('filter', 'has malformed percent-encoding')



=== TEST 47: an unknown field
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("email eq 'user\@example.com'")
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body eval
::bad034('filter', 'unknown field "email" at character 1')
--- no_error_log
[error]



=== TEST 48: field names are case-sensitive
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt gt '$::T' and userstatus eq 'VERIFIED'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'unknown field "userstatus" at character 47 (field names are case-sensitive: "userStatus")')



=== TEST 49: an unterminated string
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'VERIFIED")
--- error_code: 400
--- response_body eval
::bad034('filter', 'unterminated string starting at character 15')



=== TEST 50: an unclosed parenthesis
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("(userStatus eq 'VERIFIED'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'unclosed parenthesis at character 1')



=== TEST 51: a parenthesis too many
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'VERIFIED')")
--- error_code: 400
--- response_body eval
::bad034('filter', 'unbalanced parenthesis at character 25')



=== TEST 52: empty parentheses
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("()")
--- error_code: 400
--- response_body eval
::bad034('filter', 'expected a condition after "(", found ")" at character 2')



=== TEST 53: operators are lower-case
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus EQ 'VERIFIED'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'operators are lowercase: found "EQ" at character 12')



=== TEST 54: logical operators are lower-case
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'A' AND userStatus eq 'B'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'operators are lowercase: found "AND" at character 19')



=== TEST 55: an unknown operator
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus 'x'")
--- error_code: 400
--- response_body eval
::bad034('filter', q{expected a comparison operator (eq, ne, gt, ge, lt, le) after "userStatus", found "'x'" at character 12})



=== TEST 56: a value not in quotes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq VERIFIED")
--- error_code: 400
--- response_body eval
::bad034('filter', 'expected a quoted value after "eq", found "VERIFIED" at character 15')



=== TEST 57: a value in double quotes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034(q{userStatus eq "VERIFIED"})
--- error_code: 400
--- response_body eval
::bad034('filter', 'strings are in single quotes: found "\"VERIFIED\"" at character 15')



=== TEST 58: a comparison starting with the value
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("'x' eq userStatus")
--- error_code: 400
--- response_body eval
::bad034('filter', q{a comparison starts with a field name, as in field eq 'value': found "'x'" at character 1})



=== TEST 59: nothing after and
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'A' and")
--- error_code: 400
--- response_body eval
::bad034('filter', 'expected a condition after "and" at character 22')



=== TEST 60: nothing after not
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("not")
--- error_code: 400
--- response_body eval
::bad034('filter', 'expected a condition after "not" at character 4')



=== TEST 61: two comparisons without and/or
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("userStatus eq 'A' userStatus eq 'B'")
--- error_code: 400
--- response_body eval
::bad034('filter', q{expected "and", "or" or the end after "'A'", found "userStatus" at character 19})



=== TEST 62: a timestamp that is not one
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("createdAt gt 'yesterday'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'invalid date-time "yesterday" at character 14 (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])')



=== TEST 63: a date that does not exist
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("lastLogin lt '2020-02-30T00:00:00Z'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'invalid date-time "2020-02-30T00:00:00Z" at character 14 (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])')



=== TEST 64: a long bad value is shown cut to 20 bytes
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
::get034("updatedAt ge '2020-09-21T14:19:09.7697471234'")
--- error_code: 400
--- response_body eval
::bad034('filter', 'invalid date-time "2020-09-21T14:19:09...." at character 14 (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm])')



=== TEST 65: the largest offset, indexed and through an OData scan: the total, no items
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /identity/v1/users?offset=1000000000",
 ::get034("userStatus ne 'x'", '&offset=1000000000&limit=600'),
 ::get034("id eq '7'", '&offset=1000000000')]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::items034(1000000000, 10), ::items034(1000000000, 10),
 ::items034(1000000000, 0)]
--- no_error_log
[error]
