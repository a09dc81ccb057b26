# A stalled Redis (SIGSTOP) behind Redis-backed zones, with two workers:
# the first request waits out the users_redis timeout (2 s here) and opens
# the breaker, for every worker and zone at once; every request after it
# is answered by the zone's on_error within a bound far below the timeout
# (0.5 s), in open, closed and local mode alike, for as long as Redis
# stalls (the requests below span more than the old 1 s breaker); the
# requests never wait for the probe (PING) that finds Redis back. Then the
# log: one line for the incident, one when Redis answers again.
#
# Plain Test::More (a private Redis it stalls, nginx with a master and two
# workers). Needs TEST_NGINX_BINARY / TEST_NGINX_LOAD_MODULES (t/run.sh
# sets them).

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

my $Bound = 0.5;        # seconds: far below the 2 s timeout

my $redis = redis_start();
my $rport = $redis->port;

my $ngx = nginx_start(
    name        => 't066',
    master      => 1,
    workers     => 2,
    log_level   => 'info',
    http_config => qq{
        users_redis 127.0.0.1:$rport timeout=2s connect_timeout=2s;
        users_limit_zone open   key=\$arg_k rate=1r/m burst=2 redis on_error=open;
        users_limit_zone closed key=\$arg_k rate=1r/m burst=2 redis on_error=closed;
        users_limit_zone local  key=\$arg_k rate=1r/m burst=4 redis on_error=local nodes=2;
    },
    config => q{
        add_header X-Limit "[$users_limit_status]" always;
        location = /open   { users_limit open;   alias html/ok.txt; }
        location = /closed { users_limit closed; alias html/ok.txt; }
        location = /local  { users_limit local;  alias html/ok.txt; }
    },
);
{
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
}

my $Unavailable = '{"error":"unavailable","message":"the user store is unavailable; retry later"}';

# what each mode answers while Redis stalls: status, X-Limit, RateLimit
my %Expect = (
    open   => ['200', '[FAILED_OPEN]', '-'],
    closed => ['503', '[]', '-'],
    local  => ['200', '[PASSED]', '"local";r=1;t=120'],
);

sub get {
    my ($path) = @_;
    my ($status, $h, $body, $elapsed) = http_get($ngx->port, $path);
    return { status => $status // 'none', limit => $h->{'x-limit'} // '-',
             rl => $h->{ratelimit} // '-', body => $body // '',
             elapsed => $elapsed };
}

sub seen { my $r = shift; "$r->{status} $r->{limit} $r->{rl}" }

# until Redis decides (a new key of the open zone: 1 left of 2)
sub until_redis {
    my $t0 = time;
    while (time - $t0 < 10) {
        return time - $t0
            if get("/open?k=back" . int(rand 1e9))->{rl} eq '"open";r=1;t=60';
        sleep 0.05;
    }
    return undef;
}

ok(defined until_redis(), 'Redis decides at the start');

my $n = 0;
for my $mode (qw(open closed local)) {
    my ($log, $pos) = $ngx->error_log;
    my $want = join ' ', @{ $Expect{$mode} };

    $redis->pause;

    # the first request finds Redis stalled: it waits out the timeout
    my $first = get("/$mode?k=" . ++$n);
    is(seen($first), $want, "$mode: the first request: $want");
    cmp_ok($first->{elapsed}, '>=', 1.5,
           sprintf '%s: ... after waiting out the timeout (%.2f s)', $mode, $first->{elapsed});
    cmp_ok($first->{elapsed}, '<', 3.5, "$mode: ... and no longer");

    # the next 16, one every 0.1 s (longer than the old 1 s breaker), then
    # 8 at once: each answered at once, by either worker
    my @r;
    for (1 .. 16) {
        push @r, get("/$mode?k=" . ++$n);
        sleep 0.1;
    }
    my @kids;
    pipe my $rd, my $wr or die $!;
    for (1 .. 8) {
        my $k = ++$n;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $rd;
            my $r = get("/$mode?k=$k");
            syswrite $wr, join("\t", seen($r), $r->{elapsed}) . "\n";
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    close $wr;
    waitpid $_, 0 for @kids;
    while (my $line = <$rd>) {
        chomp $line;
        my ($s, $e) = split /\t/, $line;
        push @r, { seen => $s, elapsed => $e };
    }
    close $rd;

    is(scalar @r, 24, "$mode: 24 requests after the first");
    is(scalar(grep { ($_->{seen} // seen($_)) eq $want } @r), 24,
       "$mode: each answered by on_error: $want");
    my @slow = grep { $_->{elapsed} >= $Bound } @r;
    is(scalar @slow, 0, sprintf '%s: each within %.1f s (slowest %.3f s)',
       $mode, $Bound, (sort { $b <=> $a } map { $_->{elapsed} } @r)[0]);
    is($first->{body}, $Unavailable, 'closed: the 503 body') if $mode eq 'closed';

    $redis->resume;
    my $t = until_redis();
    ok(defined $t, sprintf '%s: Redis decides again after it resumes (%.2f s)', $mode, $t // -1);

    ($log) = $ngx->error_log($pos);
    my @lines = grep { /users_limit:/ } split /\n/, $log;
    is(scalar(grep { /\[error\] \d+#\d+: users_limit: Redis does not answer; zones decide by on_error until it does again$/ } @lines),
       1, "$mode: one line for the incident, whichever worker saw it");
    is(scalar(grep { /\[notice\] \d+#\d+: users_limit: Redis answers again; zones are counted there again$/ } @lines),
       1, "$mode: one line when Redis answers again");
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, "$mode: no [crit], [alert], [emerg]");
}

$ngx->stop;
$redis->stop;

done_testing();
