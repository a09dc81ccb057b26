# The shipped conf/identity-users.conf enforces its seed's rate limit by
# itself (shared/seeds/004: "300 requests per minute per workspace,
# resulting in a 429 error if exceeded"): included in a server {} block,
# with nothing else about limits in nginx.conf.
#
#  - Two nginx nodes on one Redis: 300 requests of a workspace pass (plus
#    the refill while they run, 5 a second), then 429 on both nodes; the
#    other workspace has its own 300.
#  - The file included in two server blocks of one nginx: one zone (the
#    same definition twice), one count.
#  - Redis not answering: on_error=closed, 503 with Retry-After: 1 at once,
#    never an uncounted pass.
#
# Plain Test::More. Needs TEST_NGINX_BINARY / TEST_NGINX_LOAD_MODULES
# (t/run.sh sets them).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);
use UsersTest qw(redis_start nginx_start http_get free_port);

$UsersTest::Timeout = 5;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $conf = "$UsersTest::Root/conf/identity-users.conf";

my $redis = redis_start();
my $rport = $redis->port;

my %Tok = (a => 'uk_t065-alpha', b => 'uk_t065-bravo');
my %Ws = (a => 't065a', b => 't065b');

for my $n (keys %Tok) {
    my $ws = "users:{$Ws{$n}}";
    $redis->cmd('FCALL', 'users_schema', 1, $ws,
                'id:str,username:str,created_at:time', 'user_status', '');
    $redis->cmd('FCALL', 'users_upsert', 1, $ws, 'u1', id => 'u1',
                username => "u1\@$Ws{$n}.example", user_status => 'VERIFIED',
                created_at => '2024-01-01T00:00:00Z');
    $redis->cmd('HSET', 'users:token:' . sha256_hex($Tok{$n}), user => 'u1',
                ws => $Ws{$n}, role => 'admin', perms => 'view_all', exp => 0);
}

my $port2 = free_port();

# nothing about limits here: the included file is all
sub start {
    my ($name, $rp, $extra) = @_;
    return nginx_start(
        name        => $name,
        master      => 1,
        workers     => 2,
        log_level   => 'info',
        http_config => qq{
            users_redis 127.0.0.1:$rp timeout=300ms;
            $extra
        },
        config      => qq{
            users_auth "t065";
            include $conf;
        },
    );
}

my $A = start('t065a', $rport, qq{
    server {
        listen 127.0.0.1:$port2;
        server_name second;
        users_auth "t065";
        include $conf;
    }
});
my $B = start('t065b', $rport, '');

my $Path = '/identity/v1/users?limit=1';
my $Limited = qr/^\{"error":"rate_limited","message":"too many requests; retry in \d s"\}$/;

sub get {
    my ($port, $tok) = @_;
    my ($status, $h, $body) = http_get($port, $Path,
                                       $tok ? (Authorization => "Bearer $tok") : ());
    return { status => $status // 'none', h => $h, body => $body // '' };
}

# ----------------------------------------------------------------------
# 1. 300 a minute per workspace, across the two nodes

{
    my $t0 = time;
    my (@r, $first429);
    for my $i (0 .. 399) {
        push @r, get($i % 2 ? $B->port : $A->port, $Tok{a});
        if ($r[-1]{status} == 429) { $first429 = $i; last }
    }
    my $elapsed = time - $t0;
    my $passed = grep { $_->{status} == 200 } @r;
    diag(sprintf '%d passed in %.2f s before the first 429', $passed, $elapsed);
    is(scalar(grep { $_->{status} != 200 } @r[0 .. $#r - 1]), 0, 'a: 200 until the first 429');
    cmp_ok($passed, '>=', 300, 'a: at least 300 pass');
    cmp_ok($passed, '<=', 300 + int($elapsed * 5) + 1,
           'a: no more than 300 and the refill (5 a second) while they ran');
    my $last = $r[-1];
    is($last->{status}, 429, 'a: then 429');
    like($last->{body}, $Limited, 'a: the 429 body');
    like($last->{h}{'retry-after'} // '', qr/^1$/, 'a: Retry-After: 1 (one every 200 ms)');
    is($last->{h}{'ratelimit-policy'}, '"identity_workspace";q=300;w=60', 'a: RateLimit-Policy');
    like($last->{h}{ratelimit} // '', qr/^"identity_workspace";r=0;t=60$/, 'a: RateLimit on the 429');
    is($r[0]{h}{'ratelimit-policy'}, '"identity_workspace";q=300;w=60', 'a: RateLimit-Policy on a 200');
    is($r[0]{h}{ratelimit}, '"identity_workspace";r=299;t=1', 'a: RateLimit on the first 200');
    like($r[0]{body}, qr/^\{"offset":0,"count":1,"total":1,"items":\[\{"id":"u1"/, 'a: the first is the list');

    # both nodes read the one count: moved 61 s past a full burst in
    # Redis, both refuse with the same Retry-After
    my $key = "users:limit:{identity_workspace}:$Ws{a}";
    my $t = $redis->cmd('TIME');
    my $tat = ($t->[0] + 121) * 1_000_000 + $t->[1];
    $redis->cmd('SET', $key, $tat, 'PX', 121_000);
    for my $node ($A, $B) {
        my $r = get($node->port, $Tok{a});
        is($r->{status}, 429, 'a: node ' . ($node == $A ? 'A' : 'B') . ' refuses');
        like($r->{h}{'retry-after'} // '', qr/^6[12]$/, '... Retry-After: 61 s');
    }
    my $b = get($A->port, $Tok{b});
    is($b->{status}, 200, 'b: another workspace passes');
    is($b->{h}{ratelimit}, '"identity_workspace";r=299;t=1', 'b: its own 300');

    # no token: 401 from users_auth, before the limit (nothing counted)
    my $none = get($A->port);
    is($none->{status}, 401, 'no token: 401, not 429');
    ok(!exists $none->{h}{ratelimit}, 'no token: no RateLimit');

    # the second server of A includes the same file: one zone, one count
    my $s2 = get($port2, $Tok{b});
    is($s2->{status}, 200, 'second server: 200');
    is($s2->{h}{ratelimit}, '"identity_workspace";r=298;t=1', 'second server: the same count');
    is($redis->cmd('EXISTS', "users:limit:{identity_workspace}:$Ws{a}"), 1,
       'the count lives in Redis, by workspace');
}

my $log = $A->error_log . $B->error_log;
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

# ----------------------------------------------------------------------
# 2. Redis stops: the token is in the worker's cache, the limit cannot be
#    counted: 503 at once (on_error=closed), never a pass

{
    my $r2 = redis_start();
    $r2->cmd('HSET', 'users:token:' . sha256_hex($Tok{a}), user => 'u1',
             ws => 't065c', role => 'admin', perms => 'view_all', exp => 0);
    my $C = start('t065c', $r2->port, '');
    # each worker caches the token (connections land on either)
    my @warm = map { get($C->port, $Tok{a})->{status} } 1 .. 6;
    is(scalar(grep { $_ != 401 } @warm), 6, 'closed: the token is known');
    my (undef, $pos) = $C->error_log;
    $r2->stop;
    my @r = map { get($C->port, $Tok{a}) } 1 .. 4;
    is(join(' ', map { $_->{status} } @r), '503 503 503 503', 'closed: Redis down: 503');
    is($r[0]{h}{'retry-after'}, '1', 'closed: Retry-After: 1');
    is($r[0]{body}, '{"error":"unavailable","message":"the user store is unavailable; retry later"}',
       'closed: the body');
    my ($clog) = $C->error_log($pos);
    like($clog, qr/\[error\] \d+#\d+: users_limit: Redis does not answer; zones decide by on_error until it does again/,
         'closed: the limit saw Redis fail (on_error=closed answered)');
    unlike($clog, qr/\[(?:crit|alert|emerg)\]/, 'closed: no [crit]');
    $C->stop;
}

$A->stop;
$B->stop;
$redis->stop;

done_testing();
