# Failover under traffic: a primary is killed (SIGKILL) while clients ask
# for pages of a workspace it serves and of two workspaces on the other
# primaries; its replica takes over (cluster-node-timeout 1500 ms here).
#
# Expected: no answer is wrong, ever; the other workspaces never fail;
# the failed one answers again within 2 s of the promotion (and from
# then on); the error log says it once per incident and node, and that
# the slot map changed.
#
# Plain Test::More; needs TEST_NGINX_LOAD_MODULES (t/run.sh sets it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use UsersTest qw(nginx_start http_get);
use UsersCluster qw(cluster_start key_slot traffic_start);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

$UsersTest::Timeout = 10;

my $c = cluster_start(node_timeout => 1500);

# fo1 dies with its primary; t030 and t033 live on the two others
my %owner = map { $_ => $c->owner(key_slot("users:{$_}")) } qw(t032 t030 t033);
my %ports = map { $_->port => 1 } values %owner;
is(scalar(keys %ports), 3, 'three workspaces on three primaries');

my $Dead = $owner{t032};
my ($Heir) = $c->replicas_of($Dead);
ok($Heir, 'the doomed primary ' . $Dead->port . ' has a replica '
   . ($Heir ? $Heir->port : '?'));

my @Ws = qw(t032 t030 t033);

for my $ws (@Ws) {
    my $k = "users:{$ws}";
    $c->cmd('FCALL', 'users_schema', 1, $k, 'name:str,id:int', 'status', '');
    for my $i (1 .. 12) {
        $c->cmd('FCALL', 'users_upsert', 1, $k, $i, id => $i,
                name => "$ws user $i", status => $i % 2 ? 'active' : 'inactive');
    }
}

# the writes are on the replicas before the primary dies (none is lost)
$Dead->cmd('WAIT', 1, 5000);

my $ngx = nginx_start(
    name => 't092', workers => 2, master => 1, log_level => 'notice',
    http_config => 'users_redis ' . $c->directive . ' timeout=3s;',
    config => q{
        location ~ ^/(?<ws>\w+)/users$ {
            users_workspace $ws;
            users_list;
            users_field id int;
            users_field name string;
            users_sort name default;
            users_filter status in values=active,inactive indexed;
            users_filter q search fields=name;
        }
        location ~ ^/(?<ws>\w+)/users/(?<id>\d+)$ {
            users_workspace $ws;
            users_get $id;
            users_field id int;
            users_field name string;
        }
    });

my @requests;
for my $ws (@Ws) {
    for my $path ("/$ws/users?limit=4", "/$ws/users?limit=4&offset=4",
                  "/$ws/users?status=inactive", "/$ws/users?q=user+1",
                  "/$ws/users/7")
    {
        my ($status, undef, $body) = http_get($ngx->port, $path);
        is($status, 200, "before: $path");
        push @requests, [$ngx->port, $path, $body];
    }
}

# ----------------------------------------------------------------------

my (undef, $pos) = $ngx->error_log;
$_->cmd('CONFIG', 'RESETSTAT') for $c->nodes;
my $traffic = traffic_start(clients => 4, requests => \@requests, keep => 1,
                            pause => 0.005);
sleep 0.5;

my $killed = time - $traffic->t0;
$Dead->kill;

# the promotion, as the heir says it
my $promoted;
my $deadline = time + 20;
while (time < $deadline) {
    my $role = eval { $Heir->cmd('ROLE') } || [];
    if (($role->[0] // '') eq 'master') {
        $promoted = time - $traffic->t0;
        last;
    }
    sleep 0.02;
}

ok(defined $promoted, 'the replica was promoted');
$promoted //= 99;
sleep 3;

my $sum = $traffic->stop;
my $secs = time - $traffic->t0;
my ($log) = $ngx->error_log($pos);

# the map reads: single-flight and throttled per worker (2 workers, at
# least 100 ms apart), not one a failed request
my $reads = 0;
for my $node (grep { $_->pid } $c->nodes) {
    my ($n) = $node->cmd('INFO', 'commandstats')
              =~ /^cmdstat_cluster\|shards:calls=(\d+)/m;
    $reads += $n // 0;
}
diag(sprintf '%d slot map reads in %.1f s', $reads, $secs);
cmp_ok($reads, '<=', 2 * $secs / 0.1, 'the slot map is read at most every 100 ms a worker');
cmp_ok($reads, '>=', 2, 'and was read again');

diag(sprintf 'killed at %.2f s, promoted at %.2f s; %d requests: %d ok, '
     . '%d wrong, %d errors', $killed, $promoted, $sum->{total}, $sum->{ok},
     $sum->{wrong}, $sum->{error});

is($sum->{wrong}, 0, 'no wrong answer') or diag($sum->{bodies});

my @others = grep { $_->[2] !~ m{^/t032/} } @{ $sum->{log} };
my @failed = grep { $_->[2] =~ m{^/t032/} } @{ $sum->{log} };
cmp_ok(scalar @others, '>', 100, 'the other workspaces had traffic');
is(scalar(grep { $_->[5] ne 'ok' } @others), 0,
   'the other workspaces never failed');

my @errors = grep { $_->[5] ne 'ok' } @failed;
my ($first_err) = map { $_->[0] } @errors;
my ($last_err) = reverse map { $_->[0] } @errors;
my ($back) = map { $_->[0] } grep { $_->[5] eq 'ok' && $_->[0] > $promoted - 0.5
                                    && $_->[0] > ($last_err // 0) } @failed;
diag(sprintf 't032: %d errors from %.2f s to %.2f s, answering from %.2f s',
     scalar @errors, $first_err // -1, $last_err // -1, $back // -1);
ok(defined $back, 't032 answers again');
cmp_ok(($last_err // 0) - $promoted, '<', 2,
       'no error later than 2 s after the promotion');
is(scalar(grep { $_->[5] ne 'ok' && $_->[0] > $promoted + 2 } @failed), 0,
   't032: nothing fails from 2 s after the promotion on');
cmp_ok(scalar(grep { $_->[0] > $promoted + 2 } @failed), '>', 20,
       't032: and it was asked');

my $dead = $Dead->port;
my @incident = grep { /redis 127\.0\.0\.1:$dead: .*; retrying with backoff$/ }
               split /\n/, $log;
ok(@incident >= 1 && @incident <= 2,
   'one incident line for the dead node a worker (' . scalar(@incident) . ')')
    or diag($log);
like($log, qr/redis cluster: slot map from \S+: 3 primaries, \d replicas, \d+ slots moved, 0 not served/,
     'the map changed');
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

$ngx->stop;
$c->stop;

done_testing();
