# redis/users.lua: index contents, moves, deletes, rebuilds, validation and
# the int/time encodings, checked key by key over raw RESP.
#
# Needs TEST_NGINX_REDIS_PORT: a Redis 7 with redis/users.lua loaded.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use UsersData qw(redis cmd ws_keys ws_clean upsert);

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set'
    unless $ENV{TEST_NGINX_REDIS_PORT};

my $r = redis();
my $ws = 't050';
my $B = "users:{$ws}";

ws_clean($r, $_) for $ws, 't050time', 't050int';

sub zr { cmd($r, 'ZRANGE', "$B:ix:$_[0]", 0, -1) }
sub sm { [ sort @{ cmd($r, 'SMEMBERS', "$B:$_[0]") } ] }
sub ver { cmd($r, 'HGET', "$B:meta", 'ver') }
sub consistent {
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $B), [], "$_[0]: check");
}
sub hash {
    my %h = @{ cmd($r, 'HGETALL', $_[0]) };
    return \%h;
}
sub i19 { ($_[0] < 0 ? '0' : '1') . sprintf('%019s', $_[1]) }

# --- schema on an empty workspace, three users ----------------------------

is(cmd($r, 'FCALL', 'users_schema', 1, $B,
       'last_name:str,created_at:time,n:int', 'status,type', 'groups:group'),
   0, 'schema: no users to reindex');

is(upsert($r, $ws, 'u1', last_name => 'Smith', status => 'active',
          type => 'user', groups => 'g1,g2', n => -5,
          created_at => '2020-01-01T00:00:00Z'), 1, 'u1 created');
is(upsert($r, $ws, 'u2', last_name => 'adams', status => 'invited',
          type => 'guest', groups => 'g2', n => 7,
          created_at => '2020-01-01T01:00:00+01:00'), 1, 'u2 created');
is(upsert($r, $ws, 'u3', status => 'active', n => 0), 1, 'u3 created');

is_deeply(zr('id'), ["u1\0u1", "u2\0u2", "u3\0u3"], 'ix:id');
is_deeply(zr('last_name'), ["\0u3", "adams\0u2", "smith\0u1"],
          'ix:last_name: lower-cased, null first');
is_deeply(zr('last_name:status=active'), ["\0u3", "smith\0u1"],
          'ix:last_name:status=active');
is_deeply(zr('last_name:type=guest'), ["adams\0u2"], 'ix:last_name:type=guest');
is_deeply(zr('id:status=invited'), ["u2\0u2"], 'ix:id:status=invited');
is_deeply(zr('n'), ['0' . '9999999999999999995' . "\0u1",
                    '1' . '0' x 19 . "\0u3",
                    '1' . '0' x 18 . "7\0u2"], 'ix:n');
is_deeply(zr('created_at'), ["\0u3", i19(1, '1577836800000000') . "\0u1",
                             i19(1, '1577836800000000') . "\0u2"],
          'ix:created_at: +01:00 equals Z, ties by id');
is_deeply(sm('m:group'), ['g1', 'g2'], 'm:group');
is_deeply(sm('m:group:g2'), ['u1', 'u2'], 'm:group:g2');
is_deeply(hash("$B:u:u1"), { id => 'u1', last_name => 'Smith',
                             status => 'active', type => 'user',
                             groups => 'g1,g2', n => -5,
                             created_at => '2020-01-01T00:00:00Z' },
          'hash u1: exactly the given fields plus id');
is(cmd($r, 'ZSCORE', "$B:ix:last_name", "smith\0u1"), 0, 'score 0');
is(ver(), 4, 'ver counts the schema and three upserts');
consistent('after inserts');

# --- an update moves the user in every index --------------------------------

is(upsert($r, $ws, 'u1', last_name => 'Brown', status => 'inactive',
          type => 'user', groups => 'g2'), 0, 'u1 updated');

is_deeply(zr('last_name'), ["\0u3", "adams\0u2", "brown\0u1"],
          'ix:last_name moved');
is_deeply(zr('last_name:status=active'), ["\0u3"], 'left status=active');
is_deeply(zr('last_name:status=inactive'), ["brown\0u1"],
          'joined status=inactive');
is_deeply(zr('n'), ["\0u1", '1' . '0' x 19 . "\0u3",
                    '1' . '0' x 18 . "7\0u2"], 'ix:n: u1 now null');
is_deeply(sm('m:group'), ['g2'], 'g1 no longer exists');
is_deeply(hash("$B:u:u1"), { id => 'u1', last_name => 'Brown',
                             status => 'inactive', type => 'user',
                             groups => 'g2' }, 'hash u1 replaced');

my @stale = grep {
    my $k = $_;
    cmd($r, 'TYPE', $k) eq 'zset'
        && grep { /^smith/ || ($k =~ /status=active/ && /\0u1\z/) }
               @{ cmd($r, 'ZRANGE', $k, 0, -1) }
} ws_keys($r, $ws);
is_deeply(\@stale, [], 'no old member of u1 anywhere');

is_deeply([ ws_keys($r, $ws) ], [ sort map { "$B:$_" }
    'meta', 'u:u1', 'u:u2', 'u:u3', 'm:group', 'm:group:g2',
    map({ my $s = $_; ("ix:$s", "ix:$s:status=active",
                       "ix:$s:status=inactive", "ix:$s:status=invited",
                       "ix:$s:type=user", "ix:$s:type=guest") }
        qw(id last_name created_at n)) ], 'exact key set after the update');
consistent('after the update');

# --- validation: a failing call writes nothing ------------------------------

my @before = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws);

for my $case (
    [ [ 'u1', 'last_name' ], qr/odd number of field\/value arguments/ ],
    [ [ '' ], qr/empty user id/ ],
    [ [ "u\0x", 'a', 'b' ], qr/user id contains a NUL/ ],
    [ [ 'u1', n => '1.5' ], qr/field "n" of user "u1" is not an integer/ ],
    [ [ 'u1', n => '12345678901234567890' ], qr/is not an integer/ ],
    [ [ 'u9', created_at => '2020-02-30T00:00:00Z' ],
      qr/field "created_at" of user "u9" is not an RFC 3339 timestamp/ ],
    [ [ 'u9', created_at => '2020-01-01T00:00:00+1:00' ], qr/RFC 3339/ ],
    [ [ 'u9', created_at => 'yesterday' ], qr/RFC 3339/ ],
    [ [ 'u1', id => 'u2' ], qr/field id "u2" differs/ ],
    [ [ 'u1', '' => 'x' ], qr/empty field name/ ],
) {
    my ($args, $re) = @$case;
    my $res = upsert($r, $ws, @$args);
    like(ref $res eq 'HASH' ? $res->{err} : "no error: $res", $re,
         "upsert error $re");
}

like(cmd($r, 'FCALL', 'users_upsert', 1, 'users:{a:b}', 'x')->{err},
     qr/invalid workspace key/, 'bad workspace key');
like(cmd($r, 'FCALL', 'users_schema', 1, $B, 'n:float', '', '')->{err},
     qr/invalid sort item "n:float"/, 'bad sort kind');
like(cmd($r, 'FCALL', 'users_schema', 1, $B, 'status:str', 'status',
         'status:x')->{err}, qr/member field "status"/, 'field used twice');
like(cmd($r, 'FCALL', 'users_schema', 1, $B, 'last_name:int', '', '')->{err},
     qr/field "last_name" of user "u1" is not an integer/,
     'schema checks every user first');
like(cmd($r, 'FCALL', 'users_delete', 1, $B, 'u1', 'u2')->{err},
     qr/expected one user id/, 'delete takes one id');
like(cmd($r, 'FCALL_RO', 'users_validate', 1, $B, 'u1', n => 'x')->{err},
     qr/not an integer/, 'users_validate reports the upsert error');
is(cmd($r, 'FCALL_RO', 'users_validate', 1, $B, 'u1', n => '1'), 'OK',
   'users_validate accepts a good user');

is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws) ], \@before,
          'failed calls changed no key');

# --- schema rebuild ----------------------------------------------------------

upsert($r, $ws, 'u4', first_name => 'Zed', type => 'user', status => 'active',
       projects => 'p1');
is(cmd($r, 'FCALL', 'users_schema', 1, $B, 'first_name:str', 'type',
       'projects:project'), 4, 'rebuild reindexes 4 users');

is_deeply([ ws_keys($r, $ws) ], [ sort map { "$B:$_" }
    'meta', 'u:u1', 'u:u2', 'u:u3', 'u:u4', 'm:project', 'm:project:p1',
    'ix:id', 'ix:id:type=user', 'ix:id:type=guest',
    'ix:first_name', 'ix:first_name:type=user', 'ix:first_name:type=guest' ],
    'old indexes and memberships gone, new ones built');
is_deeply(zr('first_name:type=user'), ["\0u1", "zed\0u4"],
          'ix:first_name:type=user');
is_deeply(sm('m:project:p1'), ['u4'], 'm:project:p1');
is_deeply(hash("$B:meta"), { sort => 'first_name:str', enum => 'type',
                             member => 'projects:project', format => 2,
                             ver => 7 },
          'meta holds the spec');
consistent('after the rebuild');

# --- delete leaves nothing ----------------------------------------------------

is(cmd($r, 'FCALL', 'users_delete', 1, $B, $_), 1, "delete $_")
    for qw(u1 u2 u3 u4);
is(cmd($r, 'FCALL', 'users_delete', 1, $B, 'u1'), 0, 'delete again: 0');
is_deeply([ ws_keys($r, $ws) ], [ "$B:meta" ], 'only meta remains');

# --- time encoding -------------------------------------------------------------

{
    my $T = 'users:{t050time}';
    cmd($r, 'FCALL', 'users_schema', 1, $T, 'at:time', '', '');

    my %at = (
        a => '2019-12-31T23:59:59.999999Z',
        b => '2020-01-01T01:00:00+01:00',
        c => '2020-01-01T00:00:00Z',
        d => '2019-12-31T19:00:00.0000019-05:00',
        e => '1969-12-31T23:59:59.5Z',
        f => '1960-01-01T00:00:00Z',
        g => '2020-01-01 00:00:00',
        h => '1970-01-01T00:00:00z',
        i => '2020-01-01T00:00:00.000001Z',
    );
    upsert($r, 't050time', $_, at => $at{$_}) for sort keys %at;
    upsert($r, 't050time', 'z');

    my $ix = cmd($r, 'ZRANGE', "$T:ix:at", 0, -1);
    is_deeply([ map { /\0(.*)/; $1 } @$ix ],
              [ qw(z f e h a b c g d i) ], 'instants ordered across offsets');

    my %key = map { /\A(.*)\0(.*)\z/s; ($2, $1) } @$ix;
    is($key{b}, $key{c}, '+01:00 equals Z');
    is($key{c}, $key{g}, 'no offset is UTC');
    is($key{d}, $key{i}, 'fraction truncated to microseconds');
    is($key{c}, i19(1, '1577836800000000'), 'encoding of 2020-01-01');
    is($key{e}, i19(-1, '9999999999999500000'), 'encoding of -0.5 s');
    is($key{h}, i19(1, '0'), 'encoding of the epoch');
    is($key{f}, i19(-1, '9999684380800000000'), 'encoding of 1960');
    is($key{z}, '', 'null is the empty key');

    ws_clean($r, 't050time');
}

# --- int encoding ----------------------------------------------------------------

{
    my $I = 'users:{t050int}';
    my @v = ('-9223372036854775808', '-10', '-1', '0', '-0', '007', '10',
             '9999999999999999999', '-9999999999999999999');
    cmd($r, 'FCALL', 'users_schema', 1, $I, 'v:int', '', '');

    upsert($r, 't050int', "k$_", v => $v[$_]) for 0 .. $#v;
    upsert($r, 't050int', 'knull');

    my $ix = cmd($r, 'ZRANGE', "$I:ix:v", 0, -1);
    is_deeply([ map { /\0(.*)/; $1 } @$ix ],
              [ qw(knull k8 k0 k1 k2 k3 k4 k5 k6 k7) ],
              'negatives, zero, positives, null first');
    is($ix->[1], i19(-1, '0000000000000000001') . "\0k8", 'most negative');
    is($ix->[3], i19(-1, '9999999999999999990') . "\0k1", '-10');
    is($ix->[5], i19(1, '0') . "\0k3", '0');
    is($ix->[7], i19(1, '7') . "\0k5", 'leading zeros dropped');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:v", '+', '-', 'BYLEX', 'REV',
                  'LIMIT', 0, 1), [ i19(1, '9' x 19) . "\0k7" ],
              'REV starts at the largest');

    ws_clean($r, 't050int');
    cmd($r, 'FCALL', 'users_schema', 1, $I, 'id:int', '', '');
    upsert($r, 't050int', $_) for qw(10 9 -1);
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:id", 0, -1),
              [ i19(-1, '9' x 19) . "\0-1", i19(1, 9) . "\0009",
                i19(1, 10) . "\00010" ], 'id:int orders ids numerically');
    like(upsert($r, 't050int', 'abc')->{err},
         qr/field "id" of user "abc" is not an integer/, 'id:int checks ids');

    ws_clean($r, 't050int');
}

ws_clean($r, $ws);

done_testing();
