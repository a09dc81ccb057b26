# Sentinel: users_redis names three sentinels and a master ("users"); one
# master, one replica.  The master is killed under traffic (reads, and
# Redis rate limits, which write); the sentinels promote the replica and
# publish +switch-master.
#
# Expected: the module follows within 2 s of the switch (every request
# answers from then on, writes included, and they land on the new
# master), no answer is wrong, and the log names the master and the
# switch.  Then a sentinel that lies (it names a replica as the master):
# ROLE refuses it, nothing is written to the replica, requests get 503.
#
# Plain Test::More; needs TEST_NGINX_LOAD_MODULES (t/run.sh sets it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(time sleep);
use UsersTest qw(nginx_start http_get free_port);
use UsersCluster qw(sentinel_start traffic_start);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

$UsersTest::Timeout = 10;

my $s = sentinel_start(down_after => 1000);
my $master = $s->master;
my ($replica) = $s->replicas;

my $k = 'users:{se1}';
$master->cmd('FCALL', 'users_schema', 1, $k, 'name:str,id:int', '', '');
$master->cmd('FCALL', 'users_upsert', 1, $k, $_, id => $_, name => "se1 user $_")
    for 1 .. 9;
$master->cmd('WAIT', 1, 5000);

my $Config = q{
        location = /users {
            users_workspace se1;
            users_list;
            users_field id int;
            users_field name string;
            users_sort name default;
            users_filter q search fields=name;
        }
        location = /rusers {
            users_redis_read replica;
            users_workspace se1;
            users_list;
            users_field id int;
            users_field name string;
        }
        location = /limited {
            users_limit sentinel;
            alias html/ok.txt;
        }
};

my $Http = 'users_redis ' . $s->directive . " timeout=2s;\n"
    . "users_limit_zone sentinel key=\$arg_k rate=100r/h burst=1000000 redis on_error=closed;";

sub start {
    my $ngx = nginx_start(@_, config => $Config, log_level => 'notice');
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
    close $fh;
    return $ngx;
}

my $ngx = start(name => 't093', http_config => $Http);

sub wait_ok {
    my ($path, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my ($status) = http_get($ngx->port, $path);
        return 1 if ($status // 0) == 200;
        sleep 0.05;
    }
    return 0;
}

ok(wait_ok('/users', 5), 'the module found the master');

# reads of a replica-read location go to the replica Sentinel lists, once
# a lag check found it caught up
{
    my $deadline = time + 10;
    my $exec = 0;
    while (time < $deadline && !$exec) {
        $replica->cmd('CONFIG', 'RESETSTAT');
        my ($status) = http_get($ngx->port, '/rusers');
        ($exec) = $replica->cmd('INFO', 'commandstats') =~ /cmdstat_exec:calls=(\d+)/;
        sleep 0.1;
    }
    ok($exec, 'replica reads go to the replica Sentinel names');
}

my @requests;
for my $path ('/users?limit=4', '/users?limit=4&offset=4', '/users?q=user+3') {
    my ($status, undef, $body) = http_get($ngx->port, $path);
    is($status, 200, "before: $path");
    push @requests, [$ngx->port, $path, $body];
}
push @requests, map { [$ngx->port, "/limited?k=$_", "ok\n"] } 'a', 'b';

my $mport = $master->port;
my $rport = $replica->port;
like($ngx->error_log,
     qr/\[notice\] .*redis sentinel 127\.0\.0\.1:\d+: master "users" is 127\.0\.0\.1:$mport$/m,
     'the log names the master');

# ----------------------------------------------------------------------
# the master dies

my (undef, $pos) = $ngx->error_log;
my $traffic = traffic_start(clients => 3, requests => \@requests, keep => 1,
                            pause => 0.005);
sleep 0.5;
$master->kill;

my $switched;
my $deadline = time + 30;
while (time < $deadline && !defined $switched) {
    for my $sen ($s->sentinels) {
        my $a = eval { $sen->cmd('SENTINEL', 'get-master-addr-by-name', 'users') };
        if ($a && $a->[1] == $rport) {
            $switched = time - $traffic->t0;
            last;
        }
    }
    sleep 0.02;
}

ok(defined $switched, 'the sentinels switched to the replica');
$switched //= 99;
sleep 3;

my $sum = $traffic->stop;
my ($log) = $ngx->error_log($pos);

my @errors = grep { $_->[5] ne 'ok' } @{ $sum->{log} };
my ($last_err) = reverse map { $_->[0] } @errors;
diag(sprintf 'switched at %.2f s; %d requests: %d ok, %d wrong, %d errors, '
     . 'the last at %.2f s', $switched, $sum->{total}, $sum->{ok},
     $sum->{wrong}, $sum->{error}, $last_err // -1);

is($sum->{wrong}, 0, 'no wrong answer') or diag($sum->{bodies});
cmp_ok(($last_err // 0) - $switched, '<', 2,
       'every request answers from 2 s after the switch on');
cmp_ok(scalar(grep { $_->[0] > $switched + 2 } @{ $sum->{log} }), '>', 20,
       'and they were sent');
cmp_ok(scalar(grep { $_->[0] > $switched + 2 && $_->[2] =~ /limited/ }
              @{ $sum->{log} }), '>', 5, 'writes too');

like($log, qr/\[notice\] .*redis sentinel 127\.0\.0\.1:\d+: \+switch-master users 127\.0\.0\.1 $mport 127\.0\.0\.1 $rport$/m,
     'the log has the +switch-master');
like($log, qr/\[notice\] .*redis sentinel 127\.0\.0\.1:\d+: master "users" is 127\.0\.0\.1:$rport$/m,
     'and the new master');
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

# the limits were written on the new master
ok(scalar(grep { /^users:limit:\{sentinel\}:/ } @{ $replica->cmd('KEYS', 'users:limit:*') }),
   'the rate limits are on the new master');

$ngx->stop;

# ----------------------------------------------------------------------
# a sentinel naming a replica: nothing is written to it

my $liar_port = free_port();
my $liar = fork // die "fork: $!\n";
if ($liar == 0) {
    fake_sentinel($liar_port, $rport);
    POSIX::_exit(0);
}

# the replica of the new master
my ($new_replica) = grep { $_->pid } $s->replicas;
my $victim = UsersTest::redis_start(functions => undef,
                                    args => ['--replicaof', '127.0.0.1', $rport]);
my $vport = $victim->port;
sleep 0.05 until $victim->cmd('INFO', 'replication') =~ /master_link_status:up/;
$victim->cmd('CONFIG', 'RESETSTAT');

{
    kill 'TERM', $liar;
    waitpid($liar, 0);
    $liar = fork // die "fork: $!\n";
    if ($liar == 0) {
        fake_sentinel($liar_port, $vport);
        POSIX::_exit(0);
    }
}

my $ngx2 = start(name => 't093b',
    http_config => "users_redis 127.0.0.1:$liar_port sentinel=users timeout=1s;\n"
                   . "users_limit_zone sentinel key=\$arg_k rate=100r/h burst=1000000 redis on_error=closed;");

my %st;
for (1 .. 20) {
    for my $path ('/limited?k=x', '/users') {
        my ($status) = http_get($ngx2->port, $path);
        $st{ $path . ' ' . ($status // 'none') }++;
    }
    sleep 0.05;
}
is_deeply(\%st, { '/limited?k=x 503' => 20, '/users 503' => 20 },
          'a replica named master: every request 503')
    or diag(explain(\%st));

# not even sent (refused as READONLY, it would still show, with
# rejected_calls=1): only replica-read-only would stand in the way
my $stats = $victim->cmd('INFO', 'commandstats');
unlike($stats, qr/cmdstat_(?:fcall|eval|set|exec)\b/,
       'nothing was sent to the replica to write');
like($ngx2->error_log, qr/\[error\] .*redis 127\.0\.0\.1:$vport: ROLE is not master; retrying with backoff$/m,
     'the log says why, once');

$ngx2->stop;
kill 'TERM', $liar;
waitpid($liar, 0);
$victim->stop;
$s->stop;

done_testing();


# Answers what the module asks a sentinel; names $port master.
sub fake_sentinel {
    my ($port, $master) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                  Listen => 16, ReuseAddr => 1, Proto => 'tcp')
        or die "fake sentinel: $!\n";
    my $sel = IO::Select->new($l);
    my %buf;
    local $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        for my $fh ($sel->can_read(1)) {
            if ($fh == $l) {
                $sel->add($l->accept);
                next;
            }
            my $n = sysread($fh, my $data, 65536);
            if (!$n) { $sel->remove($fh); close $fh; next }
            $buf{$fh} .= $data;
            while ($buf{$fh} =~ s/\A\*(\d+)\r\n((?:\$\d+\r\n[^\r\n]*\r\n)*)//) {
                my @args = $2 =~ /\$\d+\r\n([^\r\n]*)\r\n/g;
                my $cmd = uc(join ' ', @args[0 .. ($args[0] =~ /^sentinel$/i ? 1 : 0)]);
                my $out = $cmd eq 'PING' ? "+PONG\r\n"
                    : $cmd eq 'SENTINEL GET-MASTER-ADDR-BY-NAME'
                        ? "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($master) . "\r\n$master\r\n"
                    : $cmd eq 'SENTINEL REPLICAS' ? "*0\r\n"
                    : $cmd eq 'SUBSCRIBE'
                        ? "*3\r\n\$9\r\nsubscribe\r\n\$14\r\n+switch-master\r\n:1\r\n"
                    : "-ERR unknown\r\n";
                syswrite($fh, $out);
            }
        }
    }
}
