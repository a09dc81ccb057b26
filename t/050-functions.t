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

# --- objects users refer to: users_object_upsert, _validate, _delete ---------

{
    my ($O, $O2) = ('users:{t050obj}', 'users:{t050obj2}');
    ws_clean($r, $_) for 't050obj', 't050obj2';

    cmd($r, 'FCALL', 'users_schema', 1, $O, 'name:str', '', 'groups:group');
    upsert($r, 't050obj', 'u1', name => 'Ann', groups => '1,2');
    my $ver = cmd($r, 'HGET', "$O:meta", 'ver');
    my $user = hash("$O:u:u1");

    sub obj { cmd($r, 'FCALL', 'users_object_upsert', 1, @_) }

    is(obj($O, 'group', 1, name => 'Ones', color => 'red'), 1,
       'object created: 1');
    is_deeply(hash("$O:group:1"), { id => 1, name => 'Ones', color => 'red' },
              'group 1: exactly its fields and id');
    is(obj($O, 'group', 1, id => 1, name => 'Uno'), 0, 'replaced: 0');
    is_deeply(hash("$O:group:1"), { id => 1, name => 'Uno' },
              'group 1 replaced: color gone');
    is(obj($O, 'role', 1, name => 'Admin'), 1, 'another kind, same id');
    is(obj($O2, 'group', 1, name => 'Elsewhere'), 1, 'another workspace');
    is(hash("$O:group:1")->{name}, 'Uno', 'workspaces apart');
    is(obj($O, 'group', 'a:b', name => 'Colon'), 1, 'an id with a colon');

    is(cmd($r, 'HGET', "$O:meta", 'ver'), $ver,
       'ver unchanged: no cached page shows objects');
    is_deeply(hash("$O:u:u1"), $user, 'the user untouched');
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $O), [],
              'indexes untouched');
    is(cmd($r, 'FCALL_RO', 'users_object_validate', 1, $O, 'group', 9,
           name => 'Nine'), 'OK', 'validate: OK');
    is(cmd($r, 'EXISTS', "$O:group:9"), 0, 'validate writes nothing');

    my @before = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, 't050obj');

    for my $case (
        [ [ 'u', 'u1', name => 'X' ], 'object kind "u" is reserved (u, ix,'
          . ' m and meta name the library\'s own keys)' ],
        [ [ 'ix', 'name' ], 'object kind "ix" is reserved (u, ix, m and meta'
          . ' name the library\'s own keys)' ],
        [ [ 'm', 'group' ], 'object kind "m" is reserved (u, ix, m and meta'
          . ' name the library\'s own keys)' ],
        [ [ 'meta', 'x' ], 'object kind "meta" is reserved (u, ix, m and'
          . ' meta name the library\'s own keys)' ],
        [ [ 'gr:oup', 'x' ], 'invalid object kind "gr:oup": use letters,'
          . ' digits, "_", "." and "-"' ],
        [ [ 'group', '' ], 'group id is empty or contains a NUL byte' ],
        [ [ 'group', "a\0b" ], 'group id is empty or contains a NUL byte' ],
        [ [ 'group', 2, 'name' ],
          'odd number of field/value arguments for group "2"' ],
        [ [ 'group', 2, id => 3 ], 'field id "3" differs from the group id'
          . ' "2"' ],
        [ [ 'group', 2, '' => 'x' ], 'empty field name for group "2"' ],
        [ [ 'group', 2, a => 1, a => 2 ],
          'field "a" is given twice for group "2"' ],
        [ [ 'group' ], 'expected <kind> <id> <field> <value> ..., got 1'
          . ' arguments' ],
    ) {
        my ($args, $msg) = @$case;
        is_deeply(obj($O, @$args), { err => "ERR users: $msg" },
                  "upsert: $msg");
        is_deeply(cmd($r, 'FCALL_RO', 'users_object_validate', 1, $O, @$args),
                  { err => "ERR users: $msg" }, "validate: $msg");
    }

    like(obj('users:{a:b}', 'group', 1)->{err}, qr/invalid workspace key/,
         'bad workspace key');
    is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, 't050obj') ],
              \@before, 'refused calls changed no key');

    is(cmd($r, 'FCALL', 'users_object_delete', 1, $O, 'group', 1), 1,
       'delete: 1');
    is(cmd($r, 'FCALL', 'users_object_delete', 1, $O, 'group', 1), 0,
       'delete again: 0');
    is_deeply(cmd($r, 'FCALL', 'users_object_delete', 1, $O, 'u', 'u1'),
              { err => 'ERR users: object kind "u" is reserved' },
              'delete of a user refused');
    is_deeply(cmd($r, 'FCALL', 'users_object_delete', 1, $O, 'group'),
              { err => 'ERR users: expected <kind> <id>, got 1 arguments' },
              'delete takes a kind and an id');
    is(hash("$O2:group:1")->{name}, 'Elsewhere', 'the other workspace kept');
    is_deeply([ ws_keys($r, 't050obj') ], [ sort map { "$O:$_" }
        'meta', 'u:u1', 'ix:id', 'ix:name', 'm:group', 'm:group:1',
        'm:group:2', 'role:1', 'group:a:b' ], 'exact key set after delete');
    is(cmd($r, 'HGET', "$O:meta", 'ver'), $ver, 'ver still unchanged');

    ws_clean($r, $_) for 't050obj', 't050obj2';
}

# --- users_case: the case of stored values, in meta ------------------------

{
    my $C = 'users:{t050case}';
    ws_clean($r, 't050case');
    cmd($r, 'FCALL', 'users_schema', 1, $C, 'role:str', 'role', '');
    my %meta = %{ hash("$C:meta") };

    is(cmd($r, 'FCALL', 'users_case', 1, $C, 'role:lower,,status:upper'), 2,
       'two fields');
    is_deeply(hash("$C:meta"), { %meta, case => 'role:lower,status:upper' },
              'meta "case" set, empty items dropped; the rest and ver kept');

    for my $case (
        [ 'role:title', 'invalid case item "role:title": expected'
          . ' <field>:lower|upper' ],
        [ 'role', 'invalid case item "role": expected <field>:lower|upper' ],
        [ 'id:lower', 'invalid case field "id" (id or listed twice)' ],
        [ 'role:lower,role:upper',
          'invalid case field "role" (id or listed twice)' ],
        [ 'a b:lower', 'invalid case field "a b": use letters, digits, "_",'
          . ' "." and "-"' ],
    ) {
        my ($spec, $msg) = @$case;
        is_deeply(cmd($r, 'FCALL', 'users_case', 1, $C, $spec),
                  { err => "ERR users: $msg" }, "users_case: $msg");
    }
    is(cmd($r, 'HGET', "$C:meta", 'case'), 'role:lower,status:upper',
       'refused specs changed nothing');

    cmd($r, 'FCALL', 'users_schema', 1, $C, 'role:str', '', '');
    is(cmd($r, 'HGET', "$C:meta", 'case'), 'role:lower,status:upper',
       'users_schema leaves "case" alone');

    is(cmd($r, 'FCALL', 'users_case', 1, $C, ''), 0, 'empty: 0 fields');
    is(cmd($r, 'HEXISTS', "$C:meta", 'case'), 0, 'empty removes "case"');

    ws_clean($r, 't050case');
}

# --- users_time: the library's RFC 3339 parser, as Unix seconds -----------

for my $case (
    [ '2030-01-01', 1893456000 ],
    [ '2030-01-01T00:00:00Z', 1893456000 ],
    [ '2030-01-01t01:00:00.999+01:00', 1893456000 ],
    [ '2029-12-31 19:00:00-05:00', 1893456000 ],
    [ '1970-01-01T00:00:00z', 0 ],
    [ '1969-12-31T23:59:59Z', -1 ],
) {
    is(cmd($r, 'FCALL_RO', 'users_time', 1, $B, $case->[0]), $case->[1],
       "users_time $case->[0]");
}

for my $bad ('2030-02-30', '2030-01-01T24:00:00Z', '2030-01-01T00:00',
             '20300101', '2030-01-01T00:00:00+1:00', '') {
    is_deeply(cmd($r, 'FCALL_RO', 'users_time', 1, $B, $bad),
              { err => "ERR users: not an RFC 3339 timestamp: \"$bad\"" },
              "users_time refuses \"$bad\"");
}

is_deeply(cmd($r, 'FCALL_RO', 'users_time', 1, $B),
          { err => 'ERR users: expected one timestamp, got 0 arguments' },
          'users_time takes one argument');

# --- id:int: ties break numerically (member format 2) ---------------------------

{
    my $I = 'users:{t050tie}';
    ws_clean($r, 't050tie');
    cmd($r, 'FCALL', 'users_schema', 1, $I, 'name:str,id:int', 'type', '');
    upsert($r, 't050tie', $_, name => 'Same', type => 'user')
        for qw(10023 7 100 42);
    upsert($r, 't050tie', 5, name => 'other', type => 'user');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:name", 0, -1),
              [ "other\0" . i19(1, 5) . "\0005",
                map { "same\0" . i19(1, $_) . "\0$_" } 7, 42, 100, 10023 ],
              'id:int: "<key> NUL <id int key> NUL <id>", ties numeric');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:name:type=user", 0, -1),
              cmd($r, 'ZRANGE', "$I:ix:name", 0, -1),
              'id:int: restricted copies alike');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:id", 0, 1),
              [ i19(1, 5) . "\0005", i19(1, 7) . "\0007" ],
              'id:int: ix:id keeps "<id int key> NUL <id>"');
    is(cmd($r, 'HGET', "$I:meta", 'format'), 2, 'users_schema: format 2');
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $I), [], 'tie: check');

    # a workspace whose indexes predate the format: byte ties until rebuilt
    cmd($r, 'HDEL', "$I:meta", 'format');
    cmd($r, 'DEL', (map { "$I:ix:$_" } 'id', 'name', 'id:type=user',
                    'name:type=user'), map { "$I:u:$_" } 5, 7, 42, 100, 10023);
    upsert($r, 't050tie', $_, name => 'Same', type => 'user')
        for qw(10023 7 100 42);
    upsert($r, 't050tie', 5, name => 'other', type => 'user');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:name", 0, -1),
              [ "other\0005", map { "same\0$_" } qw(100 10023 42 7) ],
              'format 1 (no format in meta): "<key> NUL <id>", byte ties');
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $I), [],
              'format 1: consistent');
    is(cmd($r, 'FCALL', 'users_schema', 1, $I, 'name:str,id:int', 'type', ''),
       5, 'users_schema again: the rebuild migrates');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:name:type=user", 1, -1),
              [ map { "same\0" . i19(1, $_) . "\0$_" } 7, 42, 100, 10023 ],
              'migrated: ties numeric');
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $I), [],
              'migrated: check');

    # id:str workspaces keep "<key> NUL <id>"; str keys are cut at 256 bytes
    ws_clean($r, 't050tie');
    cmd($r, 'FCALL', 'users_schema', 1, $I, 'name:str', '', '');
    upsert($r, 't050tie', 'b', name => 'X' x 300);
    upsert($r, 't050tie', 'a', name => ('x' x 256) . 'zzz');
    is_deeply(cmd($r, 'ZRANGE', "$I:ix:name", 0, -1),
              [ ('x' x 256) . "\0a", ('x' x 256) . "\0b" ],
              'id:str: "<key> NUL <id>"; a str key holds 256 bytes');
    is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $I), [], 'cut: check');
    ws_clean($r, 't050tie');
}

# --- users_rows: rows by id, size caps, keys that are not hashes -----------------

{
    my $W = 'users:{t050rows}';
    ws_clean($r, $_) for 't050rows', 't050rows2';
    cmd($r, 'FCALL', 'users_schema', 1, $W, '', '', '');
    upsert($r, 't050rows', 1, name => 'Ann', bio => 'b' x 16384);
    upsert($r, 't050rows', 2, name => 'Bob', bio => 'b' x 16385,
           note => 'n');
    upsert($r, 't050rows', 3, name => 'Cid', a => 'a' x 16000,
           b => 'b' x 16000, c => 'c' x 16000, d => 'd' x 16000,
           e => 'e' x 2000);
    cmd($r, 'HSET', "$W:u:4", 'name', 'Dee', 'big', 'x' x (5 << 20));
    cmd($r, 'SET', "$W:u:5", 'notahash');
    cmd($r, 'SET', "$W:u:6", 'y' x 20000);
    cmd($r, 'HSET', "$W:group:1", 'id', 1, 'name', 'Ones');
    # the other workspace: the same ids, none of these flaws
    cmd($r, 'HSET', 'users:{t050rows2}:u:5', 'id', 5, 'name', 'Eve');

    my $rows = sub { cmd($r, 'FCALL_RO', 'users_rows', 1, @_) };
    is_deeply($rows->($W, 'u', 3, 'id', 'name', 'note', 1, 9),
              [ [ 1, 'Ann', undef ], [ undef, undef, undef ] ],
              'rows: values in order, nil when absent, all nil: no hash');
    is_deeply($rows->($W, 'u', 2, 'bio', 'note', 1, 2),
              [ [ 'b' x 16384, undef ], [ 16385, 'n' ] ],
              'a value of 16384 bytes comes, 16385 bytes: its length');
    is_deeply($rows->($W, 'u', 6, qw(a b c d e name), 3),
              [ [ ('a' x 16000), ('b' x 16000), ('c' x 16000),
                  ('d' x 16000), 2000, 'Cid' ] ],
              'a row: values past 65536 bytes come as their lengths');
    is_deeply($rows->($W, 'u', 2, 'name', 'big', 4),
              [ [ 'Dee', 5 << 20 ] ], 'a 5 MB value: its length');
    is_deeply($rows->($W, 'u', 2, 'id', 'name', 5, 6, 1),
              [ '5', '6', [ 1, 'Ann' ] ],
              'a key that is not a hash (small, large): its id alone');
    is_deeply($rows->('users:{t050rows2}', 'u', 2, 'id', 'name', 5),
              [ [ 5, 'Eve' ] ], 'the other workspace: its own user 5');
    is_deeply($rows->($W, 'group', 2, 'id', 'name', 1, 2),
              [ [ 1, 'Ones' ], [ undef, undef ] ], 'another kind of key');
    like($rows->($W, 'u', 0, 1)->{err}, qr/^ERR users: nfields must be/,
         'nfields 0: an error');
    like($rows->($W, 'u', 3, 'id', 1)->{err},
         qr/^ERR users: nfields 3: 2 field names follow/, 'nfields too large');
    like($rows->($W, 'u:x', 1, 'id', 1)->{err}, qr/^ERR users: expected <kind>/,
         'a kind that is not a name');
    like($rows->('users:{a:b}', 'u', 1, 'id', 1)->{err},
         qr/invalid workspace key/, 'bad workspace key');

    # writers refuse a key that is not a hash, check reports it
    like(upsert($r, 't050rows', 5, name => 'x')->{err},
         qr/^ERR users: users:\{t050rows\}:u:5 is not a hash: DEL it, then rebuild with users_schema$/,
         'upsert over a key that is not a hash: refused');
    like(cmd($r, 'FCALL', 'users_delete', 1, $W, 5)->{err},
         qr/users:\{t050rows\}:u:5 is not a hash/, 'delete: refused');
    cmd($r, 'ZADD', "$W:ix:id", 0, "5\0005");
    like(cmd($r, 'FCALL', 'users_schema', 1, $W, '', '', '')->{err},
         qr/users:\{t050rows\}:u:5 is not a hash/, 'schema: refused');
    ok((grep { $_ eq 'users:{t050rows}:u:5 is not a hash' }
        @{ cmd($r, 'FCALL_RO', 'users_check', 1, $W) }),
       'check reports the key');
    is(cmd($r, 'GET', "$W:u:5"), 'notahash', 'nothing written');
    ws_clean($r, $_) for 't050rows', 't050rows2';
}

ws_clean($r, $ws);

done_testing();
