# GET /users as shared/seeds/001 describes it, served by the shipped
# conf/users-v1.conf (included, not copied): sort_by/sort_order, the
# metadata-gated filters and fields, user_type, status, the created_at and
# updated_at ranges, search, page/page_size, X-API-Version, a bare JSON
# array with X-Total-Count and Link headers.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(2);
no_shuffle();
no_long_string();

# Workspace t031, with the schema the comment at the top of
# conf/users-v1.conf asks for.  Twelve users:
#
#   - ben and john were created at the same instant written two ways
#     (...T00:00:00Z and ...T02:00:00+02:00), kim2 and kim too: ties on a
#     time break by id; eli 1 µs before ben, fay 1 µs after;
#   - amy's created_at has a negative offset (-01:00) that moves it into
#     2023, carl's updated_at a +05:30 one that moves it into January;
#   - "Kim Lee" / "kim lee": equal names but for case, the id decides;
#   - amy's name is lower case, eli's e-mail mixed case, Zoë and
#     Hal Ångström non-ASCII;
#   - description (not a field of the API, but searched): "Likes Zebras",
#     "Former EMPLOYEE", "100%_done", "security team";
#   - kim2's identifier appears nowhere else (identifier is not searched);
#   - eli has neither created_by nor updated_by, zoe no updated_by;
#   - every user_type and every status.

my $ws = 'users:{t031}';

redis_cmd('FCALL', 'users_schema', 1, $ws,
          'name:str,email:str,identifier:str,user_type:str,status:str,'
          . 'created_at:time,updated_at:time',
          'user_type,status', '');

for my $m (@{ redis_cmd('ZRANGE', "$ws:ix:id", 0, -1) }) {
    my ($id) = $m =~ /\0([^\0]*)\z/;
    redis_cmd('FCALL', 'users_delete', 1, $ws, $id);
}

our $A = '98d91cd7-860d-4869-937a-5af32eff2f4a';
our $B = '0b6f0e6c-2f4e-4d3c-9a55-3c1d2e4f5a6b';

our %Id = (
    ben  => 'd4add56e-c345-4ac9-b392-7a890a60559a',
    john => 'e513d2c8-319e-4bc3-898b-3933ab39b452',
    amy  => '3f2c1a00-0000-4000-8000-000000000003',
    zoe  => '7a000000-0000-4000-8000-000000000004',
    carl => 'c0000000-0000-4000-8000-000000000005',
    dana => 'da000000-0000-4000-8000-000000000006',
    eli  => 'e1000000-0000-4000-8000-000000000007',
    fay  => 'fa000000-0000-4000-8000-000000000008',
    gus  => '09000000-0000-4000-8000-000000000009',
    hal  => '4a000000-0000-4000-8000-000000000010',
    kim  => 'aaaaaaaa-0000-4000-8000-000000000011',
    kim2 => '11111111-0000-4000-8000-000000000012',
);

# identifier => [name, email, user_type, status, created_at, updated_at,
#                created_by, updated_by, description]
our %User = (
    ben  => ['Benjamin Zhang', 'ben@example.com', 'saas_admin', 'active',
             '2023-05-06T00:00:00Z', '2023-05-06T00:00:00Z', $A, $A,
             'Founder'],
    john => ['John Jiang', 'john@example.com', 'saas_user', 'onboarding',
             '2023-05-06T02:00:00+02:00', '2023-06-01T12:00:00Z', $A, $B],
    amy  => ['amy adams', 'amy@example.org', 'saas_user', 'active',
             '2022-12-31T23:30:00-01:00', '2023-01-02T00:00:00Z', $B, $B,
             'Likes Zebras'],
    zoe  => ["Zo\xc3\xab Quinn", 'zoe@example.com', 'saas_user_client',
             'suspended', '2023-07-15T08:00:00.250Z',
             '2023-07-15T08:00:00.250Z', $A, undef],
    carl => ['Carl Brandt', 'carl@example.com', 'saas_user_client', 'risky',
             '2024-01-01T00:00:00Z', '2024-02-01T00:00:00+05:30', $B, $A],
    dana => ['Dana Brandt', 'dana@example.net', 'saas_admin', 'inactive',
             '2021-03-03T03:03:03Z', '2024-03-03T00:00:00Z', $A, $A,
             'Former EMPLOYEE'],
    eli  => ['Eli Brandt', 'ELI@Example.COM', 'saas_user', 'active',
             '2023-05-05T23:59:59.999999Z', '2023-05-05T23:59:59.999999Z',
             undef, undef],
    fay  => ['Fay Ortiz', 'fay@example.com', 'saas_user', 'active',
             '2023-05-06T00:00:00.000001Z', '2025-01-01T00:00:00Z', $B, $B],
    gus  => ['Gus Ortiz', 'gus@example.com', 'saas_user_client', 'onboarding',
             '2023-09-09T09:09:09+09:00', '2023-09-09T00:09:09Z', $A, $B,
             '100%_done'],
    hal  => ["Hal \xc3\x85ngstr\xc3\xb6m", 'hal@example.com', 'saas_admin',
             'active', '2023-11-11T11:11:11Z', '2023-11-11T11:11:11Z', $B, $A,
             'security team'],
    kim  => ['Kim Lee', 'kim@example.com', 'saas_user', 'active',
             '2024-06-30T23:59:59-07:00', '2024-07-01T06:59:59Z', $A, $A],
    kim2 => ['kim lee', 'kimberly@example.com', 'saas_user', 'onboarding',
             '2024-07-01T06:59:59Z', '2024-07-01T06:59:59Z', $B, $B],
);

our (%Meta, %Plain);    # each user's JSON with / without "metadata"

for my $k (sort keys %User) {
    my ($name, $email, $type, $status, $cat, $uat, $cby, $uby, $desc)
        = @{ $User{$k} };
    my @f = (identifier => $k, name => $name, email => $email,
             user_type => $type, status => $status, created_at => $cat,
             updated_at => $uat);
    push @f, created_by => $cby if defined $cby;
    push @f, updated_by => $uby if defined $uby;
    push @f, description => $desc if defined $desc;
    redis_cmd('FCALL', 'users_upsert', 1, $ws, $Id{$k}, id => $Id{$k}, @f);

    my $s = sub { defined $_[0] ? qq{"$_[0]"} : 'null' };
    $Plain{$k} = '{' . qq{"id":"$Id{$k}","identifier":"$k","name":"$name",}
               . qq{"email":"$email","user_type":"$type","status":"$status",}
               . qq{"created_at":"$cat","updated_at":"$uat"};
    $Meta{$k} = $Plain{$k} . ',"created_by":' . $s->($cby)
              . ',"updated_by":' . $s->($uby) . '}';
    $Plain{$k} .= '}';
}

# the bodies: a bare array of these users
sub plain { '[' . join(',', map { $Plain{$_} } @_) . ']' }
sub meta  { '[' . join(',', map { $Meta{$_} } @_) . ']' }

sub bad {
    my ($param, $message, $error) = @_;
    return '{' . '"error":"' . ($error // 'invalid_parameter')
         . qq{","parameter":"$param","message":"$message"} . '}';
}

sub forbidden {
    bad($_[0], 'requires the \"metadata\" permission', 'forbidden');
}

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

our $Config = qq{
    include $FindBin::Bin/../conf/users-v1.conf;
};

# The conf has users_auth: the caller's permissions are its token's. The
# blocks of $ConfigMeta (the same conf) send a token with "metadata",
# the others one without, unless a block sends its own headers. A second
# tenant, t031b, holds one user under ben's id.
our $ConfigMeta = $Config . "    # the caller holds \"metadata\"\n";

my $wsb = 'users:{t031b}';

redis_cmd('FCALL', 'users_schema', 1, $wsb,
          'name:str,email:str,identifier:str,user_type:str,status:str,'
          . 'created_at:time,updated_at:time',
          'user_type,status', '');
redis_cmd('FCALL', 'users_upsert', 1, $wsb, $Id{ben}, id => $Id{ben},
          identifier => 'bravo', name => 'Bravo Ben',
          email => 'ben@b.example', user_type => 'saas_user',
          status => 'active', created_at => '2023-05-06T00:00:00Z',
          updated_at => '2023-05-06T00:00:00Z', created_by => $B);

our %Tok = (plain => 'uk_t031-plain', meta => 'uk_t031-metadata',
            t031b => 'uk_t031b-meta');

for my $t (['plain', 't031', ''], ['meta', 't031', 'read,metadata'],
           ['t031b', 't031b', 'metadata'])
{
    redis_cmd('HSET', 'users:token:' . sha256_hex($Tok{ $t->[0] }),
              user => $Id{ben}, ws => $t->[1], role => 'user',
              perms => $t->[2], exp => 0);
}

sub ::auth031 { "Authorization: Bearer $::Tok{$_[0]}" }

add_block_preprocessor(sub {
    my $block = shift;
    my $who = ($block->config // '') eq $::ConfigMeta ? 'meta' : 'plain';
    $block->set_value('more_headers', ::auth031($who))
        unless defined $block->more_headers;
});

our @ByCreated = qw(dana amy eli ben john fay zoe gus hal carl kim2 kim);

run_tests();

__DATA__

=== TEST 0: two tenants: t031b's token lists t031b's user only, with its metadata
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users", "GET /users?search=Benjamin", "GET /users?created_by=$::A",
 "GET /users"]
--- more_headers eval
[(::auth031('t031b')) x 3, ""]
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
[qq{[{"id":"$::Id{ben}","identifier":"bravo","name":"Bravo Ben","email":"ben\@b.example","user_type":"saas_user","status":"active","created_at":"2023-05-06T00:00:00Z","updated_at":"2023-05-06T00:00:00Z","created_by":"$::B","updated_by":null}]},
 '[]', '[]', '{"error":"unauthorized","message":"a bearer token is required"}']
--- no_error_log
[error]



=== TEST 1: the default: a bare array by created_at, no metadata fields
Created at the same instant, ben and john (and kim2 and kim) come in id
order; amy's -01:00 puts her after dana, into 2023.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users
--- error_code: 200
--- response_headers
Content-Type: application/json
X-Total-Count: 12
!Link
--- response_body eval
::plain(@::ByCreated)
--- no_error_log
[error]



=== TEST 2: the metadata permission adds created_by and updated_by (null when absent)
--- http_config eval: $::HttpConfig
--- config eval: $::ConfigMeta
--- request
GET /users
--- error_code: 200
--- response_headers
Content-Type: application/json
X-Total-Count: 12
!Link
--- response_body eval
::meta(@::ByCreated)
--- no_error_log
[error]



=== TEST 3: sort_by every field, ascending by default
Case-insensitive (amy before Benjamin; "kim lee" and "Kim Lee" by id),
times as instants (carl's +05:30 updated_at before dana's).
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?sort_by=created_at",
 "GET /users?sort_by=updated_at",
 "GET /users?sort_by=name",
 "GET /users?sort_by=email",
 "GET /users?sort_by=identifier",
 "GET /users?sort_by=user_type",
 "GET /users?sort_by=status"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::plain(@::ByCreated),
 ::plain(qw(amy eli ben john zoe gus hal carl dana kim2 kim fay)),
 ::plain(qw(amy ben carl dana eli fay gus hal john kim2 kim zoe)),
 ::plain(qw(amy ben carl dana eli fay gus hal john kim kim2 zoe)),
 ::plain(qw(amy ben carl dana eli fay gus hal john kim kim2 zoe)),
 ::plain(qw(hal ben dana kim2 amy kim eli john fay gus zoe carl)),
 ::plain(qw(amy hal kim ben eli fay dana gus kim2 john carl zoe))]
--- no_error_log
[error]



=== TEST 4: sort_order: desc reverses (ties too), asc is the default, alone it applies to created_at
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?sort_order=desc",
 "GET /users?sort_order=asc",
 "GET /users?sort_by=name&sort_order=desc",
 "GET /users?sort_order=asc&sort_by=name",
 "GET /users?sort_by=updated_at&sort_order=desc",
 "GET /users?sort_by=status&sort_order=desc"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body eval
[::plain(reverse @::ByCreated),
 ::plain(@::ByCreated),
 ::plain(qw(zoe kim kim2 john hal gus fay eli dana carl ben amy)),
 ::plain(qw(amy ben carl dana eli fay gus hal john kim2 kim zoe)),
 ::plain(qw(fay kim kim2 dana carl hal gus zoe john ben eli amy)),
 ::plain(qw(zoe carl john kim2 gus dana fay eli ben kim hal amy))]
--- no_error_log
[error]



=== TEST 5: sort_by and sort_order: unknown, signed, listed, repeated values are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?sort_by=nope",
 "GET /users?sort_by=-name",
 "GET /users?sort_by=name,email",
 "GET /users?sort_by=id",
 "GET /users?sort_by=created_by",
 "GET /users?sort_by=Name",
 "GET /users?sort_by=",
 "GET /users?sort_order=up",
 "GET /users?sort_order=DESC",
 "GET /users?sort_order=",
 "GET /users?sort_by=name&sort_by=email",
 "GET /users?sort_order=asc&sort_order=asc"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('sort_by', 'unknown sort field \"nope\"'),
 ::bad('sort_by', 'unknown sort field \"-name\"'),
 ::bad('sort_by', 'unknown sort field \"name,email\"'),
 ::bad('sort_by', 'unknown sort field \"id\"'),
 ::bad('sort_by', 'unknown sort field \"created_by\"'),
 ::bad('sort_by', 'unknown sort field \"Name\"'),
 ::bad('sort_by', 'unknown sort field \"\"'),
 ::bad('sort_order', 'must be \"asc\" or \"desc\"'),
 ::bad('sort_order', 'must be \"asc\" or \"desc\"'),
 ::bad('sort_order', 'must be \"asc\" or \"desc\"'),
 ::bad('sort_by', 'must not be repeated'),
 ::bad('sort_order', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 6: id, created_by, updated_by without the metadata permission: 403 JSON
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?id=e513d2c8-319e-4bc3-898b-3933ab39b452",
 "GET /users?created_by=$::A",
 "GET /users?updated_by=$::B",
 "GET /users?status=active&id=x"]
--- error_code eval
[403, 403, 403, 403]
--- response_headers eval
[("Content-Type: application/json\n!X-Total-Count\n!Link") x 4]
--- response_body eval
[::forbidden('id'), ::forbidden('created_by'), ::forbidden('updated_by'),
 ::forbidden('id')]
--- no_error_log
[error]



=== TEST 7: id, created_by, updated_by with the metadata permission
--- http_config eval: $::HttpConfig
--- config eval: $::ConfigMeta
--- request eval
["GET /users?id=e513d2c8-319e-4bc3-898b-3933ab39b452",
 "GET /users?id=e513d2c8",
 "GET /users?created_by=$::A",
 "GET /users?updated_by=$::B&sort_by=name",
 "GET /users?created_by=$::B&updated_by=$::A",
 "GET /users?id=x&id=y"]
--- error_code eval
[200, 200, 200, 200, 200, 400]
--- response_body eval
[::meta('john'),
 '[]',
 ::meta(qw(dana ben john zoe gus kim)),
 ::meta(qw(amy fay gus john kim2)),
 ::meta(qw(hal carl)),
 ::bad('id', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 8: user_type: each value
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?user_type=saas_admin",
 "GET /users?user_type=saas_user",
 "GET /users?user_type=saas_user_client&sort_order=desc"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Total-Count: 3", "X-Total-Count: 6", "X-Total-Count: 3"]
--- response_body eval
[::plain(qw(dana ben hal)),
 ::plain(qw(amy eli john fay kim2 kim)),
 ::plain(qw(carl gus zoe))]
--- no_error_log
[error]



=== TEST 9: status: each value
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?status=active",
 "GET /users?status=onboarding",
 "GET /users?status=inactive",
 "GET /users?status=suspended",
 "GET /users?status=risky"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
[::plain(qw(amy eli ben fay hal kim)),
 ::plain(qw(john gus kim2)),
 ::plain('dana'),
 ::plain('zoe'),
 ::plain('carl')]
--- no_error_log
[error]



=== TEST 10: user_type and status: values outside the enums are 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?user_type=admin",
 "GET /users?user_type=saas_user,saas_admin",
 "GET /users?user_type=SAAS_USER",
 "GET /users?status=deleted",
 "GET /users?status=active,risky",
 "GET /users?status=",
 "GET /users?status=active&status=risky"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('user_type', 'unknown value \"admin\"'),
 ::bad('user_type', 'unknown value \"saas_user,saas_admin\"'),
 ::bad('user_type', 'unknown value \"SAAS_USER\"'),
 ::bad('status', 'unknown value \"deleted\"'),
 ::bad('status', 'unknown value \"active,risky\"'),
 ::bad('status', 'values must be 1 to 256 bytes'),
 ::bad('status', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 11: created_at_from / created_at_to: instants, whatever the offset, bounds included
2023-05-06T00:00:00Z, 2023-05-06T02:00:00+02:00 and 2023-05-05T20:00:00-04:00
are one instant: ben's and john's creation.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?created_at_from=2023-05-06T00:00:00Z",
 "GET /users?created_at_from=2023-05-06T02:00:00%2B02:00",
 "GET /users?created_at_from=2023-05-05T20:00:00-04:00",
 "GET /users?created_at_from=2023-05-06T00:00:00.000001Z",
 "GET /users?created_at_to=2023-05-06T00:00:00Z",
 "GET /users?created_at_to=2023-05-05T23:59:59.999999Z",
 "GET /users?created_at_to=2023-01-01T00:29:59Z",
 "GET /users?created_at_to=2023-01-01T00:30:00%2B00:00",
 "GET /users?created_at_from=2023-05-06T00:00:00.000001Z&created_at_to=2024-01-01T00:00:00Z",
 "GET /users?created_at_from=2024-01-01T00:00:01Z&created_at_to=2024-01-01T00:00:00Z"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::plain(qw(ben john fay zoe gus hal carl kim2 kim)),
 ::plain(qw(ben john fay zoe gus hal carl kim2 kim)),
 ::plain(qw(ben john fay zoe gus hal carl kim2 kim)),
 ::plain(qw(fay zoe gus hal carl kim2 kim)),
 ::plain(qw(dana amy eli ben john)),
 ::plain(qw(dana amy eli)),
 ::plain(qw(dana)),
 ::plain(qw(dana amy)),
 ::plain(qw(fay zoe gus hal carl)),
 '[]']
--- no_error_log
[error]



=== TEST 12: updated_at_from / updated_at_to
carl's 2024-02-01T00:00:00+05:30 is 2024-01-31T18:30:00Z.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?updated_at_from=2024-01-31T18:30:00Z",
 "GET /users?updated_at_from=2024-01-31T18:30:00.000001Z",
 "GET /users?updated_at_to=2024-01-31T18:29:59.999999Z",
 "GET /users?updated_at_from=2024-02-01T00:00:00%2B05:30&updated_at_to=2024-07-01T06:59:59Z&sort_by=updated_at&sort_order=desc"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[::plain(qw(dana fay carl kim2 kim)),
 ::plain(qw(dana fay kim2 kim)),
 ::plain(qw(amy eli ben john zoe gus hal)),
 ::plain(qw(kim kim2 dana carl))]
--- no_error_log
[error]



=== TEST 13: dates that are not RFC 3339 date-times are 400
An unencoded '+' in a query string is a space.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?created_at_from=yesterday",
 "GET /users?created_at_to=2023-02-30T00:00:00Z",
 "GET /users?updated_at_from=2023-05-06T25:00:00Z",
 "GET /users?updated_at_to=2023-05-06T00:00Z",
 "GET /users?created_at_from=2023-05-06T00:00:00+02:00",
 "GET /users?created_at_from=1683331200",
 "GET /users?created_at_to=",
 "GET /users?created_at_from=2023-05-06T00:00:00Z&created_at_from=2023-05-07T00:00:00Z"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('created_at_from', 'must be an RFC 3339 date-time'),
 ::bad('created_at_to', 'must be an RFC 3339 date-time'),
 ::bad('updated_at_from', 'must be an RFC 3339 date-time'),
 ::bad('updated_at_to', 'must be an RFC 3339 date-time'),
 ::bad('created_at_from', 'must be an RFC 3339 date-time'),
 ::bad('created_at_from', 'must be an RFC 3339 date-time'),
 ::bad('created_at_to', 'values must be 1 to 256 bytes'),
 ::bad('created_at_from', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 14: a bare date is its midnight, UTC: from includes that instant
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?created_at_from=2023-05-06
--- response_headers
X-Total-Count: 9
--- response_body_like: ^\[\{"id":"d4add56e-c345-4ac9-b392-7a890a60559a",.*"identifier":"kim",[^\]]*\]$
--- no_error_log
[error]



=== TEST 14b: a bare date is its midnight, UTC: to includes that instant
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?updated_at_to=2023-05-06
--- response_headers
X-Total-Count: 3
--- response_body_like: ^\[\{"id":"3f2c1a00-0000-4000-8000-000000000003",.*"identifier":"eli",.*"identifier":"ben",[^\]]*\]$
--- no_error_log
[error]



=== TEST 15: RFC 3339 allows a lower-case "t" and "z"
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?created_at_from=2023-05-06t00:00:00z
--- error_code: 200
--- response_body eval
::plain(qw(ben john fay zoe gus hal carl kim2 kim))
--- no_error_log
[error]



=== TEST 16: search: case-insensitive substring of id, email, name or description
Not of identifier ("kim2"); a plain substring, not a pattern ("n.z",
"%_"); non-ASCII bytes as sent.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?search=brandt",
 "GET /users?search=BRANDT",
 "GET /users?search=EXAMPLE.COM",
 "GET /users?search=zebra",
 "GET /users?search=employee",
 "GET /users?search=E513D2C8-319E",
 "GET /users?search=kim+lee",
 "GET /users?search=kim2",
 "GET /users?search=n.z",
 "GET /users?search=%25_",
 "GET /users?search=zo%C3%AB",
 "GET /users?search=.org"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[::plain(qw(dana eli carl)),
 ::plain(qw(dana eli carl)),
 ::plain(qw(eli ben john fay zoe gus hal carl kim2 kim)),
 ::plain('amy'),
 ::plain('dana'),
 ::plain('john'),
 ::plain(qw(kim2 kim)),
 '[]',
 '[]',
 ::plain('gus'),
 ::plain('zoe'),
 ::plain('amy')]
--- no_error_log
[error]



=== TEST 17: search: empty or repeated is 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?search=", "GET /users?search=a&search=b"]
--- error_code eval
[400, 400]
--- response_body eval
[::bad('search', 'must be 1 to 256 bytes'),
 ::bad('search', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 18: page/page_size: X-Total-Count on every page, Link with next and prev
The first page's prev URL drops page; the last page has no next; a page
past the end is empty and still counted.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?page_size=5",
 "GET /users?page_size=5&page=2",
 "GET /users?page_size=5&page=3",
 "GET /users?page_size=5&page=4",
 "GET /users?page=2",
 "GET /users?page_size=12",
 "GET /users?page=1&page_size=100",
 "GET /users?page_size=5&page=2&sort_by=name&sort_order=desc"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["X-Total-Count: 12\nLink: <http://localhost/users?page_size=5&page=2>; rel=\"next\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?page_size=5&page=3>; rel=\"next\", <http://localhost/users?page_size=5>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?page_size=5&page=2>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?page_size=5&page=3>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users>; rel=\"prev\"",
 "X-Total-Count: 12\n!Link",
 "X-Total-Count: 12\n!Link",
 "X-Total-Count: 12\nLink: <http://localhost/users?page_size=5&page=3&sort_by=name&sort_order=desc>; rel=\"next\", <http://localhost/users?page_size=5&sort_by=name&sort_order=desc>; rel=\"prev\""]
--- response_body eval
[::plain(qw(dana amy eli ben john)),
 ::plain(qw(fay zoe gus hal carl)),
 ::plain(qw(kim2 kim)),
 '[]',
 '[]',
 ::plain(@::ByCreated),
 ::plain(@::ByCreated),
 ::plain(qw(gus fay eli dana carl))]
--- no_error_log
[error]



=== TEST 19: page below 1, page_size outside 1..100, not numbers, repeated: 400
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?page=0",
 "GET /users?page=-1",
 "GET /users?page=x",
 "GET /users?page_size=0",
 "GET /users?page_size=101",
 "GET /users?page_size=ten",
 "GET /users?page=1&page=2",
 "GET /users?page_size=5&page_size=5"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body eval
[::bad('page', 'must be an integer from 1 to 9007199254740991'),
 ::bad('page', 'must be an integer from 1 to 9007199254740991'),
 ::bad('page', 'must be an integer from 1 to 9007199254740991'),
 ::bad('page_size', 'must be an integer from 1 to 100'),
 ::bad('page_size', 'must be an integer from 1 to 100'),
 ::bad('page_size', 'must be an integer from 1 to 100'),
 ::bad('page', 'must not be repeated'),
 ::bad('page_size', 'must not be repeated')]
--- no_error_log
[error]



=== TEST 20: X-API-Version: v1 is the documented value
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /users?page_size=1
--- more_headers eval
"X-API-Version: v1\n" . ::auth031('plain')
--- error_code: 200
--- response_headers
X-Total-Count: 12
Link: <http://localhost/users?page_size=1&page=2>; rel="next"
--- response_body eval
::plain('dana')
--- no_error_log
[error]



=== TEST 21: X-API-Version: any other value is a 400 JSON error
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users", "GET /users", "GET /users"]
--- more_headers eval
[map { "X-API-Version: $_\n" . ::auth031('plain') } qw(v2 V1 v1.0)]
--- error_code eval
[400, 400, 400]
--- response_headers eval
[("Content-Type: application/json\n!X-Total-Count") x 3]
--- response_body eval
[('{"error":"invalid_header","parameter":"X-API-Version","message":"must be one of v1"}') x 3]
--- no_error_log
[error]



=== TEST 22: methods other than GET and HEAD are 405; HEAD has the headers
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["POST /users\n{}", "DELETE /users", "HEAD /users?page_size=2"]
--- error_code eval
[405, 405, 200]
--- response_headers eval
["Allow: GET, HEAD\nContent-Type: application/json",
 "Allow: GET, HEAD\nContent-Type: application/json",
 "Content-Type: application/json\nX-Total-Count: 12\nLink: <http://localhost/users?page_size=2&page=2>; rel=\"next\""]
--- response_body eval
['{"error":"method_not_allowed","message":"only GET and HEAD are allowed"}',
 '{"error":"method_not_allowed","message":"only GET and HEAD are allowed"}',
 '']
--- no_error_log
[error]



=== TEST 23: scan plan: user_type, two ranges, search and a sort together, a middle page
saas_user (amy eli john fay kim2 kim), created from 2022-12-31T23:00Z
(all of them), updated up to 2024-07-01T06:59:59Z (not fay), matching
"EXAMPLE"; by updated_at descending (kim before kim2: the id breaks the
tie in the sort's direction); the second page of 2.
--- http_config eval: $::HttpConfig
--- config eval: $::ConfigMeta
--- request eval
["GET /users?sort_by=updated_at&sort_order=desc&user_type=saas_user&created_at_from=2023-01-01T00:00:00%2B01:00&updated_at_to=2024-07-01T06:59:59Z&search=EXAMPLE",
 "GET /users?sort_by=updated_at&sort_order=desc&user_type=saas_user&created_at_from=2023-01-01T00:00:00%2B01:00&updated_at_to=2024-07-01T06:59:59Z&search=EXAMPLE&page_size=2&page=2",
 "GET /users?created_by=$::A&status=active&search=e"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Total-Count: 5\n!Link",
 "X-Total-Count: 5\nLink: <http://localhost/users?sort_by=updated_at&sort_order=desc&user_type=saas_user&created_at_from=2023-01-01T00:00:00%2B01:00&updated_at_to=2024-07-01T06:59:59Z&search=EXAMPLE&page_size=2&page=3>; rel=\"next\", <http://localhost/users?sort_by=updated_at&sort_order=desc&user_type=saas_user&created_at_from=2023-01-01T00:00:00%2B01:00&updated_at_to=2024-07-01T06:59:59Z&search=EXAMPLE&page_size=2>; rel=\"prev\"",
 "X-Total-Count: 2\n!Link"]
--- response_body eval
[::meta(qw(kim kim2 john eli amy)),
 ::meta(qw(john eli)),
 ::meta(qw(ben kim))]
--- no_error_log
[error]



=== TEST 24: indexed plan and scan plan give the same users in the same order
One sort and one enum value read the index ix:<sort>:status=... or
ix:<sort>:user_type=...; adding search=- (every id holds a '-') makes the
same query a users_query scan.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?sort_by=name&status=active",
 "GET /users?sort_by=name&status=active&search=-",
 "GET /users?sort_by=created_at&sort_order=desc&user_type=saas_user&page_size=4&page=2",
 "GET /users?sort_by=created_at&sort_order=desc&user_type=saas_user&page_size=4&page=2&search=-"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Total-Count: 6\n!Link", "X-Total-Count: 6\n!Link",
 "X-Total-Count: 6\nLink: <http://localhost/users?sort_by=created_at&sort_order=desc&user_type=saas_user&page_size=4>; rel=\"prev\"",
 "X-Total-Count: 6\nLink: <http://localhost/users?sort_by=created_at&sort_order=desc&user_type=saas_user&page_size=4&search=->; rel=\"prev\""]
--- response_body eval
[::plain(qw(amy ben eli fay hal kim)),
 ::plain(qw(amy ben eli fay hal kim)),
 ::plain(qw(eli amy)),
 ::plain(qw(eli amy))]
--- no_error_log
[error]



=== TEST 25: pages far past the end: 200 [] with the total, indexed or scanned
page * page_size reaches 16 digits (once a 502 from users_query, whose
counts were at most 15 digits), or 2^53 - 1 and past.
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request eval
["GET /users?page=100000000000000",
 "GET /users?search=x&page=100000000000000",
 "GET /users?search=x&page=100000000000000&page_size=100",
 "GET /users?search=x&page=9007199254740991&page_size=100",
 "GET /users?status=active&page=9007199254740991&page_size=100",
 "GET /users?search=zebra&created_at_from=2000-01-01T00:00:00Z&page=99999999999999"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["X-Total-Count: 12\nLink: <http://localhost/users?page=99999999999999>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?search=x&page=99999999999999>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?search=x&page=99999999999999&page_size=100>; rel=\"prev\"",
 "X-Total-Count: 12\nLink: <http://localhost/users?search=x&page=9007199254740990&page_size=100>; rel=\"prev\"",
 "X-Total-Count: 6\nLink: <http://localhost/users?status=active&page=9007199254740990&page_size=100>; rel=\"prev\"",
 "X-Total-Count: 1\nLink: <http://localhost/users?search=zebra&created_at_from=2000-01-01T00:00:00Z&page=99999999999998>; rel=\"prev\""]
--- response_body eval
['[]', '[]', '[]', '[]', '[]', '[]']
--- no_error_log
[error]
