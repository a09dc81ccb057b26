# users-admin: schema, import (flattening, exact hashes, order of equal
# names, bad lines), delete, token-create and token-revoke.
#
# Needs TEST_NGINX_REDIS_PORT (Redis 7 with redis/users.lua loaded) and
# TEST_NGINX_USERS_ADMIN (default build/users-admin).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Encode qw(encode_utf8);
use Test::More;
use UsersData qw(redis cmd ws_keys ws_clean gen_users jsonl run_admin);

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set'
    unless $ENV{TEST_NGINX_REDIS_PORT};

my $r = redis();
my $ws = 't051';
my $B = "users:{$ws}";
my ($rc, $out, $err);

ws_clean($r, $ws);

# what the hash of a generated user must hold, flattened independently
sub flat {
    my ($u, $prefix) = @_;
    my %h;
    for my $k (keys %$u) {
        my ($v, $name) = ($u->{$k}, $prefix ? "${prefix}_$k" : $k);
        next unless defined $v;
        if (ref $v eq 'HASH') {
            %h = (%h, flat($v, $name));
        } elsif (ref $v eq 'ARRAY') {
            $h{$name} = join ',', @$v;
        } elsif (JSON::PP::is_bool($v)) {
            $h{$name} = $v ? 1 : 0;
        } else {
            $h{$name} = encode_utf8($v);
        }
    }
    return %h;
}

sub hash { my %h = @{ cmd($r, 'HGETALL', $_[0]) }; \%h }

# --- usage errors ---------------------------------------------------------------

($rc, $out, $err) = run_admin([]);
is($rc, 2, 'no command: 2');
($rc, $out, $err) = run_admin([ 'frobnicate' ]);
is($rc, 2, 'unknown command: 2');
like($err, qr/unknown command "frobnicate"/, 'names the command');
($rc, $out, $err) = run_admin([ 'import', 'a:b' ]);
is($rc, 2, 'bad workspace: 2');
($rc, $out, $err) = run_admin([ 'token-create', $ws, '1', '--ttl', 'x' ]);
is($rc, 2, 'bad ttl: 2');
($rc, $out, $err) = run_admin([ '--help' ]);
like($out, qr/^usage: users-admin/, '--help prints the usage');

# --- schema and import --------------------------------------------------------

($rc, $out, $err) = run_admin([ 'schema', $ws,
    '--sort', 'last_name:str,first_name:str,status:str,created_at:time',
    '--enum', 'status,type', '--member', 'groups:group' ]);
is($rc, 0, 'schema: 0') or diag $err;
like($out, qr/schema of "t051" set, 0 users reindexed/, 'schema output');

my @users = gen_users(60);
my $file = "/tmp/t051.$$.jsonl";
open my $f, '>:raw', $file or die "$file: $!";
print {$f} jsonl(@users[0 .. 29]), "\n", jsonl(@users[30 .. 39]);
close $f;

($rc, $out, $err) = run_admin([ 'import', $ws, $file ]);
is($rc, 0, 'import file: 0') or diag $err;
like($out, qr/imported 40 users into "t051" \(40 new\)/, 'import output');

($rc, $out, $err) = run_admin([ 'import', $ws, '-' ], jsonl(@users[40 .. 59]));
is($rc, 0, 'import from stdin: 0') or diag $err;
like($out, qr/imported 20 users/, 'stdin import output');

is(cmd($r, 'ZCARD', "$B:ix:id"), 60, '60 users');
is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $B), [], 'indexes consistent');

my $bad = 0;
for my $u (@users) {
    my %want = flat($u);
    is_deeply(hash("$B:u:$u->{id}"), \%want, "hash of user $u->{id}")
        or $bad++;
    last if $bad > 2;
}

{
    my %h = %{ hash("$B:u:5") };
    is($h{invite_id}, 'inv-5', 'invite.id -> invite_id');
    is($h{is_staff}, 1, 'true -> 1');
    is($h{is_admin}, 0, 'false -> 0');
    ok(!exists $h{phone}, 'null phone left out');
    ok(!exists hash("$B:u:6")->{invite_id}, 'null invite: no invite_ fields');
    is(hash("$B:u:30")->{groups}, '2,3,5', 'groups joined with ","');
    is(hash("$B:u:1")->{groups}, '', 'empty groups: empty string');
    is(hash("$B:u:1")->{first_name}, encode_utf8('Ülla'), 'UTF-8 bytes');
}

# ix:last_name: lower-cased ASCII, equal names ordered by id bytes
{
    my %key;
    $key{$_->{id}} = join '', map { /[A-Z]/ ? lc : $_ }
                     split //, encode_utf8($_->{last_name}) for @users;
    my @want = sort { $key{$a} cmp $key{$b} || "$a" cmp "$b" } keys %key;
    my @got = map { /\0(.*)/s; $1 } @{ cmd($r, 'ZRANGE', "$B:ix:last_name",
                                            0, -1) };
    is_deeply(\@got, \@want, 'ix:last_name order, equal names by id');
}

is_deeply([ sort @{ cmd($r, 'SMEMBERS', "$B:m:group") } ], [ 2, 3, 5 ],
          'm:group');
is(cmd($r, 'SCARD', "$B:m:group:5"), 12, '12 users in group 5');

# --- a bad line writes nothing -------------------------------------------------

my @keys = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws);

for my $case (
    [ qq({"id":"n1","last_name":"X"}\n{"id":"n2","last_name":\n),
      qr/^users-admin: \S+:2: invalid JSON/m, 'truncated JSON' ],
    [ qq({"id":"n1"}\n\n{"last_name":"X"}\n), qr/:3: no "id"/, 'no id' ],
    [ qq({"id":"n1"}\n{"id":"n2","created_at":"2020-13-01T00:00:00Z"}\n),
      qr/:2: field "created_at" is not an RFC 3339 timestamp/,
      'bad time in a sorted field' ],
    [ qq({"id":"n1","g":[{"a":1}]}\n), qr/:1: objects in array "g"/,
      'object in an array' ],
    [ qq({"id":"n1","a":{"b":1},"a_b":2}\n), qr/:1: duplicate field "a_b"/,
      'flattening collision' ],
    [ qq([1,2]\n), qr/:1: not a JSON object/, 'not an object' ],
) {
    my ($data, $re, $name) = @$case;
    open my $f, '>:raw', $file or die;
    print {$f} $data;
    close $f;

    ($rc, $out, $err) = run_admin([ 'import', $ws, $file ]);
    is($rc, 1, "$name: 1");
    like($err, $re, "$name: message with the line");
}

is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws) ], \@keys,
          'bad files wrote nothing');

# --- tokens ------------------------------------------------------------------------

($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--role', 'admin',
                                '--perms', 'read,write', '--ttl', 3600 ]);
is($rc, 0, 'token-create: 0') or diag $err;
like($out, qr/\Auk_[A-Za-z0-9_-]{43}\n\z/, 'prints uk_ + 43 base64url');

my ($token) = $out =~ /(\S+)/;
my $tkey = 'users:token:' . sha256_hex($token);
my %t = %{ hash($tkey) };
my $exp = delete $t{exp};
is_deeply(\%t, { user => 7, ws => $ws, role => 'admin',
                 perms => 'read,write' }, 'token record');
ok(abs($exp - time() - 3600) <= 5, 'exp is now + ttl');
is(cmd($r, 'EXPIRETIME', $tkey), $exp, 'the key expires at exp');
unlike(join('', map { cmd($r, 'HGET', $tkey, $_) // '' } qw(user ws role)),
       qr/\Q$token\E/, 'the token itself is not stored');

($rc, $out, $err) = run_admin([ 'token-create', $ws, '8' ]);
is($rc, 0, 'token-create without options');
my $tkey2 = 'users:token:' . sha256_hex($out =~ /(\S+)/);
is_deeply(hash($tkey2), { user => 8, ws => $ws, role => 'user', perms => '',
                          exp => 0 }, 'defaults: role user, no perms, exp 0');
is(cmd($r, 'TTL', $tkey2), -1, 'no expiry');

($rc, $out, $err) = run_admin([ 'token-create', $ws, 'nobody' ]);
is($rc, 1, 'token for an unknown user: 1');
like($err, qr/no user "nobody" in "t051"/, 'names the user');

($rc, $out, $err) = run_admin([ 'token-revoke', $token ]);
is($rc, 0, 'token-revoke: 0');
is(cmd($r, 'EXISTS', $tkey), 0, 'token record gone');
($rc, $out, $err) = run_admin([ 'token-revoke', $token ]);
is($rc, 1, 'revoking again: 1');

($rc, $out, $err) = run_admin([ 'token-revoke', '--digest',
                                substr($tkey2, 12) ]);
is($rc, 0, 'token-revoke --digest: 0');
is(cmd($r, 'EXISTS', $tkey2), 0, 'second token gone');
($rc, $out, $err) = run_admin([ 'token-revoke', '--digest', 'ABC' ]);
is($rc, 2, 'bad digest: 2');

# --- delete ------------------------------------------------------------------------

($rc, $out, $err) = run_admin([ 'delete', $ws, 1, 2 ]);
is($rc, 0, 'delete: 0') or diag $err;
is(cmd($r, 'EXISTS', "$B:u:1", "$B:u:2"), 0, 'hashes gone');
is(cmd($r, 'ZCARD', "$B:ix:id"), 58, '58 users left');

($rc, $out, $err) = run_admin([ 'delete', $ws, 1 ]);
is($rc, 1, 'deleting a missing user: 1');
like($err, qr/no user "1" in "t051"/, 'names it');

($rc, $out, $err) = run_admin([ 'delete', $ws, 3 .. 60 ]);
is($rc, 0, 'delete the rest');
is_deeply([ ws_keys($r, $ws) ], [ "$B:meta" ], 'only meta remains');

unlink $file;
ws_clean($r, $ws);

done_testing();
