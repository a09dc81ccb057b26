# Rate limits across nodes on a Redis Cluster, as t/062 checks them on
# one Redis: two nginx instances (2 workers each) share a 3+3 cluster; 8
# client processes x 100 requests, split across both, as fast as they go.
# rate=300r/h burst=300 refills under one request during the run, so
# exactly 300 pass and 500 get a 429, for each of two zones whose keys
# live on different primaries.
#
# Plain Test::More; needs TEST_NGINX_LOAD_MODULES (t/run.sh sets it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use UsersTest qw(nginx_start http_get);
use UsersCluster qw(cluster_start key_slot);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

$UsersTest::Timeout = 10;

my $Procs = 8;
my $PerProc = 100;

my $c = cluster_start();

# two zones whose keys ("users:limit:{<zone>}:<key>") are on two primaries
my %zone_owner = map { $_ => $c->owner(key_slot("users:limit:{$_}:x"))->port }
                 qw(hourly zone2);
isnt($zone_owner{hourly}, $zone_owner{zone2},
     "the zones' keys are on two primaries ($zone_owner{hourly}, "
     . "$zone_owner{zone2})");

my $Http = 'users_redis ' . $c->directive . " timeout=3s;\n" . q{
    users_limit_zone hourly  key=$arg_k rate=300r/h burst=300 redis;
    users_limit_zone zone2 key=$arg_k rate=300r/h burst=300 redis;
};
my $Config = q{
        access_log off;
        location = /hourly  { users_limit hourly;  alias html/ok.txt; }
        location = /zone2 { users_limit zone2; alias html/ok.txt; }
};

sub start {
    my $name = shift;
    my $ngx = nginx_start(name => $name, http_config => $Http, config => $Config,
                          master => 1, workers => 2, log_level => 'warn');
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
    close $fh;
    return $ngx;
}

my $A = start('t094a');
my $B = start('t094b');

# both see the cluster before the count starts
for my $ngx ($A, $B) {
    my $deadline = time + 10;
    sleep 0.05 until (http_get($ngx->port, '/hourly'))[0] == 200 || time > $deadline;
}

sub flood {
    my ($path, @ports) = @_;
    my @kids;
    my $t0 = time;
    for my $p (1 .. $Procs) {
        pipe(my $rd, my $wr) or die "pipe: $!\n";
        my $pid = fork // die "fork: $!\n";
        if ($pid == 0) {
            close $rd;
            my %n;
            for my $i (1 .. $PerProc) {
                my ($status) = http_get($ports[($p + $i) % @ports], $path);
                $n{ $status // 'none' }++;
            }
            print $wr join(' ', %n), "\n";
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }
    my %total;
    for my $k (@kids) {
        my ($pid, $rd) = @$k;
        my $line = <$rd> // '';
        close $rd;
        waitpid($pid, 0);
        my %n = split ' ', $line;
        $total{$_} += $n{$_} for keys %n;
    }
    return (\%total, time - $t0);
}

sub counts { my $n = shift; join ', ', map { "$_: $n->{$_}" } sort keys %$n }

for my $zone (qw(hourly zone2)) {
    my ($n, $secs) = flood("/$zone?k=c1", $A->port, $B->port);
    diag(sprintf 'cluster %s 300r/h: %s in %.2f s', $zone, counts($n), $secs);
    is($n->{200}, 300, "$zone: exactly 300 pass");
    is($n->{429}, $Procs * $PerProc - 300, "$zone: all the others get a 429");
    is(scalar(keys %$n), 2, "$zone: no other status");
    cmp_ok($secs, '<', 12, "$zone: within one interval (12 s): no refill");
    ok(defined $c->cmd('GET', "users:limit:{$zone}:c1"),
       "$zone: its key is on its slot's primary");
}

# the 429s are logged at [error] (users_limit_log_level); nothing else is
my $log = join "\n", grep { !/limiting requests by zone/ }
                      split /\n/, $A->error_log . $B->error_log;
unlike($log, qr/\[(?:error|crit|alert|emerg)\]/, 'no other error in the logs');

$A->stop;
$B->stop;
$c->stop;

done_testing();
