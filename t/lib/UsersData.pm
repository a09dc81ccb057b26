package UsersData;

# Helpers for the tests of redis/users.lua and users-admin: a raw RESP
# client (binary-safe, no CPAN modules), workspace scans and clean-up, and a
# deterministic generator of users shaped like the seed APIs.

use strict;
use warnings;
use utf8;

use Exporter 'import';
use IO::Socket::INET;
use JSON::PP ();

our @EXPORT_OK = qw(redis_port redis cmd ws_keys ws_clean upsert
                    gen_users jsonl admin_path run_admin);

sub redis_port {
    return $ENV{TEST_NGINX_REDIS_PORT} || 6379;
}

sub redis {
    my $port = shift || redis_port();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or die "cannot connect to redis on 127.0.0.1:$port: $!\n";
    binmode $s;
    return $s;
}

# cmd($sock, @args): the reply; an error reply is { err => "message" },
# a nil is undef, an array is an array ref.
sub cmd {
    my ($s, @args) = @_;
    my $req = '*' . scalar(@args) . "\r\n";
    for my $a (@args) {
        $req .= '$' . length($a) . "\r\n$a\r\n";
    }
    print {$s} $req or die "redis write: $!\n";
    return _read_reply($s);
}

sub _line {
    my $s = shift;
    my $l = <$s>;
    die "redis closed the connection\n" unless defined $l;
    $l =~ s/\r\n\z//;
    return $l;
}

sub _read_reply {
    my $s = shift;
    my $l = _line($s);
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));

    return $v if $t eq '+' || $t eq ':';
    return { err => $v } if $t eq '-';

    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            my $n = read($s, $buf, $v + 2 - length($buf), length($buf));
            die "redis read: $!\n" unless $n;
        }
        return substr($buf, 0, $v);
    }

    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { _read_reply($s) } 1 .. $v ];
    }

    die "unexpected reply line '$l'\n";
}

# every key of a workspace, sorted
sub ws_keys {
    my ($s, $ws) = @_;
    my ($cursor, @keys) = (0);
    do {
        my $r = cmd($s, 'SCAN', $cursor, 'MATCH', "users:{$ws}:*",
                    'COUNT', 1000);
        $cursor = $r->[0];
        push @keys, @{ $r->[1] };
    } while ($cursor ne '0');
    return sort @keys;
}

sub ws_clean {
    my ($s, $ws) = @_;
    cmd($s, 'DEL', $_) for ws_keys($s, $ws);
}

sub upsert {
    my ($s, $ws, $id, @fv) = @_;
    return cmd($s, 'FCALL', 'users_upsert', 1, "users:{$ws}", $id, @fv);
}

# $n users like seed 000/003: ids 1..$n, equal last names every 7 users,
# non-ASCII first names, nested invite objects or null, booleans, groups
sub gen_users {
    my $n = shift;
    my @first = ("Zoë", "Ülla", "Jean-Luc", "ana", "Bob", "Ælfred", "李");
    my @last = ("Smith", "o'Neil", "Ångström", "adams", "Brown", "Zed");
    my @status = qw(active inactive invited);
    my @u;

    for my $i (1 .. $n) {
        push @u, {
            id => $i,
            email => "user$i\@example.com",
            first_name => $first[$i % @first],
            last_name => $last[int($i / 7) % @last],
            phone => ($i % 3 ? undef : sprintf("+1555%07d", $i)),
            status => $status[$i % @status],
            type => ($i % 4 ? 'user' : 'guest'),
            is_staff => ($i % 2 ? JSON::PP::true : JSON::PP::false),
            is_admin => JSON::PP::false,
            invite => ($i % 5 ? undef : {
                id => "inv-$i",
                by_username => "admin",
                date_created => "2023-05-06T00:00:00.123",
                invited_by => 1,
            }),
            groups => [ grep { $i % $_ == 0 } 2, 3, 5 ],
            created_at => sprintf("2023-%02d-%02dT%02d:%02d:00Z",
                                  1 + $i % 12, 1 + $i % 28, $i % 24, $i % 60),
        };
    }

    return @u;
}

sub jsonl {
    my $json = JSON::PP->new->utf8->canonical;
    return join '', map { $json->encode($_) . "\n" } @_;
}

sub admin_path {
    return $ENV{TEST_NGINX_USERS_ADMIN} || 'build/users-admin';
}

# run_admin(@args): (exit status, stdout, stderr); standard input from
# $stdin when given
sub run_admin {
    my ($args, $stdin) = @_;
    my $dir = "/tmp/users-admin-test.$$";
    mkdir $dir;
    my @cmd = (admin_path(), '-p', redis_port(), @$args);
    my $in = defined $stdin ? "$dir/in" : '/dev/null';

    if (defined $stdin) {
        open my $f, '>:raw', $in or die "$in: $!";
        print {$f} $stdin;
        close $f;
    }

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $in or die;
        open STDOUT, '>', "$dir/out" or die;
        open STDERR, '>', "$dir/err" or die;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;

    my %o;
    for my $f (qw(out err)) {
        local $/;
        open my $h, '<:raw', "$dir/$f" or die;
        $o{$f} = <$h>;
    }
    unlink "$dir/in", "$dir/out", "$dir/err";
    rmdir $dir;

    return ($rc, $o{out}, $o{err});
}

1;
