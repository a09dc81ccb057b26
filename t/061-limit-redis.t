# Rate limits in Redis (users_limit_zone ... redis): one FCALL users_limit a
# decision, so two nginx instances share every limit.  When Redis fails,
# on_error says what then: open (pass, $users_limit_status FAILED_OPEN),
# closed (503 unavailable), local (this node's shared memory, with its
# share of the limit: nodes=N).  Redis stopped, then stalled (SIGSTOP): the
# breaker (shared by every worker and zone of an nginx, until a probe finds
# Redis answering) means only the first request waits out the timeout,
# the following ones are answered at once.
#
# A plain Test::More file (two nginx, a private Redis it stops and stalls).
# Needs TEST_NGINX_BINARY / TEST_NGINX_LOAD_MODULES (t/run.sh sets them).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use Digest::SHA qw(sha256_hex);
use UsersTest qw(redis_start nginx_start http_get);

$UsersTest::Timeout = 3;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $Unavailable = '{"error":"unavailable","message":"the user store is unavailable; retry later"}';
sub limited { sprintf '{"error":"rate_limited","message":"too many requests; retry in %d s"}', shift }

my $redis = redis_start();
my $rport = $redis->port;

my $Http = qq{
    users_redis 127.0.0.1:$rport timeout=300ms connect_timeout=300ms;
    users_limit_zone shared  key=\$arg_k rate=1r/m burst=4 redis;
    users_limit_zone open    key=\$arg_k rate=1r/m burst=2 redis on_error=open;
    users_limit_zone closed  key=\$arg_k rate=1r/m burst=2 redis on_error=closed;
    users_limit_zone local   key=\$arg_k rate=1r/m burst=4 redis on_error=local nodes=2;
};
my $Config = q{
        location = /shared { users_limit shared; alias html/ok.txt;
                             add_header X-Limit "[$users_limit_status]" always; }
        location = /open   { users_limit open;   alias html/ok.txt;
                             add_header X-Limit "[$users_limit_status]" always; }
        location = /closed { users_limit closed; alias html/ok.txt;
                             add_header X-Limit "[$users_limit_status]" always; }
        location = /local  { users_limit local;  alias html/ok.txt;
                             add_header X-Limit "[$users_limit_status]" always; }
};

sub start {
    my $name = shift;
    my $ngx = nginx_start(name => $name, http_config => $Http, config => $Config);
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
    close $fh;
    return $ngx;
}

my $A = start('t061a');
my $B = start('t061b');

sub get {
    my ($ngx, $path) = @_;
    my ($status, $h, $body, $elapsed) = http_get($ngx->port, $path);
    return { status => $status // 'none', h => $h, body => $body // '',
             elapsed => $elapsed };
}

# ----------------------------------------------------------------------
# 1. One limit across two nginx: burst=4 spent alternately on A and B

{
    my @r = map { get($_ % 2 ? $B : $A, '/shared?k=s1') } 0 .. 5;
    is(join(' ', map { $_->{status} } @r), '200 200 200 200 429 429',
       'shared: 4 pass across A and B, then both refuse');
    is(join(' ', map { $_->{h}{ratelimit} // '-' } @r[0 .. 3]),
       join(' ', map { "\"shared\";r=$_;t=" . 60 * (4 - $_) } 3, 2, 1, 0),
       'shared: RateLimit counts down across the instances');
    is($r[0]{h}{'ratelimit-policy'}, '"shared";q=1;w=60', 'shared: policy');
    is($r[0]{h}{'x-limit'}, '[PASSED]', 'shared: PASSED');
    is($r[4]{h}{'retry-after'}, '60', 'shared: Retry-After on A');
    is($r[5]{h}{'retry-after'}, '60', 'shared: Retry-After on B');
    is($r[5]{body}, limited(60), 'shared: 429 body');
    is($r[5]{h}{'x-limit'}, '[REJECTED]', 'shared: REJECTED');
    is($r[5]{h}{'ratelimit'}, '"shared";r=0;t=240', 'shared: RateLimit on 429');

    my $tat = $redis->cmd('GET', 'users:limit:{shared}:s1');
    like($tat // '', qr/^\d{16}$/, 'shared: the key holds a TAT in microseconds');
    my $pttl = $redis->cmd('PTTL', 'users:limit:{shared}:s1');
    cmp_ok($pttl, '>', 235_000, "shared: it expires when the bucket is full again (PTTL $pttl)");
    cmp_ok($pttl, '<=', 240_000, 'shared: ... not later');

    # another key, another bucket
    is(get($B, '/shared?k=s2')->{status}, 200, 'shared: another key passes');

    # a key over 64 bytes is named by "#" and its SHA-256; two keys of
    # 1000 bytes that differ only in the last are two buckets
    my $long = 'x' x 999;
    my @l = map { get($_ % 2 ? $B : $A, "/shared?k=$long" . ($_ < 5 ? 'a' : 'b'))->{status} } 0 .. 5;
    is("@l", '200 200 200 200 429 200', 'shared: keys of 1000 bytes, each its own bucket');
    is($redis->cmd('EXISTS', 'users:limit:{shared}:#' . sha256_hex("${long}a")), 1,
       'shared: a long key is named by its SHA-256 in Redis');
    is($redis->cmd('EXISTS', 'users:limit:{shared}:' . ('y' x 64)), 0, 'shared: (nothing there yet)');
    get($A, '/shared?k=' . ('y' x 64));
    is($redis->cmd('EXISTS', 'users:limit:{shared}:' . ('y' x 64)), 1,
       'shared: a key of 64 bytes is itself');

    # an empty key is not limited, and asks nothing of Redis
    my $before = $redis->cmd('INFO', 'commandstats') =~ /^cmdstat_fcall:calls=(\d+)/m ? $1 : 0;
    my @e = map { get($A, '/shared') } 1 .. 6;
    is(join(' ', map { $_->{status} } @e), '200 200 200 200 200 200', 'shared: empty key not limited');
    ok(!exists $e[0]{h}{ratelimit}, 'shared: empty key: no RateLimit');
    my $after = $redis->cmd('INFO', 'commandstats') =~ /^cmdstat_fcall:calls=(\d+)/m ? $1 : 0;
    is($after - $before, 0, 'shared: empty key: no FCALL');
}

# ----------------------------------------------------------------------
# 2. Redis stopped: open, closed, local

my ($posA) = ($A->error_log)[1];
$redis->stop;

{
    my @r = map { get($A, '/open?k=o1') } 1 .. 4;
    is(join(' ', map { $_->{status} } @r), '200 200 200 200', 'stopped, open: every request passes');
    is(join(' ', map { $_->{h}{'x-limit'} // '-' } @r),
       '[FAILED_OPEN] [FAILED_OPEN] [FAILED_OPEN] [FAILED_OPEN]', 'stopped, open: FAILED_OPEN');
    ok(!exists $r[0]{h}{ratelimit} && !exists $r[0]{h}{'ratelimit-policy'},
       'stopped, open: no RateLimit headers (nothing was counted)');
    my $slow = (sort { $b <=> $a } map { $_->{elapsed} } @r)[0];
    cmp_ok($slow, '<', 0.2, sprintf 'stopped, open: fast (slowest %.3f s): refused, not timed out', $slow);

    my @c = map { get($A, '/closed?k=c1') } 1 .. 3;
    is(join(' ', map { $_->{status} } @c), '503 503 503', 'stopped, closed: 503');
    is($c[0]{body}, $Unavailable, 'stopped, closed: unavailable body');
    is($c[0]{h}{'retry-after'}, '1', 'stopped, closed: Retry-After: 1');
    is($c[0]{h}{'content-type'}, 'application/json', 'stopped, closed: JSON');
    ok(!exists $c[0]{h}{ratelimit}, 'stopped, closed: no RateLimit');

    # burst=4 nodes=2: this node lets 2 pass, then one every 2 minutes
    my @l = map { get($A, '/local?k=l1') } 1 .. 3;
    is(join(' ', map { $_->{status} } @l), '200 200 429', 'stopped, local: the node\'s share (2 of 4)');
    is($l[0]{h}{'x-limit'}, '[PASSED]', 'stopped, local: PASSED');
    is($l[0]{h}{ratelimit}, '"local";r=1;t=120', 'stopped, local: RateLimit from the share');
    is($l[2]{h}{'retry-after'}, '120', 'stopped, local: Retry-After: a share\'s interval');
    is($l[2]{body}, limited(120), 'stopped, local: 429 body');
    # B has its own share
    is(join(' ', map { get($B, '/local?k=l1')->{status} } 1 .. 3), '200 200 429',
       'stopped, local: B has its own share');

    my ($log) = $A->error_log($posA);
    my @lines = grep { /\[(?:error|warn)\]/ } split /\n/, $log;
    is(scalar(grep { /redis 127\.0\.0\.1:$rport: Server closed the connection; retrying with backoff$/ } @lines),
       1, 'stopped: one line for Redis going away');
    is(scalar(grep { /\[error\] \d+#\d+: \*\d+ limiting requests by zone "local", client: 127\.0\.0\.1, / } @lines),
       1, 'stopped: one line for the local 429');
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'stopped: no [crit]/[alert]');
}

# ----------------------------------------------------------------------
# 3. Redis back (no data: a new bucket): after the breaker, limits are
#    shared again

$redis->start;
{
    # the first request of each worker and zone after the restart may still
    # fail open (reconnecting; the breaker): poll until Redis decides
    my $until_passed = sub {
        my ($ngx, $path) = @_;
        my $t0 = time;
        my $r;
        while (time - $t0 < 5) {
            $r = get($ngx, $path);
            last if ($r->{h}{'x-limit'} // '') eq '[PASSED]';
            sleep 0.1;
        }
        return ($r, time - $t0);
    };
    my ($r, $t) = $until_passed->($A, '/shared?k=back');
    is($r->{h}{ratelimit}, '"shared";r=3;t=60', sprintf 'back: A: Redis decides again after %.2f s', $t);
    ($r, $t) = $until_passed->($B, '/shared?k=back');
    # t: 120 s less the time B took to get there
    like($r->{h}{ratelimit} // '', qr/^"shared";r=2;t=1(?:1[5-9]|20)$/,
         sprintf 'back: B: shared again after %.2f s', $t);
    cmp_ok($t, '<', 2.5, 'back: within the breaker and the reconnect');
    ($r, $t) = $until_passed->($A, '/open?k=back');
    is($r->{h}{ratelimit}, '"open";r=1;t=60', sprintf 'back: the open zone after %.2f s', $t);
}

# ----------------------------------------------------------------------
# 4. Redis stalled (SIGSTOP): the first request waits out the 300 ms
#    timeout and opens the breaker, for every zone; the following ones are
#    answered at once in every mode, and still after 1.1 s: no request
#    waits for the probe that looks for Redis (t/066 does this with two
#    workers and a 2 s timeout)

$redis->pause;
{
    my @r = map { get($A, "/open?k=st$_") } 1 .. 6;
    is(join(' ', map { $_->{status} } @r), '200 200 200 200 200 200', 'stalled, open: pass');
    is(join(' ', map { $_->{h}{'x-limit'} // '-' } @r),
       join(' ', ('[FAILED_OPEN]') x 6), 'stalled, open: FAILED_OPEN');
    my @e = map { $_->{elapsed} } @r;
    diag(sprintf 'stalled, open: request times %s s', join ' ', map { sprintf '%.3f', $_ } @e);
    cmp_ok($e[0], '>=', 0.28, sprintf 'stalled, open: the first waits the timeout (%.3f s)', $e[0]);
    cmp_ok($e[0], '<', 0.8, 'stalled, open: ... and no more');
    my $rest = (sort { $b <=> $a } @e[1 .. $#e])[0];
    cmp_ok($rest, '<', 0.05, sprintf 'stalled, open: the next 5 at once (slowest %.3f s)', $rest);

    # the breaker is open for every zone: closed and local answer at once
    my @c = map { get($A, "/closed?k=st$_") } 1 .. 4;
    is(join(' ', map { $_->{status} } @c), '503 503 503 503', 'stalled, closed: 503');
    is($c[0]{body}, $Unavailable, 'stalled, closed: unavailable body');
    @e = map { $_->{elapsed} } @c;
    diag(sprintf 'stalled, closed: request times %s s', join ' ', map { sprintf '%.3f', $_ } @e);
    $rest = (sort { $b <=> $a } @e)[0];
    cmp_ok($rest, '<', 0.05, sprintf 'stalled, closed: at once (slowest %.3f s)', $rest);

    my @l = map { get($A, '/local?k=st') } 1 .. 3;
    is(join(' ', map { $_->{status} } @l), '200 200 429', 'stalled, local: the node\'s share');
    @e = map { $_->{elapsed} } @l;
    diag(sprintf 'stalled, local: request times %s s', join ' ', map { sprintf '%.3f', $_ } @e);
    $rest = (sort { $b <=> $a } @e)[0];
    cmp_ok($rest, '<', 0.05, sprintf 'stalled, local: at once (slowest %.3f s)', $rest);

    # B has not asked Redis yet: the breaker is shared, B answers at once
    my @b = map { get($B, "/open?k=stb$_") } 1 .. 3;
    is(join(' ', map { $_->{h}{'x-limit'} // '-' } @b),
       '[FAILED_OPEN] [FAILED_OPEN] [FAILED_OPEN]', 'stalled, B: FAILED_OPEN');
    cmp_ok($b[0]{elapsed}, '>=', 0.28, sprintf 'stalled, B (another nginx, its own shared memory): its first waits (%.3f s)', $b[0]{elapsed});

    # 1.1 s later, Redis still stalled: still at once (probes run aside)
    sleep 1.1;
    my @again = map { get($A, "/open?k=again$_") } 1 .. 3;
    @e = map { $_->{elapsed} } @again;
    diag(sprintf 'stalled, open, after 1.1 s: request times %s s', join ' ', map { sprintf '%.3f', $_ } @e);
    $rest = (sort { $b <=> $a } @e)[0];
    cmp_ok($rest, '<', 0.05, sprintf 'stalled, after 1.1 s: still at once (slowest %.3f s)', $rest);
    is(join(' ', map { $_->{h}{'x-limit'} // '-' } @again),
       '[FAILED_OPEN] [FAILED_OPEN] [FAILED_OPEN]', 'stalled, after 1.1 s: FAILED_OPEN');
}
$redis->resume;

# resumed: Redis decides again (after the breaker)
{
    my $t0 = time;
    my $r;
    while (time - $t0 < 5) {
        $r = get($B, '/closed?k=resumed');
        last if $r->{status} == 200;
        sleep 0.1;
    }
    is($r->{status}, 200, sprintf 'resumed: closed zone answers again after %.2f s', time - $t0);
    is($r->{h}{ratelimit}, '"closed";r=1;t=60', 'resumed: counted in Redis');
}

my $log = $A->error_log . $B->error_log;
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg] in either log');
unlike($log, qr/k=\w+.*users:limit|users:limit:\{\w+\}:\w/, 'no limit key in the logs');

$A->stop;
$B->stop;
$redis->stop;

done_testing();
