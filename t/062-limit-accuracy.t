# Rate limit accuracy under concurrency: "300 requests per minute per
# workspace, a 429 if exceeded" means no more and no fewer.
#
#  - Redis store, two nginx instances (2 workers each) on loopback sharing
#    one Redis: 8 client processes x 100 requests, split across both
#    instances, as fast as they go.  rate=300r/h burst=300: the refill
#    during the test is under one request (one every 12 s), so exactly 300
#    pass and 500 get a 429.  rate=300r/m burst=300: 300 plus the refill
#    (5/s) during the run, which Redis TIME measures.
#  - Then the next request is admitted when the algorithm says: 60r/m
#    burst=2 spent, a request passes again 1 s after the first, not before.
#  - The shared-memory store, the same on one instance's two workers.
#
# Plain Test::More, bounded in time (about 10 s).  Needs TEST_NGINX_BINARY
# / TEST_NGINX_LOAD_MODULES (t/run.sh sets them).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use UsersTest qw(redis_start nginx_start http_get);

$UsersTest::Timeout = 5;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $Procs = 8;
my $PerProc = 100;

my $redis = redis_start();
my $rport = $redis->port;

my $Http = qq{
    users_redis 127.0.0.1:$rport timeout=2s;
    users_limit_zone hourly   key=\$arg_k rate=300r/h burst=300 redis;
    users_limit_zone minute   key=\$arg_k rate=300r/m burst=300 redis;
    users_limit_zone slow     key=\$arg_k rate=60r/m burst=2 redis;
    users_limit_zone shm      key=\$arg_k rate=300r/h burst=300;
    users_limit_zone shmslow  key=\$arg_k rate=60r/m burst=2;
};
my $Config = q{
        access_log off;
        location = /hourly  { users_limit hourly;  alias html/ok.txt; }
        location = /minute  { users_limit minute;  alias html/ok.txt; }
        location = /slow    { users_limit slow;    alias html/ok.txt; }
        location = /shm     { users_limit shm;     alias html/ok.txt; }
        location = /shmslow { users_limit shmslow; alias html/ok.txt; }
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

my $A = start('t062a');
my $B = start('t062b');

sub redis_us {
    my $t = $redis->cmd('TIME');
    return $t->[0] * 1_000_000 + $t->[1];
}

# $Procs processes x $PerProc requests, each process alternating between
# the ports given; returns { status => count } and the seconds taken
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
                my $port = $ports[($p + $i) % @ports];
                my ($status) = http_get($port, $path);
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

# ----------------------------------------------------------------------
# 1. Redis, 300r/h burst=300, 800 requests over both instances: exactly 300

{
    my ($n, $secs) = flood('/hourly?k=acc1', $A->port, $B->port);
    diag(sprintf 'redis 300r/h: %s in %.2f s (%d req/s)', counts($n), $secs,
         $Procs * $PerProc / $secs);
    is($n->{200}, 300, 'redis 300r/h: exactly 300 pass');
    is($n->{429}, $Procs * $PerProc - 300, 'redis 300r/h: all the others get a 429');
    is(scalar(keys %$n), 2, 'redis 300r/h: no other status');
    cmp_ok($secs, '<', 12, 'redis 300r/h: within one interval (12 s): no refill');
}

# ----------------------------------------------------------------------
# 2. Redis, 300r/m burst=300: 300 plus the refill during the run

{
    my $t0 = redis_us();
    my ($n, $secs) = flood('/minute?k=acc2', $A->port, $B->port);
    my $t1 = redis_us();
    my $elapsed = ($t1 - $t0) / 1e6;
    my $max = 300 + POSIX::ceil($elapsed * 5);
    diag(sprintf 'redis 300r/m: %s in %.3f s by Redis TIME: at most %d allowed',
         counts($n), $elapsed, $max);
    cmp_ok($n->{200}, '>=', 300, 'redis 300r/m: no fewer than the burst');
    cmp_ok($n->{200}, '<=', $max, "redis 300r/m: no more than the burst and the refill ($max)");
    is(($n->{200} // 0) + ($n->{429} // 0), $Procs * $PerProc, 'redis 300r/m: 200 or 429, nothing else');
}

# ----------------------------------------------------------------------
# 3. The next request is admitted when the algorithm says: 60r/m burst=2
#    spent at t0, one passes again at t0 + 1 s, not before

sub next_admitted {
    my ($path, @ports) = @_;
    my @at;                                     # [sent, status]
    my $t0 = time;
    for my $i (0 .. 2) {
        my ($status) = http_get($ports[$i % @ports], $path);
        push @at, [time - $t0, $status // 'none'];
    }
    my $first200;
    my $i = 0;
    while (time - $t0 < 2) {
        my $sent = time - $t0;
        my ($status, $h) = http_get($ports[$i++ % @ports], $path);
        push @at, [$sent, $status // 'none'];
        if (($status // 0) == 200) { $first200 = $sent; last }
        sleep 0.01;
    }
    my @early = grep { $_->[1] eq "200" && $_->[0] < 0.95 } @at[3 .. $#at];
    return (join(' ', map { $_->[1] } @at[0 .. 2]), $first200, scalar @early,
            scalar @at - 3);
}

{
    my ($first3, $first200, $early, $polls) = next_admitted('/slow?k=acc3', $A->port, $B->port);
    is($first3, '200 200 429', 'redis 60r/m burst=2: 2 pass, the third is limited');
    is($early, 0, 'redis 60r/m burst=2: nothing passes before 1 s');
    ok(defined $first200, 'redis 60r/m burst=2: one passes again');
    diag(sprintf 'redis 60r/m burst=2: the next passed at %.3f s (after %d polls)',
         $first200 // -1, $polls);
    cmp_ok($first200 // 9, '>=', 0.95, 'redis: not before 1 s');
    cmp_ok($first200 // 9, '<', 1.15, 'redis: and at 1 s');
}

# ----------------------------------------------------------------------
# 4. The shared-memory store on one instance's two workers

{
    my ($n, $secs) = flood('/shm?k=acc4', $A->port);
    diag(sprintf 'shm 300r/h: %s in %.2f s', counts($n), $secs);
    is($n->{200}, 300, 'shm 300r/h: exactly 300 pass');
    is($n->{429}, $Procs * $PerProc - 300, 'shm 300r/h: all the others get a 429');

    # and each instance has its own (not shared: that is what redis is for)
    my ($nb) = flood('/shm?k=acc4', $B->port);
    is($nb->{200}, 300, 'shm 300r/h: B has its own 300');
}

{
    my ($first3, $first200, $early, $polls) = next_admitted('/shmslow?k=acc5', $A->port);
    is($first3, '200 200 429', 'shm 60r/m burst=2: 2 pass, the third is limited');
    is($early, 0, 'shm 60r/m burst=2: nothing passes before 1 s');
    diag(sprintf 'shm 60r/m burst=2: the next passed at %.3f s (after %d polls)',
         $first200 // -1, $polls);
    cmp_ok($first200 // 9, '>=', 0.95, 'shm: not before 1 s');
    cmp_ok($first200 // 9, '<', 1.15, 'shm: and at 1 s');
}

my $log = $A->error_log . $B->error_log;
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

$A->stop;
$B->stop;
$redis->stop;

done_testing();
