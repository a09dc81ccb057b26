# Redis faults, seen from the client and from the error log: refused (down
# at start-up), the reconnect backoff, stalled (SIGSTOP), restarted.  No
# nginx reload anywhere: every recovery is the module's own.
#
# A plain Test::More file (it needs concurrency and its own Redis servers),
# so it runs the same under the project's runner and the real Test::Nginx.
# Needs TEST_NGINX_BINARY / TEST_NGINX_LOAD_MODULES (t/run.sh sets them).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET ();
use IO::Select ();
use POSIX ();
use Time::HiRes qw(time sleep);
use UsersTest qw(redis_start free_port nginx_start http_get);

$UsersTest::Timeout = 1.5;    # keeps a hung request from stalling the file

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $Unavailable = '{"error":"unavailable","message":"the user store is unavailable; retry later"}';
my $Timeout     = '{"error":"timeout","message":"the user store did not answer in time"}';
my $Ann         = '{"count":1,"next":null,"previous":null,"results":[{"id":1,"name":"Ann"}]}';

my $Location = q{
        location = /u {
            users_list;
            users_workspace t020;
            users_field id   int;
            users_field name string;
        }
        location = /static { return 200 "static\n"; }
};

sub load_data {
    my $redis = shift;
    $redis->cmd('FCALL', 'users_upsert', 1, 'users:{t020}', 1,
                id => 1, name => 'Ann');
}

sub start_nginx {
    my ($name, $port, $opts) = @_;
    return nginx_start(
        name        => $name,
        http_config => "users_redis 127.0.0.1:$port $opts;",
        config      => $Location,
    );
}

# the lines of $text matching $re
sub grep_lines { my ($text, $re) = @_; grep { /$re/ } split /\n/, $text }

# one whole error-log line: "DATE TIME [LEVEL] PID#TID: TEXT"
sub log_re {
    my ($level, $text) = @_;
    return qr/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[$level\] \d+#\d+: \Q$text\E$/;
}

sub is_unavailable {
    my ($name, $status, $h, $body) = @_;
    is($status, 503, "$name: 503");
    is($body, $Unavailable, "$name: unavailable body");
    is($h->{'retry-after'}, '1', "$name: Retry-After: 1");
    is($h->{'content-type'}, 'application/json', "$name: Content-Type");
}

# GET $path until it answers 200 or $secs pass: (seconds taken, last status,
# last body)
sub wait_200 {
    my ($port, $path, $secs) = @_;
    my $t0 = time;
    my ($status, $h, $body);
    while (time - $t0 < $secs) {
        ($status, $h, $body) = http_get($port, $path);
        last if defined $status && $status == 200;
        sleep 0.02;
    }
    return (time - $t0, $status, $body);
}

# a request sent now and read later
sub send_raw {
    my ($port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or die "connect to nginx: $!\n";
    syswrite($s, "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        or die "write to nginx: $!\n";
    return $s;
}

sub read_raw {
    my ($s, $secs) = @_;
    my $sel = IO::Select->new($s);
    my $deadline = time + $secs;
    my $resp = '';
    while (time < $deadline) {
        $sel->can_read($deadline - time) or last;
        my $n = sysread($s, $resp, 65536, length $resp);
        last unless $n;
    }
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
    return ($status, \%h, $body);
}


# ----------------------------------------------------------------------
# 1. Refused from the start: fail fast, one log line, then recovery when a
#    Redis appears on the port (the backoff is still short: under 0.5 s
#    of failures before it does).

{
    my $port = free_port();
    my $ngx = start_nginx('f020a', $port, 'timeout=300ms connect_timeout=300ms');
    my $name = 'refused';

    my $slowest = 0;
    for my $i (1 .. 10) {
        my ($status, $h, $body, $elapsed) = http_get($ngx->port, '/u');
        is_unavailable("$name #$i", $status, $h, $body);
        $slowest = $elapsed if $elapsed > $slowest;
        # a request that hangs would hang them all: one failure is enough
        last unless defined $status;
    }
    cmp_ok($slowest, '<', 0.1, "$name: every 503 is fast (slowest ${slowest}s), not the 300ms timeout");

    my ($static) = (http_get($ngx->port, '/static'))[2];
    is($static, "static\n", "$name: a static location is unaffected");

    my $log = $ngx->error_log;
    my @incident = grep_lines($log, qr/retrying with backoff/);
    is(scalar @incident, 1, "$name: one incident line for 10 failed requests")
        or diag $log;
    like($incident[0] // '', log_re('error',
         "redis 127.0.0.1:$port: Connection refused; retrying with backoff"),
         "$name: the incident line");
    is(scalar(grep_lines($log, qr/\[(error|crit|alert|emerg)\]/)), 1,
       "$name: no other error line") or diag $log;

    my $redis = redis_start(port => $port);
    load_data($redis);
    my ($took, $status, $body) = wait_200($ngx->port, '/u', 3);
    is($status, 200, "$name: 200 once Redis is there");
    is($body, $Ann, "$name: the data");
    cmp_ok($took, '<', 1.2, "$name: recovered in ${took}s");

    $log = $ngx->error_log;
    my @again = grep_lines($log, qr/answering again/);
    is(scalar @again, 1, "$name: one recovery line") or diag $log;
    like($again[0] // '', log_re('notice', "redis 127.0.0.1:$port: answering again"),
         "$name: the recovery line");
    is(scalar(grep_lines($log, qr/retrying with backoff/)), 1,
       "$name: still one incident line");

    $ngx->stop;
    $redis->stop;
}


# ----------------------------------------------------------------------
# 2. The backoff: a server that accepts and closes every connection at
#    once.  Each of the 2 connections retries after 100, 200, 400, 800,
#    800, ... ms (each +-25%: the cap keeps recovery within about a
#    second), so each connection's connects come at
#      0 | 75-125 | 225-375 | 525-875 | 1125-1875 | 1725-2875 | ... ms
#    i.e. exactly 6 in the first 0.5 s, 10 to 12 in the first 2.1 s and
#    12 to 16 in 3.5 s (a fixed 100 ms retry would make about 70).

{
    my $name = 'backoff';
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Proto => 'tcp', Listen => 64, ReuseAddr => 1)
        or die "listen: $!\n";
    my $port = $srv->sockport;

    pipe(my $rd, my $wr) or die "pipe: $!\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        close $rd;
        my $sel = IO::Select->new($srv);
        my $end = time + 3.5;
        my @t;
        while (time < $end) {
            $sel->can_read($end - time) or next;
            my $c = $srv->accept or next;
            push @t, time;
            close $c;
        }
        print {$wr} join(' ', @t), "\n";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    close $srv;

    my $ngx = start_nginx('f020b', $port, 'timeout=300ms connect_timeout=300ms');

    sleep 0.3;
    my ($status, $h, $body, $elapsed) = http_get($ngx->port, '/u');
    is_unavailable("$name: request", $status, $h, $body);
    diag "$name: request: $UsersTest::HttpError" unless defined $status;
    cmp_ok($elapsed, '<', 0.1, "$name: fast");

    my $line = <$rd>;
    waitpid($pid, 0);
    my @t = split ' ', $line // '';
    my @rel = map { sprintf '%.3f', $_ - $t[0] } @t;
    my $in = sub { my $lim = shift; scalar grep { $_ < $lim } @rel };

    is($in->(0.5), 6, "$name: 6 connects in the first 0.5 s") or diag "@rel";
    ok($in->(2.1) >= 10 && $in->(2.1) <= 12,
       "$name: 10 to 12 connects in the first 2.1 s") or diag "@rel";
    ok(@rel >= 12 && @rel <= 16, "$name: 12 to 16 connects in 3.5 s")
        or diag "@rel";

    my $log = $ngx->error_log;
    is(scalar(grep_lines($log, qr/retrying with backoff/)), 1,
       "$name: one incident line for all those reconnects") or diag $log;
    $ngx->stop;
}


# ----------------------------------------------------------------------
# 3. Stalled (SIGSTOP): 504 within the 300ms timeout; the worker still
#    serves other locations at once; recovery after SIGCONT.

my $redis = redis_start();
load_data($redis);
my $ngx = start_nginx('f020c', $redis->port, 'timeout=300ms connect_timeout=300ms');
my $rport = $redis->port;

{
    my $name = 'stalled';
    my ($took, $status, $body) = wait_200($ngx->port, '/u', 3);
    is($body, $Ann, "$name: 200 before the stall");

    my $pos = (($ngx->error_log)[1]);
    $redis->pause;

    my ($h, $elapsed);
    ($status, $h, $body, $elapsed) = http_get($ngx->port, '/u');
    is($status, 504, "$name: 504");
    is($body, $Timeout, "$name: timeout body");
    is($h->{'content-type'}, 'application/json', "$name: Content-Type");
    ok(!exists $h->{'retry-after'}, "$name: no Retry-After on a 504");
    cmp_ok($elapsed, '>=', 0.29, "$name: not before the timeout (${elapsed}s)");
    cmp_ok($elapsed, '<', 0.5, "$name: soon after the timeout (${elapsed}s)");

    # concurrency on the one worker: a stalled request and a static one
    my $t0 = time;
    my $slow = send_raw($ngx->port, '/u');
    sleep 0.05;
    my ($sstatus, undef, $sbody, $selapsed) = http_get($ngx->port, '/static');
    is($sstatus, 200, "$name: static 200 meanwhile");
    is($sbody, "static\n", "$name: static body");
    cmp_ok($selapsed, '<', 0.1, "$name: static answered at once (${selapsed}s)");
    ok(!IO::Select->new($slow)->can_read(0), "$name: the Redis request still pending then");
    my ($st, $sh, $sb) = read_raw($slow, 2);
    my $slow_elapsed = time - $t0;
    is($st, 504, "$name: concurrent request 504");
    is($sb, $Timeout, "$name: concurrent request body");
    cmp_ok($slow_elapsed, '>=', 0.29, "$name: concurrent request waited the timeout (${slow_elapsed}s)");
    cmp_ok($slow_elapsed, '<', 0.5, "$name: and no more (${slow_elapsed}s)");

    my $log = $ngx->error_log($pos);
    my @incident = grep_lines($log, qr/retrying with backoff/);
    is(scalar @incident, 1, "$name: one incident line for two timeouts") or diag $log;
    like($incident[0] // '', log_re('error',
         "redis 127.0.0.1:$rport: timed out; retrying with backoff"),
         "$name: the incident line");

    ($pos) = (($ngx->error_log)[1]);
    $redis->resume;
    ($took, $status, $body) = wait_200($ngx->port, '/u', 3);
    is($status, 200, "$name: 200 after SIGCONT");
    is($body, $Ann, "$name: the data after SIGCONT");
    cmp_ok($took, '<', 1.0, "$name: recovered in ${took}s");

    $log = $ngx->error_log($pos);
    my @again = grep_lines($log, qr/answering again/);
    is(scalar @again, 1, "$name: one recovery line") or diag $log;
    like($again[0] // '', log_re('notice', "redis 127.0.0.1:$rport: answering again"),
         "$name: the recovery line");

    # let every connection come back (and its backoff reset)
    sleep 1;
    ($status, undef, $body) = http_get($ngx->port, '/u') for 1 .. 4;
    is($body, $Ann, "$name: steady again");
}


# ----------------------------------------------------------------------
# 4. Restarted: stop, 503 while down, 200 soon after it is back.

{
    my $name = 'restart';
    my $pos = (($ngx->error_log)[1]);

    $redis->stop;
    sleep 0.05;
    my $slowest = 0;
    for my $i (1 .. 5) {
        my ($status, $h, $body, $elapsed) = http_get($ngx->port, '/u');
        is_unavailable("$name #$i", $status, $h, $body);
        $slowest = $elapsed if $elapsed > $slowest;
        # a request that hangs would hang them all: one failure is enough
        last unless defined $status;
        sleep 0.05;
    }
    cmp_ok($slowest, '<', 0.1, "$name: every 503 is fast (slowest ${slowest}s)");

    my $t0 = time;
    $redis->start;
    load_data($redis);
    my ($took, $status, $body) = wait_200($ngx->port, '/u', 3);
    $took = time - $t0;
    is($status, 200, "$name: 200 after the restart");
    is($body, $Ann, "$name: the data after the restart");
    cmp_ok($took, '<', 1.0, "$name: recovered in ${took}s");

    my $log = $ngx->error_log($pos);
    my @incident = grep_lines($log, qr/retrying with backoff/);
    is(scalar @incident, 1, "$name: one incident line") or diag $log;
    like($incident[0] // '', log_re('error',
         "redis 127.0.0.1:$rport: Server closed the connection; retrying with backoff"),
         "$name: the incident line");
    my @again = grep_lines($log, qr/answering again/);
    is(scalar @again, 1, "$name: one recovery line") or diag $log;
    is(scalar(grep_lines($log, qr/\[(error|crit|alert|emerg)\]/)), 1,
       "$name: no other error line") or diag $log;
}

$ngx->stop;
$redis->stop;

done_testing();
