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

$c->stop;

done_testing();
