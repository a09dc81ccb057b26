#!/usr/bin/perl
# Redis Cluster figures for docs/PERFORMANCE.md (`make bench-cluster`).
#
#   bench/cluster.pl overhead    one Redis against a 3+3 cluster on the
#                                same machine: GET /accounts/users?limit=20
#                                with the page cache on (every request a
#                                hit) and off (every request a miss)
#   bench/cluster.pl failover    the timeline of a primary killed under load
#   bench/cluster.pl reshard     the timeline of a workspace's slot moved
#                                under load
#   bench/cluster.pl all         the three
#
# overhead: four nginx (the Debian binary, 2 workers each) serving the
# shipped conf/accounts.conf in its public form (bench.pl public) over
# workspace "demo" (CB_USERS generated users, 10,000): single-cached,
# single-nocache (users_redis of one Redis), cluster-cached,
# cluster-nocache (users_redis of the cluster's six nodes). wrk -t2 -c64
# --latency CB_DURATION s each, in CB_ROUNDS interleaved rounds (the order
# rotated every round); medians of req/s, p50, p99, Redis CPU per request
# (all Redis servers of the target) and nginx worker CPU per request; the
# ratio cluster/single of each round, then its median.
#
# failover / reshard: one nginx on the cluster, page cache off, workspaces
# demo (CB_USERS users) and two others, each on another primary; 8 client
# processes (UsersCluster's traffic generator: a new connection a request)
# ask pages of all three. At 2 s the primary of demo is killed (failover)
# or demo's slot starts moving to another primary (reshard, MIGRATE
# CB_MIGRATE_BATCH keys at a time, 100, as redis-cli --cluster reshard
# --cluster-pipeline 100 does); the run lasts 12 s. 4 clients ask for demo's
# pages, 4 others for the others'. One line a second: requests, errors and
# p99 of demo and of the others.
#
# Everything it starts is stopped on exit, error or interrupt. Work files:
# build/bench-cluster/.
#
# Environment: CB_ROUNDS (5), CB_DURATION (7), CB_USERS (10000),
# CB_CONNECTIONS (64), CB_WORKERS (2), CB_REDIS_CONNECTIONS (4),
# CB_MIGRATE_BATCH (100), WRK.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use POSIX ();
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use UsersTest qw(redis_start nginx_start http_get free_port);
use UsersCluster qw(cluster_start key_slot traffic_start);

my $Root = "$FindBin::Bin/..";
my $Work = "$Root/build/bench-cluster";
my $Admin = "$Root/build/users-admin";
my $Wrk = $ENV{WRK} // 'wrk';

my $Rounds = $ENV{CB_ROUNDS} // 5;
my $Duration = $ENV{CB_DURATION} // 7;
my $Users = $ENV{CB_USERS} // 10000;
my $Conns = $ENV{CB_CONNECTIONS} // 64;
my $Workers = $ENV{CB_WORKERS} // 2;
my $RedisConns = $ENV{CB_REDIS_CONNECTIONS} // 4;
my $Batch = $ENV{CB_MIGRATE_BATCH} // 100;

$ENV{TEST_NGINX_LOAD_MODULES} //= "$Root/build/ngx_http_users_module.so";
$UsersTest::Timeout = 10;

my $what = shift // 'all';
die "usage: $0 overhead|failover|reshard|all\n"
    unless $what =~ /^(overhead|failover|reshard|all)$/;
-x $Admin && -f $ENV{TEST_NGINX_LOAD_MODULES} or die "build first: make\n";

remove_tree($Work);
make_path($Work);

system("perl $Root/scripts/gen-users.pl $Users 1 > $Work/users.jsonl") == 0
    or die "gen-users.pl failed\n";
system("perl $Root/bench/bench.pl public $Root/conf/accounts.conf demo"
       . " > $Work/accounts-public.conf") == 0 or die "bench.pl public failed\n";

overhead() if $what =~ /^(overhead|all)$/;
timeline('failover') if $what =~ /^(failover|all)$/;
timeline('reshard') if $what =~ /^(reshard|all)$/;

exit 0;


sub admin {
    my ($port, @args) = @_;
    my $out = `$Admin -h 127.0.0.1 -p $port @args 2>&1`;
    die "users-admin @args: $out" if $?;
    return $out;
}

# workspace $ws on the node at $port (the primary of its slot)
sub load_ws {
    my ($port, $ws, $file) = @_;
    admin($port, 'schema', $ws,
          '--sort last_name:str,first_name:str,status:str,created_at:time',
          '--enum status,type --member groups:group');
    admin($port, 'import', $ws, $file);
}

sub nginx {
    my ($name, $redis, $cache) = @_;
    return nginx_start(
        name => "cb-$name", workers => $Workers, master => 1,
        log_level => 'warn',
        http_config => "access_log off;\nkeepalive_requests 1000000;\n"
                       . "users_redis $redis connections=$RedisConns "
                       . "timeout=2s;\nusers_cache $cache;",
        config => "include $Work/accounts-public.conf;");
}

sub cpu_of {            # seconds of CPU of processes
    my $t = 0;
    for my $pid (@_) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my @f = split ' ', (<$fh> =~ s/^.*\) //r);
        $t += ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
    }
    return $t;
}

sub workers_of {
    my $master = shift;
    my @w;
    for my $dir (glob '/proc/[0-9]*') {
        open my $fh, '<', "$dir/stat" or next;
        my $s = <$fh> // next;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*?\) \S (\d+)/;
        push @w, $pid if ($ppid // 0) == $master;
    }
    return @w;
}

# used_memory without the replication backlog and client buffers: a
# cluster's primary has a replica, the single Redis none
sub used_memory {
    my $node = shift;
    my $info = $node->cmd('INFO', 'memory');
    my %m = $info =~ /^(used_memory|mem_replication_backlog|mem_clients_\w+):(\d+)/mg;
    return $m{used_memory} - ($m{mem_replication_backlog} // 0)
           - ($m{mem_clients_slaves} // 0) - ($m{mem_clients_normal} // 0);
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v ? $v[$#v / 2] : 0;
}

sub overhead {
    my $single = redis_start(dir => "$Work/single");
    my $c = cluster_start();
    my $owner = $c->owner(key_slot('users:{demo}'));

    print STDERR "cluster-bench: loading $Users users\n";
    my %mem;
    for my $r ([single => $single], [cluster => $owner]) {
        my $m0 = used_memory($r->[1]);
        load_ws($r->[1]->port, 'demo', "$Work/users.jsonl");
        $mem{ $r->[0] } = (used_memory($r->[1]) - $m0) / $Users;
    }

    my %t = (
        'single-cached'  => [nginx('sc', '127.0.0.1:' . $single->port, '8m'),
                             [$single]],
        'single-nocache' => [nginx('sn', '127.0.0.1:' . $single->port, 'off'),
                             [$single]],
        'cluster-cached' => [nginx('cc', $c->directive, '8m'), [$c->nodes]],
        'cluster-nocache' => [nginx('cn', $c->directive, 'off'), [$c->nodes]],
    );
    my @names = sort keys %t;

    my $url = '/accounts/users?limit=20';
    my %body;
    for my $n (@names) {
        my $deadline = time + 10;
        my ($status, $body);
        do { ($status, undef, $body) = http_get($t{$n}[0]->port, $url) }
            until ($status // 0) == 200 || time > $deadline;
        die "$n: $status\n" unless ($status // 0) == 200;
        (my $b = $body) =~ s/127\.0\.0\.1:\d+|localhost(:\d+)?/HOST/g;
        $body{$b}++;
    }
    die "the four targets answer differently\n" unless keys %body == 1;

    my (%res, %ratio);
    for my $r (1 .. $Rounds) {
        my @order = (@names[($r - 1) % @names .. $#names],
                     @names[0 .. ($r - 1) % @names - 1]);
        my %round;
        for my $n (@order) {
            my ($ngx, $redis) = @{ $t{$n} };
            my @w = workers_of($ngx->pid);
            my @rp = map { $_->pid } @$redis;
            my ($rc0, $nc0) = (cpu_of(@rp), cpu_of(@w));
            my $out = `$Wrk -t2 -c$Conns -d${Duration}s --latency http://127.0.0.1:${\ $ngx->port}$url 2>&1`;
            my ($rc1, $nc1) = (cpu_of(@rp), cpu_of(@w));
            if (open my $fh, '>', "$Work/wrk-$n-$r.txt") { print $fh $out }
            my $line = `perl $Root/bench/bench.pl wrk $Work/wrk-$n-$r.txt`;
            my ($rps, $p50, $p99, $req, $non, $err) = split ' ', $line;
            die "$n: $non non-2xx, $err socket errors\n" if $non || $err;
            $round{$n} = $rps;
            push @{ $res{$n} }, [$rps, $p50, $p99,
                                 $req ? ($rc1 - $rc0) / $req * 1e6 : 0,
                                 $req ? ($nc1 - $nc0) / $req * 1e6 : 0];
            printf STDERR "cluster-bench: round %d %-16s %8.0f req/s p50 %.2f ms "
                          . "p99 %.2f ms\n", $r, $n, $rps, $p50, $p99;
        }
        for my $k (qw(cached nocache)) {
            push @{ $ratio{$k} }, $round{"cluster-$k"} / $round{"single-$k"};
        }
    }

    print "\n== overhead: one Redis against a 3+3 cluster, GET $url, "
          . "$Users users, $Rounds rounds x $Duration s, wrk -t2 -c$Conns\n\n";
    print "| target | req/s | p50 ms | p99 ms | Redis µs/req | nginx µs/req |\n";
    print "| --- | --- | --- | --- | --- | --- |\n";
    for my $n (@names) {
        my @col = map { my $i = $_; median(map { $_->[$i] } @{ $res{$n} }) } 0 .. 4;
        printf "| %s | %.0f | %.2f | %.2f | %.1f | %.1f |\n", $n, @col;
    }
    print "\n";
    printf "memory a user: one Redis %.0f bytes, a cluster's primary %.0f bytes\n",
           $mem{single}, $mem{cluster};
    for my $k (qw(cached nocache)) {
        printf "cluster/single, %s: median %.3f (rounds: %s)\n", $k,
               median(@{ $ratio{$k} }),
               join(' ', map { sprintf '%.3f', $_ } @{ $ratio{$k} });
    }

    $_->[0]->stop for values %t;
    $c->stop;
    $single->stop;
}

sub timeline {
    my $kind = shift;
    my $c = cluster_start(node_timeout => 1500);

    # demo and two workspaces on the other primaries
    my $demo = $c->owner(key_slot('users:{demo}'));
    my %on = ($demo->port => 'demo');
    for my $ws (map { "w$_" } 1 .. 200) {
        my $o = $c->owner(key_slot("users:{$ws}"));
        $on{ $o->port } //= $ws;
        last if keys %on == 3;
    }
    my @ws = ('demo', grep { $_ ne 'demo' } values %on);

    print STDERR "cluster-bench: loading $Users users\n";
    load_ws($demo->port, 'demo', "$Work/users.jsonl");
    system("head -1000 $Work/users.jsonl > $Work/small.jsonl");
    for my $ws (@ws[1, 2]) {
        load_ws($c->owner(key_slot("users:{$ws}"))->port, $ws, "$Work/small.jsonl");
    }
    $demo->cmd('WAIT', 1, 10000);

    # one location for the three workspaces (the "ws" argument)
    my $ngx = nginx_start(
        name => "cb-t-$kind", workers => $Workers, master => 1,
        log_level => 'notice',
        http_config => "access_log off;\nusers_redis " . $c->directive
                       . " connections=$RedisConns timeout=2s;\nusers_cache off;",
        config => q{
            location = /users {
                users_workspace $arg_ws;
                users_list;
                users_field id int;
                users_field email string;
                users_field last_name string;
                users_sort last_name default;
            }
        });
    my @requests = map { my $ws = $_;
                      map { [$ngx->port, "/users?ws=$ws&limit=20&offset=$_"] }
                          0, 20, 40 } @ws;
    for (@requests) {
        my $deadline = time + 10;
        my ($status, undef, $body);
        do { ($status, undef, $body) = http_get($ngx->port, $_->[1]) }
            until ($status // 0) == 200 || time > $deadline;
        die "$_->[1]: $status $body\n" . $ngx->error_log
            unless ($status // 0) == 200;
    }

    # clients of demo and of the others apart: a demo request waiting for
    # its slot must not hold back the others' requests
    my @demo = grep { $_->[1] =~ /ws=demo&/ } @requests;
    my @rest = grep { $_->[1] !~ /ws=demo&/ } @requests;
    my $traffic = traffic_start(clients => 4, requests => \@demo);
    my $traffic2 = traffic_start(clients => 4, requests => \@rest);
    sleep 2;
    my ($event, $end_event);
    if ($kind eq 'failover') {
        my ($heir) = $c->replicas_of($demo);
        $event = time - $traffic->t0;
        $demo->kill;
        my $deadline = time + 20;
        until (time > $deadline) {
            my $role = eval { $heir->cmd('ROLE') } || [];
            if (($role->[0] // '') eq 'master') { $end_event = time - $traffic->t0; last }
            sleep 0.02;
        }
    } else {
        my ($to) = grep { $_ != $demo } $c->primaries;
        $event = time - $traffic->t0;
        my $moved = $c->migrate_slot(key_slot('users:{demo}'), $to,
                                     batch => $Batch);
        $end_event = time - $traffic->t0;
        print STDERR "cluster-bench: moved $moved keys\n";
    }
    sleep ((12 - (time - $traffic->t0)) > 0 ? 12 - (time - $traffic->t0) : 0);
    my $sum = $traffic->stop;
    my $sum2 = $traffic2->stop;
    for my $k (qw(total ok wrong error)) {
        $sum->{$k} += $sum2->{$k} // 0;
    }
    push @{ $sum->{log} }, @{ $sum2->{log} };

    my $title = $kind eq 'failover'
        ? sprintf('the primary of demo killed at %.1f s, its replica promoted at %.1f s',
                  $event, $end_event // -1)
        : sprintf("demo's slot moving from %.1f s to %.1f s (MIGRATE %d keys"
                  . " at a time)", $event, $end_event, $Batch);
    print "\n== $kind: $title\n\n";
    print "| s | demo req | demo errors | demo p99 ms | others req | others errors | others p99 ms |\n";
    print "| --- | --- | --- | --- | --- | --- | --- |\n";
    my %sec;
    for my $l (@{ $sum->{log} }) {
        my ($t, undef, $path, $status, $ms, $ok) = @$l;
        my $who = $path =~ /ws=demo&/ ? 'demo' : 'others';
        my $s = int $t;
        $sec{$s}{$who}{n}++;
        $sec{$s}{$who}{err}++ if $ok ne 'ok';
        push @{ $sec{$s}{$who}{ms} }, $ms;
    }
    for my $s (sort { $a <=> $b } keys %sec) {
        my @col;
        for my $who (qw(demo others)) {
            my $x = $sec{$s}{$who} // {};
            my @ms = sort { $a <=> $b } @{ $x->{ms} // [] };
            push @col, $x->{n} // 0, $x->{err} // 0,
                       @ms ? $ms[int(0.99 * $#ms)] : 0;
        }
        printf "| %d | %d | %d | %.1f | %d | %d | %.1f |\n", $s, @col;
    }
    printf "\n%d requests: %d ok, %d wrong, %d errors\n", $sum->{total},
           $sum->{ok}, $sum->{wrong}, $sum->{error};

    $ngx->stop;
    $c->stop;
}
