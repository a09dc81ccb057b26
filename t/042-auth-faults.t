# users_auth against time and a failing Redis: the token cache (a revoked
# token passes for up to users_auth_cache valid=, an unknown one is refused
# for invalid=, never past the record's exp), and Redis down or stalled
# during a lookup: 503 for an uncached token (an outage is no bad token), a
# cached token still passes the access phase. No token reaches the error
# log on any path.
#
# A plain Test::More file (it changes Redis between requests and waits), so
# it runs the same under the project's runner and the real Test::Nginx.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET ();
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);
use UsersTest qw(redis_start nginx_start http_get);

$UsersTest::Timeout = 3;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $Unauthorized = '{"error":"unauthorized","message":"a bearer token is required"}';
my $BadToken = '{"error":"invalid_token","message":"the token is unknown, revoked or expired"}';
my $Unavailable = '{"error":"unavailable","message":"the user store is unavailable; retry later"}';
my $Timeout = '{"error":"timeout","message":"the user store did not answer in time"}';
my $Ann = '{"count":1,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"}]}';

my $redis = redis_start();
my $rport = $redis->port;

$redis->cmd('FCALL', 'users_upsert', 1, 'users:{t042}', 1, name => 'Ann');

my @tokens;    # every token used: none may be in a log

sub tok {
    my $t = 'uk_t042_' . shift;
    push @tokens, $t;
    return $t;
}

sub key { 'users:token:' . sha256_hex($_[0]) }

sub grant {
    my ($t, %f) = @_;
    $redis->cmd('HSET', key($t), user => 1, ws => 't042', role => 'admin',
                perms => 'view_all', exp => 0, %f);
}

sub revoke { $redis->cmd('DEL', key($_[0])) }

my $Config = q{
        users_auth "t042";
        users_auth_query access_token;
        location = /who {
            alias html/who.txt;
            add_header X-User-Id "[$users_user_id]";
            add_header X-Workspace "[$users_workspace]";
        }
        location = /u {
            users_list;
            users_workspace $users_workspace;
            users_field id   int;
            users_field name string;
        }
};

sub start {
    my ($name, $http) = @_;
    my $ngx = nginx_start(name => $name, config => $Config,
                          http_config => "users_redis 127.0.0.1:$rport "
                                         . "timeout=500ms; $http");
    open my $fh, '>', $ngx->root . '/html/who.txt' or die "who.txt: $!\n";
    print $fh "ok\n";
    close $fh;
    return $ngx;
}

sub get {
    my ($ngx, $path, $t) = @_;
    my ($status, $h, $body, $elapsed) =
        http_get($ngx->port, $path, $t ? (Authorization => "Bearer $t") : ());
    return ($status // 0, $h, $body // '', $elapsed);
}

sub no_tokens_logged {
    my ($ngx, $name) = @_;
    my $log = $ngx->error_log;
    my @hits = grep { my $l = $_; grep { index($l, $_) >= 0
                                         || index($l, sha256_hex($_)) >= 0 }
                                       @tokens }
               split /\n/, $log;
    is(scalar @hits, 0, "$name: no token (nor digest) in the error log")
        or diag join "\n", @hits;
}


# ----------------------------------------------------------------------
# 1. valid=1s invalid=1s

{
    my $ngx = start('f042a', 'users_auth_cache valid=1s invalid=1s;');
    my $name = 'short cache';

    my $t = tok('revoke');
    grant($t);
    my ($s, $h, $b) = get($ngx, '/who', $t);
    is($s, 200, "$name: a granted token passes");
    is($h->{'x-user-id'}, '[1]', "$name: its principal");

    revoke($t);
    ($s, $h, $b) = get($ngx, '/who', $t);
    is($s, 200, "$name: revoked, still passing from the cache");
    is($h->{'x-workspace'}, '[t042]', "$name: the cached principal");
    ($s, $h, $b) = get($ngx, '/u', $t);
    is($b, $Ann, "$name: the cached principal reads its workspace");

    sleep 2.1;
    ($s, $h, $b) = get($ngx, '/who', $t);
    is($s, 401, "$name: refused once valid= is over");
    is($b, $BadToken, "$name: invalid_token");
    like($h->{'www-authenticate'} // '', qr/error="invalid_token"/,
         "$name: the challenge");

    # negative caching
    my $u = tok('late');
    revoke($u);
    ($s, $h, $b) = get($ngx, '/who', $u);
    is($s, 401, "$name: unknown token 401");
    grant($u);
    ($s, $h, $b) = get($ngx, '/who', $u);
    is($s, 401, "$name: granted after being seen unknown: still 401 (invalid=)");
    sleep 2.1;
    ($s, $h, $b) = get($ngx, '/who', $u);
    is($s, 200, "$name: passes once invalid= is over");

    # a re-granted token with another principal is seen after valid=
    grant($u, user => 2, ws => 't042x');
    ($s, $h) = get($ngx, '/who', $u);
    is($h->{'x-user-id'}, '[1]', "$name: the old principal while cached");
    sleep 2.1;
    ($s, $h) = get($ngx, '/who', $u);
    is($h->{'x-user-id'}, '[2]', "$name: the new principal after valid=");
    is($h->{'x-workspace'}, '[t042x]', "$name: and its workspace");

    no_tokens_logged($ngx, $name);
    $ngx->stop;
}


# ----------------------------------------------------------------------
# 2. the default cache (30 s), exp, then Redis down and stalled

{
    my $ngx = start('f042b', '');
    my $name = 'default cache';

    my $t = tok('cached');
    grant($t);
    my ($s, $h, $b) = get($ngx, '/u', $t);
    is($b, $Ann, "$name: the list with a granted token");
    revoke($t);
    sleep 1.1;
    ($s) = get($ngx, '/who', $t);
    is($s, 200, "$name: revoked a second ago: still passing (valid=30s)");

    # exp bounds the cache: never past the record's expiry
    my $e = tok('expiring');
    grant($e, exp => int(time()) + 2);
    ($s) = get($ngx, '/who', $e);
    is($s, 200, "$name: expiring in 2 s: passes now");
    sleep 3.1;
    ($s, $h, $b) = get($ngx, '/who', $e);
    is($s, 401, "$name: refused after exp, although valid= is 30 s");
    is($b, $BadToken, "$name: invalid_token");

    # a token seen unknown long ago (invalid=5s default) is not tested here

    # Redis stopped: an uncached token is 503, never 401
    my $fresh = tok('fresh');
    grant($fresh);
    my $fresh_q = tok('fresh_query');
    grant($fresh_q);
    $redis->stop;

    ($s, $h, $b) = get($ngx, '/who', $fresh);
    is($s, 503, "redis down: an uncached token: 503");
    is($b, $Unavailable, "redis down: the unavailable body");
    is($h->{'retry-after'}, '1', "redis down: Retry-After");
    ok(!defined $h->{'www-authenticate'}, "redis down: no challenge");

    ($s, $h, $b) = get($ngx, '/who?access_token=' . $fresh_q);
    is($s, 503, "redis down: an uncached parameter token: 503");

    ($s, $h, $b) = get($ngx, '/who');
    is($s, 401, "redis down: no token is still 401");
    is($b, $Unauthorized, "redis down: unauthorized");

    ($s, $h, $b) = get($ngx, '/who', 'bad!token');
    is($s, 400, "redis down: a malformed token is still 400");

    ($s, $h, $b) = get($ngx, '/who', $t);
    is($s, 200, "redis down: a cached token passes the access phase");
    is($h->{'x-user-id'}, '[1]', "redis down: with its principal");
    ($s, $h, $b) = get($ngx, '/u', $t);
    is($s, 503, "redis down: its data still needs Redis: 503");
    is($b, $Unavailable, "redis down: the unavailable body for the data");

    # Redis back, then stalled (SIGSTOP: accepts, never answers)
    $redis->start;
    $redis->cmd('FCALL', 'users_upsert', 1, 'users:{t042}', 1, name => 'Ann');
    my $stall = tok('stall');
    grant($stall);
    my $stall_q = tok('stall_query');
    grant($stall_q);
    my $gone = tok('gone');
    grant($gone);
    my $deadline = time + 3;
    my $ok;
    while (time < $deadline) {
        ($s, $h, $b) = get($ngx, '/u', $t);
        last if $ok = ($s == 200);
        sleep 0.05;
    }
    ok($ok, "redis back: the cached token lists again");

    $redis->pause;
    my $elapsed;
    ($s, $h, $b, $elapsed) = get($ngx, '/who', $stall);
    # as for data (t/020): a stall past timeout= is 504 "timeout"
    is($s, 504, "redis stalled: an uncached token: 504, not 401");
    is($b, $Timeout, "redis stalled: the timeout body");
    cmp_ok($elapsed, '<', 1.5, "redis stalled: answered after the 500ms timeout");

    ($s, $h, $b) = get($ngx, '/who?access_token=' . $stall_q);
    is($s, 504, "redis stalled: a parameter token: 504");

    ($s, $h, $b, $elapsed) = get($ngx, '/who', $t);
    is($s, 200, "redis stalled: a cached token passes");
    cmp_ok($elapsed, '<', 0.3, "redis stalled: without waiting for Redis");

    # a client that leaves while its lookup waits: nothing breaks
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ngx->port, Proto => 'tcp')
        or die "connect: $!\n";
    {
        print {$c} "GET /who HTTP/1.1\r\nHost: localhost\r\n"
                   . "Authorization: Bearer $gone\r\n\r\n";
        sleep 0.1;
        close $c;
    }

    $redis->resume;
    $deadline = time + 3;
    $ok = 0;
    while (time < $deadline) {
        ($s) = get($ngx, '/who', $stall);
        last if $ok = ($s == 200);
        sleep 0.05;
    }
    ok($ok, "redis resumed: the stalled token passes now (an outage is not cached)");
    ($s) = get($ngx, '/who', $gone);
    is($s, 200, "redis resumed: the token of the client that left passes");

    my $log = $ngx->error_log;
    unlike($log, qr/\[(?:crit|alert|emerg)\]|segfault|exited on signal/,
           "no crash or alert");
    no_tokens_logged($ngx, 'faults');
    $ngx->stop;
}

$redis->stop;


# ----------------------------------------------------------------------
# 3. Redis BUSY (a script past lua-time-limit) during a lookup: 503 with
#    Retry-After, as for any unavailability, never 401 or 502; not cached:
#    the token passes once Redis answers again

sub hmgets {
    my $r = shift;
    my ($n) = ($r->cmd('INFO', 'commandstats') =~ /^cmdstat_hmget:calls=(\d+)/m);
    return $n // 0;
}

{
    $redis->start;
    $redis->cmd('CONFIG', 'SET', 'lua-time-limit', 100);
    my $ngx = start('f042c', '');
    my $name = 'busy';

    my $warm = tok('busy_warm');
    grant($warm);
    my $busy = tok('busy');
    grant($busy);
    my $busy_q = tok('busy_query');
    grant($busy_q);

    my ($s, $h, $b) = get($ngx, '/who', $warm);
    is($s, 200, "$name: before: a token passes (and is cached)");

    # a script that never ends, from a connection of its own
    my $script = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                       PeerPort => $rport, Proto => 'tcp')
        or die "connect: $!\n";
    my $lua = 'while true do end';
    print {$script} "*3\r\n\$4\r\nEVAL\r\n\$" . length($lua)
                    . "\r\n$lua\r\n\$1\r\n0\r\n";
    sleep 0.3;

    my $pos = length $ngx->error_log;
    ($s, $h, $b) = get($ngx, '/who', $busy);
    is($s, 503, "$name: an uncached token: 503, not 502 or 401");
    is($b, $Unavailable, "$name: the unavailable body");
    is($h->{'retry-after'}, '1', "$name: Retry-After");
    ok(!defined $h->{'www-authenticate'}, "$name: no challenge");

    ($s, $h, $b) = get($ngx, '/who?access_token=' . $busy_q);
    is($s, 503, "$name: an uncached parameter token: 503");
    is($h->{'retry-after'}, '1', "$name: Retry-After for it too");

    ($s, $h) = get($ngx, '/who', $warm);
    is($s, 200, "$name: a cached token still passes");

    my $log = substr($ngx->error_log, $pos);
    my @warn = grep { /\[warn\].*users: redis cannot look up tokens now: BUSY/ }
               split /\n/, $log;
    ok(@warn >= 1 && @warn <= 2,
       "$name: a warning, at most one a second") or diag $log;
    unlike($log, qr/\[(?:error|crit|alert|emerg)\]/, "$name: nothing worse");

    is(eval { $redis->cmd('SCRIPT', 'KILL') } // $@, 'OK', "$name: SCRIPT KILL");
    close $script;

    my $deadline = time + 3;
    while (time < $deadline) {
        ($s) = get($ngx, '/who', $busy);
        last if $s == 200;
        sleep 0.05;
    }
    is($s, 200, "$name: Redis answers again: the token passes (a 503 is not cached)");

    no_tokens_logged($ngx, $name);
    $ngx->stop;
}


# ----------------------------------------------------------------------
# 4. Once per request: a token is looked up once, whatever internal
#    redirects and subrequests the request makes; each location still
#    checks its own users_auth_require. valid=0s: no cache between
#    requests, so every request's lookups show in Redis's HMGET count.

{
    my $name = 'once';
    my $conf = q{
        users_auth "c";
        location = /redirect {
            try_files /nonexistent /admin-only;
        }
        location = /admin-only {
            internal;
            users_auth_require admin;
            alias html/who.txt;
        }
        location = /gated {
            auth_request /_gate;
            alias html/who.txt;
            add_header X-User-Id "[$users_user_id]";
        }
        location = /_gate {
            internal;
            users_auth_require admin;
            empty_gif;
        }
        location = /page.html {
            users_auth off;
            ssi on;
            root html;
        }
        location = /part {
            alias html/who.txt;
        }
    };
    my $ngx = nginx_start(name => 'f042d', config => $conf,
                          http_config => "users_redis 127.0.0.1:$rport "
                                         . 'timeout=500ms; users_auth_cache '
                                         . 'valid=0s invalid=0s;');
    for (['who.txt', "ok\n"],
         ['page.html', '[<!--# include virtual="/part" -->|'
                       . '<!--# include virtual="/part" -->]'])
    {
        open my $fh, '>', $ngx->root . "/html/$_->[0]" or die "$_->[0]: $!\n";
        print $fh $_->[1];
        close $fh;
    }

    my $admin = tok('once_admin');
    grant($admin);
    my $user = tok('once_user');
    grant($user, role => 'user', perms => '');

    my $count = sub {
        my ($path, $t) = @_;
        $redis->cmd('CONFIG', 'RESETSTAT');
        my ($s, $h, $b) = get($ngx, $path, $t);
        return ($s, $b, hmgets($redis), $h);
    };

    my ($s, $b, $n, $h) = $count->('/redirect', $admin);
    is("$s $n", '200 1', "$name: an internal redirect: 200, one lookup");
    ($s, $b, $n) = $count->('/redirect', $user);
    is("$s $n", '403 1', "$name: the redirect's target requires admin: 403, one lookup");

    ($s, $b, $n, $h) = $count->('/gated', $admin);
    is("$s $n", '200 1', "$name: auth_request from a users_auth location: one lookup");
    is($h->{'x-user-id'}, '[1]', "$name: the main request sees the principal");
    ($s, $b, $n) = $count->('/gated', $user);
    is("$s $n", '403 1', "$name: its gate requires admin: 403, one lookup");

    ($s, $b, $n) = $count->('/page.html', $admin);
    is("$s $b $n", "200 [ok\n|ok\n] 1",
       "$name: two SSI includes at once: both pass on one lookup");
    ($s, $b, $n) = $count->('/page.html');
    like($b, qr/^\[\{"error":"unauthorized".*\|\{"error":"unauthorized".*\]$/s,
         "$name: two SSI includes without a token: each a 401");
    is($n, 0, "$name: and no lookup");

    my $log = $ngx->error_log;
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, "$name: no crash or alert");
    no_tokens_logged($ngx, $name);
    $ngx->stop;
}

$redis->stop;

done_testing();
