# GET /accounts/users as shared/seeds/000 describes it, served by the shipped
# conf/accounts.conf (included, not copied): ordering, type, status, groups,
# limit/offset with next/previous, the {count,next,previous,results}
# envelope and the type of every field, 400 validation errors, 405.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();

# Workspace t030, with the schema the comment at the top of
# conf/accounts.conf asks for.  Fourteen users, chosen so that each
# assertion tells orders and filters apart:
#
#   - three Adams (1, 8, 14) and three Brown/brown (2, 10, 12): ties on
#     last_name break by id, numerically as the schema's id:int says
#     (docs/SCHEMA.md, "Sort indexes"), so 2 comes before 10;
#   - mixed case (bob, brown, adam): the order is case-insensitive;
#   - non-ASCII (Évora, Émile, Müller): UTF-8 bytes sort after ASCII;
#   - Ivy (11) has no last_name: "" and first in ascending order;
#   - Nora (15) has no status: no status filter value ever selects her;
#   - statuses active / inactive (5, 12) / invited (4, 8), types guest /
#     user, groups 3, 4 and 7;
#   - invites with an offset and with a fraction in date_created, null
#     phone/photo and bools stored as 1/0/true/false.

my $ws = 'users:{t030}';

redis_cmd('FCALL', 'users_schema', 1, $ws,
          'last_name:str,first_name:str,status:str,id:int', 'status,type',
          'groups:group');

for my $id (1 .. 20) {
    redis_cmd('FCALL', 'users_delete', 1, $ws, $id);
}

sub up {
    my ($id, %f) = @_;
    redis_cmd('FCALL', 'users_upsert', 1, $ws, $id, id => $id, %f);
}

up(1, email => 'ann@example.com', first_name => 'Ann', last_name => 'Adams',
   phone => '+1 555 0100', status => 'active', type => 'user', groups => '3',
   is_staff => 1, is_admin => 1, is_account_owner => 1);
up(2, email => 'bob@example.com', first_name => 'bob', last_name => 'Brown',
   status => 'active', type => 'guest', groups => '3,4',
   is_staff => 0, is_admin => 0, is_account_owner => 0);
up(10, email => 'cara@example.com', first_name => 'Cara', last_name => 'brown',
   status => 'active', type => 'user', groups => '4', is_staff => 'false',
   is_admin => 'true', is_account_owner => 0,
   photo => 'https://img.example.com/10.png');
up(4, email => 'dirk@example.com', first_name => 'Dirk',
   last_name => 'de Vries', status => 'invited', type => 'user',
   invite_id => 'inv-4', invite_by_username => 'ann', invite_invited_by => 1,
   invite_date_created => '2024-03-01T10:00:00+02:00',
   invite_invited_from => 'email');
up(5, email => 'eva@example.com', first_name => 'Eva',
   last_name => "\xc3\x89vora", status => 'inactive', type => 'user',
   groups => '7');
up(6, email => 'emile@example.com', first_name => "\xc3\x89mile",
   last_name => 'Zola', status => 'active', type => 'guest',
   phone => '+33 1 23 45 67 89');
up(7, email => 'finn@example.com', first_name => 'Finn',
   last_name => "O'Brien", status => 'active', type => 'user', groups => '3');
up(8, email => 'gus@example.com', first_name => 'Gus', last_name => 'Adams',
   status => 'invited', type => 'guest', groups => '4',
   invite_id => 'inv-8', invite_by_username => 'bob', invite_invited_by => 2,
   invite_date_created => '2024-02-29T23:59:59.123',
   invite_invited_from => 'google');
up(9, email => 'hana@example.com', first_name => 'Hana',
   last_name => "M\xc3\xbcller", status => 'active', type => 'user',
   is_admin => 1);
up(11, email => 'ivy@example.com', first_name => 'Ivy', status => 'active',
   type => 'user', groups => '7');
up(12, email => 'jon@example.com', first_name => 'Jon', last_name => 'Brown',
   status => 'inactive', type => 'guest', groups => '4,7');
up(13, email => 'adam@example.com', first_name => 'adam', last_name => 'Young',
   status => 'active', type => 'user');
up(14, email => 'zed@example.com', first_name => 'Zed', last_name => 'Adams',
   status => 'active', type => 'user', groups => '7');
up(15, email => 'nora@example.com', first_name => 'Nora',
   last_name => 'Nobody', type => 'user');

# Workspaces t030t and t030u (TEST 18 on): ids 7, 42, 100, 10023 and 5
# all named "Same F" in t030t (3 "Alpha F" before them, 9 "Zulu F"
# after), each named differently in t030u.
for my $w ('t030t', 't030u') {
    redis_cmd('FCALL', 'users_schema', 1, "users:{$w}",
              'last_name:str,first_name:str,status:str,id:int',
              'status,type', 'groups:group');
    for my $id (3, 5, 7, 9, 42, 100, 10023) {
        my $last = $w eq 't030u' ? "Name$id"
                 : $id == 3 ? 'Alpha' : $id == 9 ? 'Zulu' : 'Same';
        redis_cmd('FCALL', 'users_upsert', 1, "users:{$w}", $id, id => $id,
                  email => "u$id\@x", first_name => 'F', last_name => $last,
                  status => 'active', type => 'user', groups => 1);
    }
}

# a page of t030t ($w 't') or t030u ('u'), as page() below
sub ::tie030 {
    my ($w, $count, $next, $prev, @ids) = @_;
    my $url = sub {
        defined $_[0] ? qq{"http://localhost/accounts/users?$_[0]"} : 'null'
    };
    my $last = sub {
        my $id = shift;
        return $w eq 'u' ? "Name$id"
             : $id == 3 ? 'Alpha' : $id == 9 ? 'Zulu' : 'Same';
    };
    return '{' . qq{"count":$count,"next":} . $url->($next) . ',"previous":'
         . $url->($prev) . ',"results":['
         . join(',', map { u($_, "u$_\@x", 'F', $last->($_), undef, undef,
                             'active', 0, 0, 0) } @ids) . ']}';
}

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/accounts.conf;
};

# A second tenant, t030b, whose users reuse ids 1 and 2. The conf has
# users_auth: every request carries a bearer token, of a user of t030
# unless a block sends its own headers (a token record is
# users:token:<sha256 hex>, docs/SCHEMA.md).
my $wsb = 'users:{t030b}';

redis_cmd('FCALL', 'users_schema', 1, $wsb,
          'last_name:str,first_name:str,status:str,id:int', 'status,type',
          'groups:group');
redis_cmd('FCALL', 'users_delete', 1, $wsb, $_) for 1 .. 20;
for my $id (1, 2) {
    redis_cmd('FCALL', 'users_upsert', 1, $wsb, $id, id => $id,
              email => "b$id\@b.example", first_name => "Bea$id",
              last_name => 'Bravo', status => 'active', type => 'user',
              groups => '3');
}

our %Tok = (t030 => 'uk_t030-ann', t030b => 'uk_t030b-bea',
            t030t => 'uk_t030t-f', t030u => 'uk_t030u-f');

for my $ws (sort keys %Tok) {
    redis_cmd('HSET', 'users:token:' . sha256_hex($Tok{$ws}),
              user => 1, ws => $ws, role => 'user', perms => '', exp => 0);
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('more_headers', "Authorization: Bearer $::Tok{t030}")
        unless defined $block->more_headers;
});

# Each user as the API renders it.
sub u {
    my ($id, $email, $first, $last, $phone, $photo, $status, $staff, $admin,
        $owner, $invite) = @_;
    my $s = sub { defined $_[0] ? qq{"$_[0]"} : 'null' };
    my $b = sub { $_[0] ? 'true' : 'false' };
    return '{' . qq{"id":$id,"email":"$email","first_name":"$first",}
         . qq{"last_name":"$last","phone":} . $s->($phone)
         . qq{,"photo":} . $s->($photo) . qq{,"status":"$status",}
         . qq{"is_staff":} . $b->($staff) . qq{,"is_admin":} . $b->($admin)
         . qq{,"is_account_owner":} . $b->($owner)
         . qq{,"invite":} . ($invite // 'null') . '}';
}

our %U = (
    1  => u(1, 'ann@example.com', 'Ann', 'Adams', '+1 555 0100', undef,
            'active', 1, 1, 1),
    2  => u(2, 'bob@example.com', 'bob', 'Brown', undef, undef, 'active',
            0, 0, 0),
    4  => u(4, 'dirk@example.com', 'Dirk', 'de Vries', undef, undef,
            'invited', 0, 0, 0,
            '{"id":"inv-4","by_username":"ann","date_created":"2024-03-01T10:00:00+02:00","invited_by":1,"invited_from":"email"}'),
    5  => u(5, 'eva@example.com', 'Eva', "\xc3\x89vora", undef, undef,
            'inactive', 0, 0, 0),
    6  => u(6, 'emile@example.com', "\xc3\x89mile", 'Zola',
            '+33 1 23 45 67 89', undef, 'active', 0, 0, 0),
    7  => u(7, 'finn@example.com', 'Finn', "O'Brien", undef, undef,
            'active', 0, 0, 0),
    8  => u(8, 'gus@example.com', 'Gus', 'Adams', undef, undef, 'invited',
            0, 0, 0,
            '{"id":"inv-8","by_username":"bob","date_created":"2024-02-29T23:59:59.123","invited_by":2,"invited_from":"google"}'),
    9  => u(9, 'hana@example.com', 'Hana', "M\xc3\xbcller", undef, undef,
            'active', 0, 1, 0),
    10 => u(10, 'cara@example.com', 'Cara', 'brown', undef,
            'https://img.example.com/10.png', 'active', 0, 1, 0),
    11 => u(11, 'ivy@example.com', 'Ivy', '', undef, undef, 'active',
            0, 0, 0),
    12 => u(12, 'jon@example.com', 'Jon', 'Brown', undef, undef, 'inactive',
            0, 0, 0),
    13 => u(13, 'adam@example.com', 'adam', 'Young', undef, undef, 'active',
            0, 0, 0),
    14 => u(14, 'zed@example.com', 'Zed', 'Adams', undef, undef, 'active',
            0, 0, 0),
);

# the envelope: count, next, previous (URLs or null), then these users
sub page {
    my ($count, $next, $prev, @ids) = @_;
    my $url = sub {
        defined $_[0] ? qq{"http://localhost/accounts/users?$_[0]"} : 'null'
    };
    return '{' . qq{"count":$count,"next":} . $url->($next) . ',"previous":'
         . $url->($prev) . ',"results":[' . join(',', map { $U{$_} } @ids)
         . ']}';
}

sub bad {
    my ($param, $message) = @_;
    return '{' . qq{"error":"invalid_parameter","parameter":"$param",}
         . qq{"message":"$message"} . '}';
}

our $All = 'status=active,inactive,invited';

run_tests();

__DATA__

=== TEST 0: two tenants: t030b's token lists t030b's users only; no token is a 401
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?$::All&limit=100", "GET /accounts/users?groups=3",
 "GET /accounts/users"]
--- more_headers eval
["Authorization: Bearer $::Tok{t030b}", "Authorization: Bearer $::Tok{t030b}",
 ""]
--- error_code eval
[200, 200, 401]
--- response_body eval
[('{"count":2,"next":null,"previous":null,"results":['
  . ::u(1, 'b1@b.example', 'Bea1', 'Bravo', undef, undef, 'active', 0, 0, 0)
  . ',' . ::u(2, 'b2@b.example', 'Bea2', 'Bravo', undef, undef, 'active',
              0, 0, 0) . ']}') x 2,
 '{"error":"unauthorized","message":"a bearer token is required"}']
--- no_error_log
[error]



=== TEST 1: the default: active users by last_name, ties by id, every field typed
The nine active users; Ivy's null last_name first; the case-insensitive
Brown/brown tie broken by id, numerically (2 < 10); Évora (inactive), Nora
(no status) and the invited users are left out.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6)
--- no_error_log
[error]



=== TEST 2: ordering: '-' inverts, first_name, status over every status
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?ordering=last_name",
 "GET /accounts/users?ordering=-last_name",
 "GET /accounts/users?ordering=first_name",
 "GET /accounts/users?ordering=-first_name",
 "GET /accounts/users?ordering=status&$::All",
 "GET /accounts/users?ordering=-status&$::All",
 "GET /accounts/users?ordering=-last_name&$::All"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6),
 ::page(9, undef, undef, 6, 13, 7, 9, 10, 2, 14, 1, 11),
 ::page(9, undef, undef, 13, 1, 2, 10, 7, 9, 11, 14, 6),
 ::page(9, undef, undef, 6, 14, 11, 9, 7, 10, 2, 1, 13),
 ::page(13, undef, undef, 1, 2, 6, 7, 9, 10, 11, 13, 14, 5, 12, 4, 8),
 ::page(13, undef, undef, 8, 4, 12, 5, 14, 13, 11, 10, 9, 7, 6, 2, 1),
 ::page(13, undef, undef, 5, 6, 13, 7, 9, 4, 12, 10, 2, 14, 8, 1, 11)]
--- no_error_log
[error]



=== TEST 3: ordering by several fields, each with its own direction
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?ordering=status,-last_name&$::All",
 "GET /accounts/users?ordering=last_name,first_name&$::All",
 "GET /accounts/users?ordering=-last_name,first_name&$::All",
 "GET /accounts/users?ordering=first_name,-status&$::All"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::page(13, undef, undef, 6, 13, 7, 9, 10, 2, 14, 1, 11, 5, 12, 4, 8),
 ::page(13, undef, undef, 11, 1, 8, 14, 2, 10, 12, 4, 9, 7, 13, 6, 5),
 ::page(13, undef, undef, 5, 6, 13, 7, 9, 4, 2, 10, 12, 1, 8, 14, 11),
 ::page(13, undef, undef, 13, 1, 2, 10, 4, 5, 7, 8, 9, 11, 12, 14, 6)]
--- no_error_log
[error]



=== TEST 4: ordering: unknown, repeated, empty and malformed fields are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?ordering=email",
 "GET /accounts/users?ordering=id",
 "GET /accounts/users?ordering=Last_name",
 "GET /accounts/users?ordering=last_name,last_name",
 "GET /accounts/users?ordering=-status,status",
 "GET /accounts/users?ordering=",
 "GET /accounts/users?ordering=last_name,",
 "GET /accounts/users?ordering=--last_name",
 "GET /accounts/users?ordering=last_name&ordering=status"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('ordering', 'unknown sort field \"email\"'),
 ::bad('ordering', 'unknown sort field \"id\"'),
 ::bad('ordering', 'unknown sort field \"Last_name\"'),
 ::bad('ordering', 'sort field \"last_name\" is repeated'),
 ::bad('ordering', 'sort field \"status\" is repeated'),
 ::bad('ordering', 'unknown sort field \"\"'),
 ::bad('ordering', 'unknown sort field \"\"'),
 ::bad('ordering', 'unknown sort field \"-last_name\"'),
 ::bad('ordering', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 5: status: one value, several comma-separated values
inactive are the deleted users; invited have an invite object.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?status=inactive",
 "GET /accounts/users?status=invited",
 "GET /accounts/users?status=invited,inactive",
 "GET /accounts/users?status=active",
 "GET /accounts/users?status=active,active"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
[::page(2, undef, undef, 12, 5),
 ::page(2, undef, undef, 8, 4),
 ::page(4, undef, undef, 8, 12, 4, 5),
 ::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6),
 ::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6)]
--- no_error_log
[error]



=== TEST 6: status: values outside active,inactive,invited are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?status=deleted",
 "GET /accounts/users?status=Active",
 "GET /accounts/users?status=active,pending",
 "GET /accounts/users?status=",
 "GET /accounts/users?status=active,",
 "GET /accounts/users?status=active&status=invited"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('status', 'unknown value \"deleted\"'),
 ::bad('status', 'unknown value \"Active\"'),
 ::bad('status', 'unknown value \"pending\"'),
 ::bad('status', 'values must be 1 to 256 bytes'),
 ::bad('status', 'values must be 1 to 256 bytes'),
 ::bad('status', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 7: type: guest, user, both; still only active users by default
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?type=guest",
 "GET /accounts/users?type=user",
 "GET /accounts/users?type=guest,user",
 "GET /accounts/users?type=guest&$::All",
 "GET /accounts/users?type=user&status=invited,inactive&ordering=-first_name"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
[::page(2, undef, undef, 2, 6),
 ::page(7, undef, undef, 11, 1, 14, 10, 9, 7, 13),
 ::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6),
 ::page(4, undef, undef, 8, 2, 12, 6),
 ::page(2, undef, undef, 5, 4)]
--- no_error_log
[error]



=== TEST 8: type: unknown values are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?type=admin",
 "GET /accounts/users?type=guest,User",
 "GET /accounts/users?type=",
 "GET /accounts/users?type=user&type=guest"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[::bad('type', 'unknown value \"admin\"'),
 ::bad('type', 'unknown value \"User\"'),
 ::bad('type', 'values must be 1 to 256 bytes'),
 ::bad('type', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 9: groups: users in any of the groups, with the other filters
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?groups=3",
 "GET /accounts/users?groups=3,7",
 "GET /accounts/users?groups=7&status=inactive",
 "GET /accounts/users?groups=4&$::All&ordering=-first_name",
 "GET /accounts/users?groups=99",
 "GET /accounts/users?groups=4&type=user&status=invited"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body eval
[::page(3, undef, undef, 1, 2, 7),
 ::page(5, undef, undef, 11, 1, 14, 2, 7),
 ::page(2, undef, undef, 12, 5),
 ::page(4, undef, undef, 12, 8, 10, 2),
 ::page(0, undef, undef),
 ::page(0, undef, undef)]
--- no_error_log
[error]



=== TEST 10: groups: empty and repeated are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?groups=",
 "GET /accounts/users?groups=3,",
 "GET /accounts/users?groups=3&groups=4"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[::bad('groups', 'values must be 1 to 256 bytes'),
 ::bad('groups', 'values must be 1 to 256 bytes'),
 ::bad('groups', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 11: limit/offset: pages with next and previous URLs
The first page's previous is null, the last page's next is null; a
previous step that reaches offset 0 drops the offset.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?limit=4",
 "GET /accounts/users?limit=4&offset=4",
 "GET /accounts/users?limit=4&offset=8",
 "GET /accounts/users?offset=3&limit=4&ordering=-first_name",
 "GET /accounts/users?offset=0&limit=9",
 "GET /accounts/users?offset=100",
 "GET /accounts/users?limit=100&offset=8"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::page(9, 'limit=4&offset=4', undef, 11, 1, 14, 2),
 ::page(9, 'limit=4&offset=8', 'limit=4', 10, 9, 7, 13),
 ::page(9, undef, 'limit=4&offset=4', 6),
 ::page(9, 'offset=7&limit=4&ordering=-first_name',
        'limit=4&ordering=-first_name', 9, 7, 10, 2),
 ::page(9, undef, undef, 11, 1, 14, 2, 10, 9, 7, 13, 6),
 ::page(9, undef, 'offset=80'),
 ::page(9, undef, 'limit=100', 6)]
--- no_error_log
[error]



=== TEST 12: limit and offset out of range, not numbers, repeated: 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?limit=0",
 "GET /accounts/users?limit=101",
 "GET /accounts/users?limit=ten",
 "GET /accounts/users?limit=-1",
 "GET /accounts/users?offset=-1",
 "GET /accounts/users?offset=x",
 "GET /accounts/users?limit=2&limit=3",
 "GET /accounts/users?offset=1&offset=1"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('limit', 'must be an integer from 1 to 100'),
 ::bad('limit', 'must be an integer from 1 to 100'),
 ::bad('limit', 'must be an integer from 1 to 100'),
 ::bad('limit', 'must be an integer from 1 to 100'),
 ::bad('offset', 'must be an integer from 0 to 1000000000'),
 ::bad('offset', 'must be an integer from 0 to 1000000000'),
 ::bad('limit', 'must not be repeated'),
 ::bad('offset', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 13: a 400 is JSON
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /accounts/users?status=gone
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body eval
::bad('status', 'unknown value \"gone\"')
--- no_error_log
[error]



=== TEST 14: methods other than GET and HEAD are 405
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["POST /accounts/users\n{}", "PUT /accounts/users\n{}",
 "DELETE /accounts/users", "PATCH /accounts/users\n{}"]
--- error_code eval
[405, 405, 405, 405]
--- response_headers eval
["Allow: GET, HEAD\nContent-Type: application/json",
 "Allow: GET, HEAD\nContent-Type: application/json",
 "Allow: GET, HEAD\nContent-Type: application/json",
 "Allow: GET, HEAD\nContent-Type: application/json"]
--- response_body eval
[('{"error":"method_not_allowed","message":"only GET and HEAD are allowed"}') x 4]
--- no_error_log
[error]



=== TEST 15: HEAD: the headers of the GET, no body
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
HEAD /accounts/users?status=invited
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body
--- no_error_log
[error]



=== TEST 16: scan plan: status, type and groups together, two orderings, a middle page
users_query evaluates every filter: groups 4 or 7 (2, 5, 8, 10, 11, 12,
14), any type, active or invited (not 5, 12); ordered by status, then
first_name descending; the page at offset 2 of 2.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?status=active,invited&type=guest,user&groups=4,7&ordering=status,-first_name",
 "GET /accounts/users?status=active,invited&type=guest,user&groups=4,7&ordering=status,-first_name&limit=2&offset=2",
 "GET /accounts/users?status=active,invited&type=user&groups=3,4&ordering=-first_name&limit=2&offset=1"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::page(5, undef, undef, 14, 11, 10, 2, 8),
 ::page(5, 'status=active,invited&type=guest,user&groups=4,7&ordering=status,-first_name&limit=2&offset=4',
        'status=active,invited&type=guest,user&groups=4,7&ordering=status,-first_name&limit=2',
        10, 2),
 ::page(3, undef,
        'status=active,invited&type=user&groups=3,4&ordering=-first_name&limit=2',
        10, 1)]
--- no_error_log
[error]



=== TEST 17: indexed plan and scan plan give the same users in the same order
One sort and the single status value (the default, or inactive) read the
restricted index ix:first_name:status=...; adding type=guest,user (every
user has a type) makes the same query a users_query scan.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?ordering=first_name",
 "GET /accounts/users?ordering=first_name&type=guest,user",
 "GET /accounts/users?ordering=-first_name&status=inactive&limit=1&offset=1",
 "GET /accounts/users?ordering=-first_name&status=inactive&limit=1&offset=1&type=user,guest",
 "GET /accounts/users?ordering=-last_name&status=invited",
 "GET /accounts/users?ordering=-last_name&status=invited&type=user,guest"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body eval
[::page(9, undef, undef, 13, 1, 2, 10, 7, 9, 11, 14, 6),
 ::page(9, undef, undef, 13, 1, 2, 10, 7, 9, 11, 14, 6),
 ::page(2, undef, 'ordering=-first_name&status=inactive&limit=1', 5),
 ::page(2, undef, 'ordering=-first_name&status=inactive&limit=1&type=user,guest', 5),
 ::page(2, undef, undef, 4, 8),
 ::page(2, undef, undef, 4, 8)]
--- no_error_log
[error]




=== TEST 18: groups are integers (seed 000: identified by id): anything else is a 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?groups=abc", "GET /accounts/users?groups=1;2",
 "GET /accounts/users?groups=3,x", "GET /accounts/users?groups=1.5",
 "GET /accounts/users?groups=%2B3", "GET /accounts/users?groups=3%20",
 "GET /accounts/users?groups=99999999999999999999",
 "GET /accounts/users?groups=%7B3%7D"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[map { ::bad('groups', "invalid integer \\\"$_\\\"") }
     'abc', '1;2', 'x', '1.5', '+3', '3 ', '99999999999999999999', '{3}']
--- no_error_log
[error]



=== TEST 19: integer group ids as written: leading zeros, signs, 19 digits
007 is group 7 (active members 11 and 14); 0003,07 are 3 and 7; -3 and a
19-digit id are integers that no group has. Links keep what was sent.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?groups=007", "GET /accounts/users?groups=0003,07",
 "GET /accounts/users?groups=-3", "GET /accounts/users?groups=9999999999999999999",
 "GET /accounts/users?groups=007&limit=1"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
[::page(2, undef, undef, 11, 14),
 ::page(5, undef, undef, 11, 1, 14, 2, 7),
 ::page(0, undef, undef),
 ::page(0, undef, undef),
 ::page(2, 'groups=007&limit=1&offset=1', undef, 11)]
--- no_error_log
[error]



=== TEST 20: offsets at the maximum, indexed and scanned: the total, no rows
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /accounts/users?offset=1000000000",
 "GET /accounts/users?offset=1000000000&groups=3",
 "GET /accounts/users?offset=1000000000&limit=100&type=user,guest"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[::page(9, undef, 'offset=999999980'),
 ::page(3, undef, 'offset=999999980&groups=3'),
 ::page(9, undef, 'offset=999999900&limit=100&type=user,guest')]
--- no_error_log
[error]



=== TEST 21: ids are integers (id:int): ties break numerically, both ways, across pages
Five users named "Same F": 5, 7, 42, 100, 10023 (by bytes it was 100,
10023, 42, 5, 7). Index (one key), restricted index, and users_query
(two keys; a filter on type) agree. t030u, the same ids named otherwise,
orders by name.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers eval: "Authorization: Bearer $::Tok{t030t}"
--- request eval
["GET /accounts/users",
 "GET /accounts/users?ordering=-last_name",
 "GET /accounts/users?ordering=last_name,first_name&type=user,guest",
 "GET /accounts/users?ordering=-last_name,-first_name&type=user,guest",
 "GET /accounts/users?limit=2",
 "GET /accounts/users?limit=2&offset=2",
 "GET /accounts/users?limit=2&offset=4",
 "GET /accounts/users?limit=2&offset=6",
 "GET /accounts/users?ordering=-last_name&limit=3&offset=1",
 "GET /accounts/users?ordering=first_name,-last_name&groups=1&limit=3&offset=3"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::tie030('t', 7, undef, undef, 3, 5, 7, 42, 100, 10023, 9),
 ::tie030('t', 7, undef, undef, 9, 10023, 100, 42, 7, 5, 3),
 ::tie030('t', 7, undef, undef, 3, 5, 7, 42, 100, 10023, 9),
 ::tie030('t', 7, undef, undef, 9, 10023, 100, 42, 7, 5, 3),
 ::tie030('t', 7, 'limit=2&offset=2', undef, 3, 5),
 ::tie030('t', 7, 'limit=2&offset=4', 'limit=2', 7, 42),
 ::tie030('t', 7, 'limit=2&offset=6', 'limit=2&offset=2', 100, 10023),
 ::tie030('t', 7, undef, 'limit=2&offset=4', 9),
 ::tie030('t', 7, 'ordering=-last_name&limit=3&offset=4',
          'ordering=-last_name&limit=3', 10023, 100, 42),
 ::tie030('t', 7, 'ordering=first_name,-last_name&groups=1&limit=3&offset=6',
          'ordering=first_name,-last_name&groups=1&limit=3', 42, 7, 5)]
--- no_error_log
[error]



=== TEST 22: the other workspace, the same ids: its own names decide
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers eval: "Authorization: Bearer $::Tok{t030u}"
--- request eval
["GET /accounts/users", "GET /accounts/users?ordering=-last_name&limit=3"]
--- response_body eval
[::tie030('u', 7, undef, undef, 100, 10023, 3, 42, 5, 7, 9),
 ::tie030('u', 7, 'ordering=-last_name&limit=3&offset=3', undef, 9, 7, 5)]
--- no_error_log
[error]



=== TEST 23: kind= of a member filter is the type of its ids: str or int
--- http_config eval: $::HttpConfig
--- config
    location = /g {
        users_list;
        users_workspace t030;
        users_field id int;
        users_filter groups member field=group kind=time;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"users_filter" directive takes "kind=str" or "kind=int" with "member" in .*nginx\.conf:\d+/
