# The five seed APIs against a Redis Cluster: t/030 to t/034, unchanged,
# run again with users_redis naming a cluster of 3 primaries and 3
# replicas started here (redis-server --cluster-enabled yes, redis-cli
# --cluster create).  Their workspaces t030 to t034 land on all three
# primaries (asserted first), their tokens wherever their keys' slots say.
#
# TEST_NGINX_REDIS_PORT carries the cluster to the suites as
# "PORT 127.0.0.1:PORT ... cluster": their "users_redis
# 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;" becomes the cluster
# directive, and UsersTest's redis_cmd follows MOVED to load their data.
#
# Plain Test::More: the suites run under whichever Test::Nginx runs this
# file (the real one when it is on @INC, else t/lib's).

use strict;
use warnings;

BEGIN { our @Inc0 = @INC }

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use UsersTest qw(redis_cmd_port);
use UsersCluster qw(cluster_start key_slot);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my @Suites = qw(030-accounts.t 031-users-v1.t 032-workspace-users.t
                033-project-users.t 034-identity-users.t);
my @Ws = qw(t030 t031 t032 t033 t034);

my $c = cluster_start();
my @nodes = $c->nodes;

# ----------------------------------------------------------------------
# the slots: our CRC16 agrees with Redis, and the workspaces use every
# primary

for my $key ((map { "users:{$_}" } @Ws), 'users:token:0123abcd', 'a{b}c', '{}x') {
    is(key_slot($key), $nodes[0]->cmd('CLUSTER', 'KEYSLOT', $key),
       "the slot of $key is Redis's");
}

my %owner = map { $_ => $c->owner(key_slot("users:{$_}"))->port } @Ws;
my %used = map { $_ => 1 } values %owner;
is(scalar(keys %used), 3, 'the workspaces are on all three primaries: '
   . join(', ', map { "$_ on $owner{$_}" } @Ws));

# ----------------------------------------------------------------------
# the suites

my ($inc) = grep { -f "$_/Test/Nginx/Socket.pm" } our @Inc0;
my @inc = $inc ? ('-I', $inc) : ();

{
    local $ENV{TEST_NGINX_REDIS_PORT} = join ' ', $nodes[0]->port,
        (map { '127.0.0.1:' . $_->port } @nodes[1 .. $#nodes]), 'cluster';

    my @files = map { "$FindBin::Bin/$_" } @Suites;
    my $out = `prove @inc @files 2>&1`;
    my $rc = $?;

    is($rc, 0, 'the five API suites pass against the cluster')
        or diag($out);
    like($out, qr/^Result: PASS$/m, 'prove says PASS');
}

# the suites' data went where the slots say: each workspace's keys on
# its primary only

for my $ws (@Ws) {
    my $slot = key_slot("users:{$ws}");
    my @have = grep { $_->cmd('CLUSTER', 'COUNTKEYSINSLOT', $slot) > 0
                      && $_->cmd('INFO', 'replication') =~ /role:master/ } @nodes;
    is(join(',', map { $_->port } @have), $owner{$ws},
       "$ws: its keys are on its primary only");
}

# ----------------------------------------------------------------------
# users-admin -c: the library on every primary, a workspace's calls on its
# slot's primary, tokens on theirs; a migrating slot is waited for

my $Admin = $ENV{TEST_NGINX_USERS_ADMIN} // "$FindBin::Bin/../build/users-admin";
my $Seed = $nodes[0]->port;

sub admin {
    my $out = `$Admin -h 127.0.0.1 -p $Seed @_ 2>&1`;
    return ($? >> 8, $out);
}

my @primaries = $c->primaries;
$_->cmd('FUNCTION', 'DELETE', 'users') for @primaries;

my ($rc, $out) = admin('-c', 'load-functions', "$FindBin::Bin/../redis/users.lua");
is($rc, 0, 'load-functions -c') or diag($out);
my @loaded = $out =~ /^users-admin: loaded library "users" from \S+ on 127\.0\.0\.1:(\d+)$/mg;
is(join(',', sort @loaded), join(',', sort map { $_->port } @primaries),
   'on every primary, once');
for my $node (@nodes) {
    my $deadline = time + 10;
    sleep 0.05 until @{ $node->cmd('FUNCTION', 'LIST') } || time > $deadline;
    ok(scalar @{ $node->cmd('FUNCTION', 'LIST') }, 'the library is on ' . $node->port);
}

# a workspace whose primary is not the seed
my ($Ws) = grep { $c->owner(key_slot("users:{$_}"))->port != $Seed }
           map { "adm$_" } 1 .. 20;
my $Owner = $c->owner(key_slot("users:{$Ws}"));

($rc, $out) = admin('schema', $Ws, '--sort', 'name:str');
is($rc, 1, "without -c, the calls of $Ws on another node fail");
like($out, qr/MOVED \d+ 127\.0\.0\.1:\d+/, 'and say MOVED');

($rc, $out) = admin('-c', 'schema', $Ws, '--sort', 'name:str');
is($rc, 0, "schema -c $Ws") or diag($out);

my $file = "$UsersTest::Root/build/t090-$$.jsonl";
open my $fh, '>', $file or die "$file: $!\n";
print $fh qq({"id":"$_","name":"adm user $_"}\n) for 1 .. 3;
close $fh;
($rc, $out) = admin('-c', 'import', $Ws, $file);
unlink $file;
is($rc, 0, "import -c $Ws") or diag($out);
is($Owner->cmd('HGET', "users:{$Ws}:u:2", 'name'), 'adm user 2',
   'the users are on the primary of the slot');

($rc, $out) = admin('-c', 'token-create', $Ws, 1);
is($rc, 0, 'token-create -c') or diag($out);
my ($token) = $out =~ /^(uk_\S+)$/m;
my ($key) = $out =~ /stored as (users:token:[0-9a-f]{64})/;
is($c->cmd('HGET', $key, 'ws'), $Ws, 'the token record is on its own slot');

($rc, $out) = admin('-c', 'token-revoke', $token // 'x');
is($rc, 0, 'token-revoke -c') or diag($out);
is($c->cmd('EXISTS', $key), 0, 'the record is gone');

($rc, $out) = admin('-c', 'delete', $Ws, 3);
is($rc, 0, 'delete -c') or diag($out);
is($Owner->cmd('EXISTS', "users:{$Ws}:u:3"), 0, 'the user is gone');

# the slot migrating (no key moved yet): -c waits until it is stable
{
    my $slot = key_slot("users:{$Ws}");
    my ($to) = grep { $_ != $Owner } @primaries;
    $to->cmd('CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $c->node_id($Owner));
    $Owner->cmd('CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $c->node_id($to));

    pipe(my $rd, my $wr) or die "pipe: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        close $rd;
        my ($rc, $out) = admin('-c', 'delete', $Ws, 2);
        print $wr "$rc\n$out";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;

    sleep 1;
    is(waitpid($pid, POSIX::WNOHANG()), 0, 'a migrating slot: -c waits');
    $_->cmd('CLUSTER', 'SETSLOT', $slot, 'STABLE') for $Owner, $to;

    my $got = do { local $/; <$rd> };
    waitpid($pid, 0);
    my ($wrc, $wout) = split /\n/, $got, 2;
    is($wrc, 0, 'and goes on once it is stable') or diag($wout);
    like($wout, qr/^users-admin: the slot of users:\{$Ws\} is moving or down \(ASK \d+ [\d.:]+\); waiting$/m,
         'saying so once');
    is($Owner->cmd('EXISTS', "users:{$Ws}:u:2"), 0, 'the user is gone');
}

$c->stop;

done_testing();
