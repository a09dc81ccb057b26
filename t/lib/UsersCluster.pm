package UsersCluster;

# Private Redis Clusters and Sentinel setups for the suites t/08x, on free
# loopback ports, with the Functions library loaded on every primary.
# Core Perl only; see the POD at the end.

use strict;
use warnings;
use v5.10.1;

use Exporter 'import';
use POSIX ();
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use UsersTest qw(redis_start free_port redis_cmd_port);

our @EXPORT_OK = qw(cluster_start sentinel_start key_slot traffic_start);

our $Cli = $ENV{TEST_REDIS_CLI} // 'redis-cli';

# a signal ends the file through exit, so that UsersTest's END stops the
# servers it started (a cluster is six of them)
for my $sig (qw(INT TERM HUP PIPE)) {
    $SIG{$sig} = sub { exit 128 + 1 } unless $SIG{$sig};
}


# CRC16/XMODEM of the hash tag, modulo 16384: written from the cluster
# specification, checked against Redis by t/090
sub key_slot {
    my $key = shift;
    my $open = index($key, '{');
    if ($open >= 0) {
        my $close = index($key, '}', $open + 1);
        $key = substr($key, $open + 1, $close - $open - 1) if $close > $open + 1;
    }
    my $crc = 0;
    for my $b (unpack 'C*', $key) {
        $crc ^= $b << 8;
        for (1 .. 8) {
            $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) & 0xffff
                                 : ($crc << 1) & 0xffff;
        }
    }
    return $crc % 16384;
}

# ------------------------------------------------------------- cluster

sub cluster_start {
    my (%o) = @_;
    my $primaries = $o{primaries} // 3;
    my $replicas = $o{replicas} // 1;
    my $timeout = $o{node_timeout} // 1000;
    my $n = $primaries * (1 + $replicas);
    my $self = bless { nodes => [], primaries => $primaries }, 'UsersCluster::Cluster';

    for my $i (1 .. $n) {
        push @{ $self->{nodes} }, _node($timeout, $o{args} // []);
    }

    my @addrs = map { '127.0.0.1:' . $_->port } @{ $self->{nodes} };
    my $out = `$Cli --cluster create @addrs --cluster-replicas $replicas --cluster-yes 2>&1`;
    die "cluster_start: redis-cli --cluster create failed:\n$out\n" if $?;

    $self->wait_ok($o{setup_timeout} // 30);
    $self->load_functions($o{functions} // "$UsersTest::Root/redis/users.lua");
    return $self;
}


# A cluster node on a free port, its bus on another (the default, port +
# 10000, may be taken); a port taken between its choice and its bind is
# chosen again.
sub _node {
    my ($timeout, $args) = @_;
    for my $try (1 .. 5) {
        my ($port, $bus) = (free_port(), free_port());
        next if $port == $bus;
        my $dir = "$UsersTest::Root/build/test-redis/cluster-$$-$port";
        remove_tree($dir);
        my $node = eval {
            redis_start(
                port => $port, dir => $dir, functions => undef,
                args => ['--cluster-enabled', 'yes',
                         '--cluster-port', $bus,
                         '--cluster-config-file', "nodes-$port.conf",
                         '--cluster-node-timeout', $timeout,
                         '--cluster-require-full-coverage', 'no',
                         '--cluster-replica-validity-factor', '0',
                         @$args]);
        };
        return $node if $node;
        die $@ if $try == 5;
    }
}


package UsersCluster::Cluster {
    use Time::HiRes qw(time sleep);

    sub nodes { @{ $_[0]{nodes} } }
    sub seeds { join ' ', map { '127.0.0.1:' . $_->port } $_[0]->nodes }
    sub node_by_port { my ($s, $p) = @_; (grep { $_->port == $p } $s->nodes)[0] }

    # "users_redis" arguments: every node a seed, and the flag
    sub directive { $_[0]->seeds . ' cluster' }

    # CLUSTER NODES of one node, parsed: { id => { port, role, master, slots => [[a, b]...], flags } }
    sub topology {
        my ($self, $node) = @_;
        $node //= (grep { $_->pid } $self->nodes)[0];
        my $text = $node->cmd('CLUSTER', 'NODES');
        my %t;
        for my $line (split /\n/, $text) {
            my ($id, $addr, $flags, $master, undef, undef, undef, $link, @slots)
                = split ' ', $line;
            my ($port) = $addr =~ /:(\d+)/;
            $t{$id} = {
                id => $id, port => $port, flags => $flags, link => $link,
                role => ($flags =~ /master/ ? 'master' : 'replica'),
                master => ($master eq '-' ? undef : $master),
                slots => [ map { /^(\d+)(?:-(\d+))?$/ ? [$1, $2 // $1] : () } @slots ],
            };
        }
        return \%t;
    }

    # every node alive agrees: state ok, all slots, every primary with its replicas linked
    sub wait_ok {
        my ($self, $secs) = @_;
        my $deadline = time + $secs;
        my $why = '';
        while (time < $deadline) {
            $why = eval { $self->_why_not_ok } // "$@";
            return 1 if $why eq '';
            sleep 0.1;
        }
        die "cluster: not ready after $secs s: $why\n";
    }

    sub _why_not_ok {
        my $self = shift;
        my @alive = grep { $_->pid } $self->nodes;
        for my $node (@alive) {
            my $info = $node->cmd('CLUSTER', 'INFO');
            return $node->port . ": $1" if $info =~ /cluster_state:(?!ok)(\w+)/;
            my ($assigned) = $info =~ /cluster_slots_assigned:(\d+)/;
            return $node->port . ": $assigned slots" unless $assigned == 16384;
            my $t = $self->topology($node);
            my @masters = grep { $_->{role} eq 'master' && @{ $_->{slots} } } values %$t;
            return $node->port . ': ' . scalar(@masters) . ' primaries'
                unless @masters == $self->{primaries};
        }
        for my $node (@alive) {
            my $repl = $node->cmd('INFO', 'replication');
            next unless $repl =~ /role:slave/;
            return $node->port . ': replication link down'
                unless $repl =~ /master_link_status:up/;
        }
        # and every node says every live node is online (a replica is
        # "loading" until the others have seen its offset)
        my %live = map { $_->port => 1 } @alive;
        for my $node (@alive) {
            for my $shard (@{ $node->cmd('CLUSTER', 'SHARDS') }) {
                my %sh = @$shard;
                for my $n (@{ $sh{nodes} }) {
                    my %n = @$n;
                    return $node->port . ": $n{port} is $n{health}"
                        if $live{ $n{port} } && $n{health} ne 'online';
                }
            }
        }
        return '';
    }

    sub primaries {
        my $self = shift;
        my $t = $self->topology;
        return sort { $a->port <=> $b->port }
               map { $self->node_by_port($_->{port}) }
               grep { $_->{role} eq 'master' && @{ $_->{slots} } && $_->{flags} !~ /fail/ }
               values %$t;
    }

    # the node serving a slot, and its replicas
    sub owner {
        my ($self, $slot) = @_;
        my $t = $self->topology;
        for my $m (values %$t) {
            next unless $m->{role} eq 'master' && $m->{flags} !~ /fail/;
            for my $r (@{ $m->{slots} }) {
                return $self->node_by_port($m->{port})
                    if $slot >= $r->[0] && $slot <= $r->[1];
            }
        }
        return undef;
    }

    sub replicas_of {
        my ($self, $primary) = @_;
        my $t = $self->topology;
        my ($id) = grep { $t->{$_}{port} == $primary->port } keys %$t;
        return map { $self->node_by_port($_->{port}) }
               grep { ($_->{master} // '') eq $id && $_->{flags} !~ /fail/ } values %$t;
    }

    sub node_id {
        my ($self, $node) = @_;
        return $node->cmd('CLUSTER', 'MYID');
    }

    sub load_functions {
        my ($self, $file) = @_;
        return unless $file && -f $file;
        open my $fh, '<', $file or die "$file: $!\n";
        my $code = do { local $/; <$fh> };
        $_->cmd('FUNCTION', 'LOAD', 'REPLACE', $code) for $self->primaries;
        # replicas receive it through replication
        my $deadline = time + 10;
        for my $r (grep { ($_->cmd('INFO', 'replication') =~ /role:slave/) } $self->nodes) {
            sleep 0.05 while time < $deadline && !@{ $r->cmd('FUNCTION', 'LIST') };
        }
    }

    # a command routed by its key (the second argument, or the fourth for
    # FCALL), following MOVED and ASK
    sub cmd {
        my ($self, @args) = @_;
        my $key = (uc $args[0]) =~ /^FCALL/ ? $args[3] : $args[1];
        my $owner = $self->owner(UsersCluster::key_slot($key // ''));
        return UsersTest::redis_cmd_port(($owner // ($self->nodes)[0])->port, @args);
    }

    # Moves a slot from its primary to $to in batches of $o{batch} keys,
    # $o{pause} s apart, as redis-cli --cluster reshard does: IMPORTING,
    # MIGRATING, MIGRATE ... KEYS, then NODE everywhere. $o{each}->()
    # runs after every batch. Returns the number of keys moved.
    sub migrate_slot {
        my ($self, $slot, $to, %o) = @_;
        my $from = $self->owner($slot) or die "migrate_slot: slot $slot has no owner\n";
        my ($to_id, $from_id) = ($self->node_id($to), $self->node_id($from));
        my $batch = $o{batch} // 10;
        $to->cmd('CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $from_id);
        $from->cmd('CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $to_id);
        $o{started}->() if $o{started};
        my $moved = 0;
        while (1) {
            my $keys = $from->cmd('CLUSTER', 'GETKEYSINSLOT', $slot, $batch);
            last unless @$keys;
            $from->cmd('MIGRATE', '127.0.0.1', $to->port, '', 0, 5000, 'KEYS', @$keys);
            $moved += @$keys;
            $o{each}->() if $o{each};
            sleep $o{pause} if $o{pause};
        }
        $to->cmd('CLUSTER', 'SETSLOT', $slot, 'NODE', $to_id);
        $from->cmd('CLUSTER', 'SETSLOT', $slot, 'NODE', $to_id);
        for my $p ($self->primaries) {
            next if $p == $to || $p == $from;
            $p->cmd('CLUSTER', 'SETSLOT', $slot, 'NODE', $to_id);
        }
        return $moved;
    }

    sub stop { $_->stop for grep { $_ } @{ $_[0]{nodes} } }
}

# ------------------------------------------------------------- traffic

# Starts $o{clients} (4) processes sending the requests of $o{requests}
# ([port, path, expected body or undef, \%headers]) in turn, as fast as
# they answer, until stopped. ->stop returns a summary: total, ok, wrong
# (200 with another body), errors (any other status, or none), and
# ->{log}: [t, client, path, status, ms, ok] of every request, t in
# seconds from the start.
sub traffic_start {
    my (%o) = @_;
    my $dir = "$UsersTest::Root/build/test-traffic-$$-" . int(rand 1e9);
    make_path($dir);
    my $t0 = time;
    my @kids;
    for my $k (1 .. ($o{clients} // 4)) {
        my $pid = fork // die "traffic: fork: $!\n";
        if ($pid == 0) {
            $SIG{TERM} = 'DEFAULT';
            open my $out, '>', "$dir/$k" or POSIX::_exit(1);
            my $i = $k;
            until (-e "$dir/stop") {
                my $r = $o{requests}[$i++ % @{ $o{requests} }];
                my $t = time;
                my ($status, undef, $body) = UsersTest::http_get($r->[0], $r->[1],
                                                                 %{ $r->[3] // {} });
                my $ms = (time - $t) * 1000;
                my $ok = defined $status && $status == 200
                         && (!defined $r->[2] || $body eq $r->[2]) ? 1 : 0;
                my $kind = $ok ? 'ok' : defined $status && $status == 200 ? 'wrong' : 'error';
                printf $out "%.4f\t%d\t%s\t%s\t%.2f\t%s\n", $t - $t0, $k, $r->[1],
                            $status // 'none', $ms, $kind;
                if ($kind ne 'ok' && $o{keep}) {
                    open my $w, '>>', "$dir/bodies" or next;
                    print $w "$r->[1] $kind: " . ($body // $UsersTest::HttpError // '') . "\n";
                }
                sleep $o{pause} if $o{pause};
            }
            close $out;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    return bless { dir => $dir, kids => \@kids, t0 => $t0 }, 'UsersCluster::Traffic';
}


package UsersCluster::Traffic {
    use Time::HiRes qw(time sleep);

    sub t0 { $_[0]{t0} }

    sub stop {
        my $self = shift;
        open my $fh, '>', "$self->{dir}/stop" or die "$self->{dir}: $!\n";
        close $fh;
        waitpid($_, 0) for @{ $self->{kids} };
        my %sum = (total => 0, ok => 0, wrong => 0, error => 0, log => []);
        for my $k (1 .. @{ $self->{kids} }) {
            open my $in, '<', "$self->{dir}/$k" or next;
            while (<$in>) {
                chomp;
                my @f = split /\t/;
                push @{ $sum{log} }, \@f;
                $sum{total}++;
                $sum{ $f[5] }++;
            }
        }
        if (open my $b, '<', "$self->{dir}/bodies") {
            local $/;
            $sum{bodies} = <$b>;
        }
        @{ $sum{log} } = sort { $a->[0] <=> $b->[0] } @{ $sum{log} };
        File::Path::remove_tree($self->{dir});
        return \%sum;
    }

    sub DESTROY {
        my $self = shift;
        local ($?, $@);
        return unless -d $self->{dir};
        if (open my $fh, '>', "$self->{dir}/stop") { close $fh }
        waitpid($_, 0) for @{ $self->{kids} };
        File::Path::remove_tree($self->{dir});
    }
}

# ------------------------------------------------------------- sentinel

# One master, $o{replicas} (1) replicas, $o{sentinels} (3) sentinels that
# agree on it; quorum 2, down after $o{down_after} (1000) ms.
sub sentinel_start {
    my (%o) = @_;
    my $name = $o{name} // 'users';
    my $master = redis_start(exists $o{functions} ? (functions => $o{functions}) : ());
    my @replicas = map {
        redis_start(functions => undef,
                    args => ['--replicaof', '127.0.0.1', $master->port])
    } 1 .. ($o{replicas} // 1);

    my $self = bless { name => $name, master => $master, replicas => \@replicas,
                       sentinels => [] }, 'UsersCluster::Sentinel';
    $self->wait_replicas(20);

    for my $i (1 .. ($o{sentinels} // 3)) {
        my $port = free_port();
        my $dir = "$UsersTest::Root/build/test-redis/sentinel-$$-$port";
        remove_tree($dir);
        make_path($dir);
        open my $fh, '>', "$dir/sentinel.conf" or die "$dir: $!\n";
        print $fh join "\n",
            "port $port", "bind 127.0.0.1", "dir $dir",
            "sentinel monitor $name 127.0.0.1 " . $master->port . " 2",
            "sentinel down-after-milliseconds $name " . ($o{down_after} // 1000),
            "sentinel failover-timeout $name 10000",
            "sentinel parallel-syncs $name 1", '';
        close $fh;
        push @{ $self->{sentinels} }, redis_start(
            port => $port, dir => $dir, functions => undef,
            bin => $ENV{TEST_REDIS_SENTINEL} // '/usr/bin/redis-server',
            config => "$dir/sentinel.conf", args => ['--sentinel']);
    }
    $self->wait_sentinels(20);
    return $self;
}


package UsersCluster::Sentinel {
    use Time::HiRes qw(time sleep);

    sub name { $_[0]{name} }
    sub master { $_[0]{master} }
    sub replicas { @{ $_[0]{replicas} } }
    sub sentinels { @{ $_[0]{sentinels} } }
    sub servers { ($_[0]{master}, @{ $_[0]{replicas} }) }

    # "users_redis" arguments
    sub directive {
        my $self = shift;
        return join(' ', map { '127.0.0.1:' . $_->port } $self->sentinels)
               . " sentinel=$self->{name}";
    }

    sub wait_replicas {
        my ($self, $secs) = @_;
        my $deadline = time + $secs;
        while (time < $deadline) {
            return 1 unless grep { $_->cmd('INFO', 'replication') !~ /master_link_status:up/ }
                            $self->replicas;
            sleep 0.05;
        }
        die "sentinel: replicas not linked after $secs s\n";
    }

    # every sentinel knows the master, its replicas and the other sentinels
    sub wait_sentinels {
        my ($self, $secs) = @_;
        my $deadline = time + $secs;
        my $want = scalar($self->sentinels) - 1;
        while (time < $deadline) {
            my $ok = 1;
            for my $s ($self->sentinels) {
                my $m = eval { $s->cmd('SENTINEL', 'MASTER', $self->{name}) } or do { $ok = 0; last };
                my %m = @$m;
                $ok = 0 unless $m{'num-other-sentinels'} >= $want
                            && $m{'num-slaves'} >= scalar($self->replicas);
            }
            return 1 if $ok;
            sleep 0.1;
        }
        die "sentinel: sentinels do not agree after $secs s\n";
    }

    # the address the sentinels give
    sub master_port {
        my $self = shift;
        for my $s ($self->sentinels) {
            my $a = eval { $s->cmd('SENTINEL', 'get-master-addr-by-name', $self->{name}) };
            return $a->[1] if $a;
        }
        return undef;
    }

    sub stop { $_->stop for grep { $_ } @{ $_[0]{sentinels} }, $_[0]->servers }
}

1;

__END__

=head1 NAME

UsersCluster - Redis Cluster and Sentinel setups for the t/08x suites

=head1 FUNCTIONS

=over

=item cluster_start(%opts)

Starts C<primaries> (3) x (1 + C<replicas> (1)) C<redis-server
--cluster-enabled yes> on free loopback ports (cluster-node-timeout
C<node_timeout>, 1000 ms; cluster-require-full-coverage no), joins them
with C<redis-cli --cluster create ... --cluster-replicas N --cluster-yes>,
waits until every node agrees (state ok, 16384 slots, replicas linked; up
to C<setup_timeout>, 30 s) and loads redis/users.lua on every primary.
The object has C<nodes> (UsersTest redis objects: C<port>, C<cmd>,
C<kill>, C<pause>...), C<directive> (the users_redis arguments),
C<primaries>, C<owner($slot)>, C<replicas_of($node)>, C<topology>,
C<cmd(@args)> (routed by key, redirections followed),
C<migrate_slot($slot, $to, batch =E<gt> N, pause =E<gt> s, each =E<gt> sub)>,
C<wait_ok($secs)>, C<stop>.

=item sentinel_start(%opts)

A master (functions loaded), C<replicas> (1) replicas and C<sentinels>
(3) sentinels monitoring it as C<name> ("users"), quorum 2,
down-after-milliseconds C<down_after> (1000). The object has C<master>,
C<replicas>, C<sentinels>, C<directive>, C<master_port>, C<stop>.

=item traffic_start(clients =E<gt> N, requests =E<gt> [[port, path, body, headers]...])

Clients sending the requests in turn until C<stop>, which returns
C<total>, C<ok>, C<wrong> (200 with another body), C<error> and C<log>
(one [seconds, client, path, status, ms, kind] a request).

=item key_slot($key)

The hash slot of a key, as Redis computes it.

=back

=cut
