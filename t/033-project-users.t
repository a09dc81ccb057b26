# shared/seeds/003 served by the shipped conf/project-users.conf:
# GET /api/v1/users (page, per_page 15/25/50/100, default 100, 422 for an
# invalid value, 400 for malformed percent-encoding), GET /api/v1/users/{id}
# and GET /api/v1/projects/{id}/users (members only, paged; 404 for an
# unknown project), expands, GET /api/v1/user (the caller), site admin
# (403 without it) and bearer tokens (401 without one).

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();

# Twenty users of workspace t033 with ids 1..20: the id order is numeric
# (2 before 10), which text order would not give. Nullable fields are set
# on some users only; groups are a comma-separated list. Projects: 1 holds
# every user but multiples of 5 (16 members: two pages of 15), 5 holds
# 2, 3, 11 and 17, 7 holds 20. Odd stored values: user 4 has type "0004"
# and groups ",3,,4," (empty items are ignored), user 12 no groups at all,
# user 7 a created_by that is not an integer, user 15 a name to escape.

my $ws = 'users:{t033}';

redis_cmd('FCALL', 'users_schema', 1, $ws, 'name:str,id:int', '',
          'groups:group,projects:project');

for my $i (1 .. 20) {
    my %u = (
        name       => "User $i",
        email      => "user$i\@example.com",
        type       => 1 + $i % 4,
        created_at => sprintf('2023-01-%02dT08:00:00Z', $i),
        groups     => join(',', grep { $i % $_ == 0 } 2, 3),
    );
    $u{created_by} = 1 if $i > 1;
    $u{role_id} = 1 + $i % 3 if $i % 6;
    $u{timezone} = 'Europe/Berlin' if $i % 3 == 0;
    if ($i % 5 == 0) {
        $u{date_format} = 'Y-m-d';
        $u{time_format} = 'H:i';
    }
    if ($i % 2 == 0) {
        $u{updated_at} = sprintf('2024-02-%02dT09:30:00+01:00', $i);
        $u{updated_by} = $i - 1;
    }
    my @p = grep { defined }
            ($i % 5 ? 1 : undef), ($i =~ /^(?:2|3|11|17)$/ ? 5 : undef),
            ($i == 20 ? 7 : undef);
    $u{projects} = join ',', @p if @p;

    if ($i == 4) { $u{groups} = ',3,,4,'; $u{type} = '0004' }
    delete $u{groups} if $i == 12;
    $u{created_by} = 'abc' if $i == 7;
    $u{name} = qq{Zo\xc3\xab "Z" O'Neil\\} if $i == 15;

    redis_cmd('FCALL', 'users_upsert', 1, $ws, $i,
              map { ($_ => $u{$_}) } sort keys %u);
}

# the objects ?expands= refers to: groups 2 and 3 (4 does not exist),
# roles 1 to 3
redis_cmd('DEL', "users:{t033}:group:$_") for 1 .. 4;
redis_cmd('HSET', 'users:{t033}:group:2', 'id', 2, 'name', 'Twos');
redis_cmd('HSET', 'users:{t033}:group:3', 'id', 3, 'name', 'Threes');
redis_cmd('HSET', 'users:{t033}:role:1', 'id', 1, 'name', 'Admin');
redis_cmd('HSET', 'users:{t033}:role:2', 'id', 2, 'name', 'Member');
redis_cmd('HSET', 'users:{t033}:role:3', 'id', 3, 'name', 'Guest');

# t033c (TEST 44 on): users 1..3 in groups 5 and 6 and project 1; group
# 6's key and user 3's hold strings (writer bugs); group 5 is "Fives"
redis_cmd('FCALL', 'users_schema', 1, 'users:{t033c}', 'name:str,id:int',
          '', 'groups:group,projects:project');
redis_cmd('DEL', map { "users:{t033c}:$_" } 'u:3', 'group:5', 'group:6');
for my $i (1 .. 3) {
    redis_cmd('FCALL', 'users_upsert', 1, 'users:{t033c}', $i, name => "B$i",
              email => "b$i\@x", type => 1, groups => '5,6', projects => 1,
              created_at => '2023-01-01T00:00:00Z');
}
redis_cmd('DEL', 'users:{t033c}:u:3');
redis_cmd('SET', 'users:{t033c}:u:3', 'notahash');
redis_cmd('HSET', 'users:{t033c}:group:5', 'id', 5, 'name', 'Fives');
redis_cmd('SET', 'users:{t033c}:group:6', 'notahash');

# a user of t033c as shown (3: its id alone), and /api/v1/users's page
sub ::c033user {
    my $i = shift;
    my ($name, $email, $type, $groups, $at) = $i == 3
        ? ('""', '""', 0, '', 'null')
        : (qq{"B$i"}, qq{"b$i\@x"}, 1, '5,6', '"2023-01-01T00:00:00Z"');
    return qq({"id":$i,"name":$name,"email":$email,"type":$type,)
         . '"timezone":null,"date_format":null,"time_format":null,'
         . qq("role_id":null,"groups":[$groups],"created_at":$at,)
         . '"created_by":null,"updated_at":null,"updated_by":null}';
}

sub ::c033 {
    return '{"page":1,"prev_page":null,"next_page":null,"last_page":1,'
         . '"per_page":100,"total":' . scalar(@_) . ',"result":['
         . join(',', map { ::c033user($_) } @_) . '],"expands":{}}';
}

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/project-users.conf;
};

# The conf has users_auth, and /api/v1/users{,/id} need site admin: every
# request carries the token of user 3, an administrator, unless a block
# sends its own headers; user 5 has no admin role or permission. A second
# tenant, t033b, holds users 1 and 3 (members of project 5), group 2.
my $wsb = 'users:{t033b}';

redis_cmd('FCALL', 'users_schema', 1, $wsb, 'name:str,id:int', '',
          'groups:group,projects:project');
for my $i (1, 3) {
    redis_cmd('FCALL', 'users_upsert', 1, $wsb, $i, name => "Bravo $i",
              email => "b$i\@b.example", type => 1, groups => 2,
              projects => 5, created_at => '2022-01-01T00:00:00Z');
}
redis_cmd('HSET', 'users:{t033b}:group:2', 'id', 2, 'name', 'Bravo twos');

our %Tok = (admin => 'uk_t033-admin-3', user => 'uk_t033-user-5',
            bravo => 'uk_t033b-admin-3', charlie => 'uk_t033c-admin-1');

for my $t (['admin', 3, 't033', 'admin', ''],
           ['user', 5, 't033', 'member', 'read,view_all'],
           ['bravo', 3, 't033b', 'user', 'admin'],
           ['charlie', 1, 't033c', 'admin', ''])
{
    my ($name, $user, $ws, $role, $perms) = @$t;
    redis_cmd('HSET', 'users:token:' . sha256_hex($Tok{$name}),
              user => $user, ws => $ws, role => $role, perms => $perms,
              exp => 0);
}

sub ::auth033 { "Authorization: Bearer $::Tok{$_[0]}" }

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('more_headers', ::auth033('admin'))
        unless defined $block->more_headers;
});

# a user of t033b as the API shows it
sub ::b033 {
    my $i = shift;
    return qq({"id":$i,"name":"Bravo $i","email":"b$i\@b.example","type":1,)
         . '"timezone":null,"date_format":null,"time_format":null,'
         . '"role_id":null,"groups":[2],"created_at":"2022-01-01T00:00:00Z",'
         . '"created_by":null,"updated_at":null,"updated_by":null}';
}

our $Scope = '{"error":"insufficient_scope","message":"the token does not allow this"}';

# the user object of user $i as the API shows it
sub ::u033 {
    my $i = shift;
    my $n = sub { defined $_[0] ? $_[0] : 'null' };
    my $s = sub { defined $_[0] ? qq("$_[0]") : 'null' };
    my $name = $i == 15 ? qq{Zo\xc3\xab \\"Z\\" O'Neil\\\\} : "User $i";
    my $type = $i == 4 ? 4 : 1 + $i % 4;
    my $groups = $i == 4 ? '3,4' : $i == 12 ? ''
               : join(',', grep { $i % $_ == 0 } 2, 3);
    my $created_by = ($i == 1 || $i == 7) ? undef : 1;
    return qq({"id":$i,"name":"$name","email":"user$i\@example.com",)
         . qq("type":$type,)
         . '"timezone":' . $s->($i % 3 ? undef : 'Europe/Berlin') . ','
         . '"date_format":' . $s->($i % 5 ? undef : 'Y-m-d') . ','
         . '"time_format":' . $s->($i % 5 ? undef : 'H:i') . ','
         . '"role_id":' . $n->($i % 6 ? 1 + $i % 3 : undef) . ','
         . qq("groups":[$groups],)
         . sprintf('"created_at":"2023-01-%02dT08:00:00Z",', $i)
         . '"created_by":' . $n->($created_by) . ','
         . '"updated_at":' . $s->($i % 2 ? undef
                     : sprintf('2024-02-%02dT09:30:00+01:00', $i)) . ','
         . '"updated_by":' . $n->($i % 2 ? undef : $i - 1) . '}';
}

# the envelope: page, prev_page, next_page, last_page, per_page, total, ids
sub ::page033 {
    my ($page, $prev, $next, $last, $per, $total, @ids) = @_;
    return qq({"page":$page,"prev_page":$prev,"next_page":$next,)
         . qq("last_page":$last,"per_page":$per,"total":$total,"result":[)
         . join(',', map { ::u033($_) } @ids) . ']}';
}

# /api/v1/users adds the expands asked for (none: an empty object)
sub ::users033 {
    my $page = ::page033(@_);
    $page =~ s/\}$/,"expands":{}}/;
    return $page;
}

sub ::bad033 {
    my ($param, $message) = @_;
    return qq({"error":"invalid_parameter","parameter":"$param",)
         . qq("message":"$message"});
}

our @Project1 = grep { $_ % 5 } 1 .. 20;

run_tests();

__DATA__

=== TEST 0: GET /api/v1/user: the caller as the document shows it, id name timezone date_format time_format
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/user", "GET /api/v1/user", "GET /api/v1/user"]
--- more_headers eval
[::auth033('admin'), ::auth033('user'), ::auth033('bravo')]
--- response_body eval
['{"id":3,"name":"User 3","timezone":"Europe/Berlin","date_format":null,"time_format":null}',
 '{"id":5,"name":"User 5","timezone":null,"date_format":"Y-m-d","time_format":"H:i"}',
 '{"id":3,"name":"Bravo 3","timezone":null,"date_format":null,"time_format":null}']
--- no_error_log
[error]



=== TEST 0b: expands is no parameter of /user and /projects/{id}/users: ignored like any unknown one
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/user?expands=bogus", "GET /api/v1/user?expands=groups",
 "GET /api/v1/projects/5/users?expands=bogus",
 "GET /api/v1/projects/5/users?expands=groups,roles&expands=x"]
--- response_body eval
['{"id":3,"name":"User 3","timezone":"Europe/Berlin","date_format":null,"time_format":null}',
 '{"id":3,"name":"User 3","timezone":"Europe/Berlin","date_format":null,"time_format":null}',
 ::page033(1, 'null', 'null', 1, 100, 4, 2, 3, 11, 17),
 ::page033(1, 'null', 'null', 1, 100, 4, 2, 3, 11, 17)]
--- no_error_log
[error]



=== TEST 0c: site admin: without it 403 on /users and /users/{id}, 200 on /user and a project; no token 401
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/users", "GET /api/v1/users/5", "GET /api/v1/users/5?expands=groups",
 "GET /api/v1/projects/7/users", "GET /api/v1/user", "GET /api/v1/user",
 "GET /api/v1/projects/7/users"]
--- more_headers eval
[(::auth033('user')) x 5, "", ""]
--- error_code eval
[403, 403, 403, 200, 200, 401, 401]
--- response_headers eval
[('WWW-Authenticate: Bearer realm="api", error="insufficient_scope"') x 3,
 ('!WWW-Authenticate') x 2, ('WWW-Authenticate: Bearer realm="api"') x 2]
--- response_body eval
[($::Scope) x 3, ::page033(1, 'null', 'null', 1, 100, 1, 20),
 '{"id":5,"name":"User 5","timezone":null,"date_format":"Y-m-d","time_format":"H:i"}',
 ('{"error":"unauthorized","message":"a bearer token is required"}') x 2]
--- no_error_log
[error]



=== TEST 0d: two tenants: t033b's token (admin as a permission) lists and expands t033b's objects only
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/users?expands=groups", "GET /api/v1/users/5",
 "GET /api/v1/projects/5/users", "GET /api/v1/projects/1/users"]
--- more_headers eval
::auth033('bravo')
--- error_code eval
[200, 404, 200, 404]
--- response_body eval
['{"page":1,"prev_page":null,"next_page":null,"last_page":1,"per_page":100,"total":2,"result":['
 . ::b033(1) . ',' . ::b033(3)
 . '],"expands":{"groups":[{"id":2,"name":"Bravo twos"}]}}',
 '{"error":"not_found","message":"no such user"}',
 '{"page":1,"prev_page":null,"next_page":null,"last_page":1,"per_page":100,"total":2,"result":['
 . ::b033(1) . ',' . ::b033(3) . ']}',
 '{"error":"not_found","message":"no such project"}']
--- no_error_log
[error]



=== TEST 1: GET /api/v1/users: everyone by numeric id, per_page 100 by default
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::users033(1, 'null', 'null', 1, 100, 20, 1 .. 20)
--- no_error_log
[error]



=== TEST 2: per_page=15: the first of two pages
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=15
--- response_body eval
::users033(1, 'null', 2, 2, 15, 20, 1 .. 15)



=== TEST 3: page=2&per_page=15: the last page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?page=2&per_page=15
--- response_body eval
::users033(2, 1, 'null', 2, 15, 20, 16 .. 20)



=== TEST 4: per_page=25
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=25&page=1
--- response_body eval
::users033(1, 'null', 'null', 1, 25, 20, 1 .. 20)



=== TEST 5: per_page=50
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=50
--- response_body eval
::users033(1, 'null', 'null', 1, 50, 20, 1 .. 20)



=== TEST 6: per_page=100
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=100
--- response_body eval
::users033(1, 'null', 'null', 1, 100, 20, 1 .. 20)



=== TEST 7: page=2 past the last page: no result, still counted
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?page=2
--- response_body eval
::users033(2, 1, 'null', 1, 100, 20)



=== TEST 8: per_page=10 is not a supported size: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=10
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body eval
::bad033('per_page', 'must be one of 15, 25, 50, 100')
--- no_error_log
[error]



=== TEST 9: per_page=20 (between supported sizes): 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=20
--- error_code: 422
--- response_body eval
::bad033('per_page', 'must be one of 15, 25, 50, 100')



=== TEST 10: per_page=200: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=200
--- error_code: 422
--- response_body eval
::bad033('per_page', 'must be one of 15, 25, 50, 100')



=== TEST 11: per_page not a number: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=all
--- error_code: 422
--- response_body eval
::bad033('per_page', 'must be one of 15, 25, 50, 100')



=== TEST 12: page=0: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?page=0
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body eval
::bad033('page', 'must be an integer from 1 to 9007199254740991')



=== TEST 13: page not a number: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?page=last
--- error_code: 422
--- response_body eval
::bad033('page', 'must be an integer from 1 to 9007199254740991')



=== TEST 14: malformed percent-encoding in a value: 400, not 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?page=%zz
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body eval
::bad033('page', 'has malformed percent-encoding')



=== TEST 15: malformed percent-encoding cut short: 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=1%5
--- error_code: 400
--- response_body eval
::bad033('per_page', 'has malformed percent-encoding')



=== TEST 16: GET /api/v1/users/{id}: the user object alone
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/2
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::u033(2) =~ s/\}\z/,"expands":{}}/r
--- no_error_log
[error]



=== TEST 17: a user with every nullable field set
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/10
--- response_body eval
::u033(10) =~ s/\}\z/,"expands":{}}/r



=== TEST 18: canonical integers, empty list items ignored
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/4
--- response_body eval
::u033(4) =~ s/\}\z/,"expands":{}}/r



=== TEST 19: no groups stored: an empty list; no timezone: null
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/12
--- response_body eval
::u033(12) =~ s/\}\z/,"expands":{}}/r



=== TEST 20: a created_by that is not an integer is null
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/7
--- response_body eval
::u033(7) =~ s/\}\z/,"expands":{}}/r



=== TEST 21: a name with quotes, a backslash and UTF-8
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/15
--- response_body eval
::u033(15) =~ s/\}\z/,"expands":{}}/r



=== TEST 22: an unknown user: 404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/99
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"not_found","message":"no such user"}
--- no_error_log
[error]



=== TEST 23: a user id that is not a number: 404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/abc
--- error_code: 404
--- response_body chomp
{"error":"not_found","message":"no such user"}



=== TEST 24: GET /api/v1/projects/{id}/users: the members only, by numeric id
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/5/users
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::page033(1, 'null', 'null', 1, 100, 4, 2, 3, 11, 17)
--- no_error_log
[error]



=== TEST 25: a project's first page of 15
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/1/users?per_page=15
--- response_body eval
::page033(1, 'null', 2, 2, 15, 16, @::Project1[0 .. 14])



=== TEST 26: a project's second page
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/1/users?per_page=15&page=2
--- response_body eval
::page033(2, 1, 'null', 2, 15, 16, 19)



=== TEST 27: a project of one member, per_page=25
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/7/users?per_page=25
--- response_body eval
::page033(1, 'null', 'null', 1, 25, 1, 20)



=== TEST 28: an unknown project: 404
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/99/users
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"not_found","message":"no such project"}
--- no_error_log
[error]



=== TEST 29: a project's users with an unsupported per_page: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/5/users?per_page=10
--- error_code: 422
--- response_body eval
::bad033('per_page', 'must be one of 15, 25, 50, 100')



=== TEST 30: a project's users with page=0: 422
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/projects/5/users?page=0
--- error_code: 422
--- response_body eval
::bad033('page', 'must be an integer from 1 to 9007199254740991')



=== TEST 40: expands=groups,roles: the objects the page's users refer to
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=15&page=2&expands=groups,roles
--- response_body eval
my $b = ::page033(2, 1, 'null', 2, 15, 20, 16 .. 20);
$b =~ s/\}$/,"expands":{"groups":[{"id":2,"name":"Twos"},{"id":3,"name":"Threes"}],"roles":[{"id":2,"name":"Member"},{"id":3,"name":"Guest"}]}}/;
$b
--- no_error_log
[error]



=== TEST 41: expands=users: the users named by created_by and updated_by
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users?per_page=15&page=2&expands=users
--- response_body eval
my $b = ::page033(2, 1, 'null', 2, 15, 20, 16 .. 20);
$b =~ s/\}$/,"expands":{"users":[{"id":1,"name":"User 1","email":"user1\@example.com"},{"id":15,"name":"Zo\xc3\xab \\"Z\\" O'Neil\\\\","email":"user15\@example.com"},{"id":17,"name":"User 17","email":"user17\@example.com"},{"id":19,"name":"User 19","email":"user19\@example.com"}]}}/;
$b



=== TEST 42: /api/v1/users/{id}?expands=groups: inside the user; group 4 does not exist
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /api/v1/users/4?expands=groups
--- response_body eval
my $u = ::u033(4);
$u =~ s/\}$/,"expands":{"groups":[{"id":3,"name":"Threes"}]}}/;
$u



=== TEST 43: an unknown expand is a 422, a repeated parameter a 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/users?expands=groups,teams", "GET /api/v1/users?expands=groups&expands=roles",
 "GET /api/v1/users/4?expands=teams"]
--- error_code eval
[422, 400, 422]
--- response_body eval
[::bad033('expands', 'unknown expand \"teams\"'),
 ::bad033('expands', 'must not be repeated'),
 ::bad033('expands', 'unknown expand \"teams\"')]




=== TEST 44: pages far past the end: 200 with the total, listed or scoped
page * per_page past 15 digits; past 2^53 - 1 rows every page is empty.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/users?page=9007199254740991",
 "GET /api/v1/users?page=100000000000000&per_page=100",
 "GET /api/v1/projects/1/users?page=9007199254740991&per_page=15",
 "GET /api/v1/projects/5/users?page=100000000000000&per_page=100"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::users033(9007199254740991, 9007199254740990, 'null', 1, 100, 20),
 ::users033(100000000000000, 99999999999999, 'null', 1, 100, 20),
 ::page033(9007199254740991, 9007199254740990, 'null', 2, 15, 16),
 ::page033(100000000000000, 99999999999999, 'null', 1, 100, 4)]
--- no_error_log
[error]



=== TEST 45: a user whose key is not a hash has its id alone; a group's is left out
t033c: user 3's key and group 6's hold strings. The list keeps user 3
(the total counts it), the expands leave group 6 out as if it did not
exist; neither fails the page. t033 is untouched.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers eval: "Authorization: Bearer $::Tok{charlie}"
--- request eval
["GET /api/v1/users?expands=groups",
 "GET /api/v1/users/3",
 "GET /api/v1/users/2?expands=groups",
 "GET /api/v1/projects/1/users"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::c033(1 .. 3) =~ s/\{\}\}\z/{"groups":[{"id":5,"name":"Fives"}]}}/r,
 ::c033user(3) =~ s/\}\z/,"expands":{}}/r,
 ::c033user(2) =~ s/\}\z/,"expands":{"groups":[{"id":5,"name":"Fives"}]}}/r,
 ::c033(1 .. 3) =~ s/,"expands":\{\}\}\z/}/r]
--- no_error_log
[crit]
[alert]
unexpected reply



=== TEST 46: GET /api/v1/users/{id} always has "expands", {} when none are asked
As the document's example shows, and as the list has it; in both
workspaces, with an empty expands= too.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/users/3", "GET /api/v1/users/3?expands=",
 "GET /api/v1/users/3?expands=roles", "GET /api/v1/users/3?per_page=15"]
--- response_body eval
[::u033(3) =~ s/\}\z/,"expands":{}}/r,
 ::u033(3) =~ s/\}\z/,"expands":{}}/r,
 ::u033(3) =~ s/\}\z/,"expands":{"roles":[{"id":1,"name":"Admin"}]}}/r,
 ::u033(3) =~ s/\}\z/,"expands":{}}/r]
--- no_error_log
[error]



=== TEST 47: a project id that is not an existing project's (abc, 01, 1.0): 404
Path ids name a project or nothing: the same answer as for an unknown
project, in either workspace.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /api/v1/projects/abc/users", "GET /api/v1/projects/01/users",
 "GET /api/v1/projects/1.0/users", "GET /api/v1/projects/-1/users"]
--- error_code eval
[404, 404, 404, 404]
--- response_body eval
[('{"error":"not_found","message":"no such project"}') x 4]
--- no_error_log
[error]
