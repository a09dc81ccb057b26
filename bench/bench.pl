#!/usr/bin/perl
# Helpers of bench/run.sh (core Perl only):
#
#   bench.pl conf TEMPLATE KEY=VALUE... KEY=@file...  > nginx.conf
#       replace @KEY@ in TEMPLATE; KEY=@file makes "set"/"return 200" lines
#       that answer the bytes of file from memory
#   bench.pl public CONF WORKSPACE  > public.conf
#       a shipped conf (bearer tokens) in its public form: its
#       "users_auth ...;" line becomes "users_workspace WORKSPACE;", for
#       the benchmarks of the module without auth
#   bench.pl same A.json B.json [port-a port-b]
#       exit 0 if the two documents are the same JSON value (object key
#       order and escaping aside; port-b in B's strings read as port-a)
#   bench.pl wrk FILE
#       one line from wrk --latency output: rps p50_ms p99_ms requests
#       non2xx socket_errors
#   bench.pl report RAW.tsv
#       the table of bench/run.sh from its raw lines
#   bench.pl writer REDIS_PORT WS ID MS OUT
#       until SIGTERM, rewrite user ID of workspace WS every MS ms through
#       FCALL users_upsert (its own fields, "phone" set to a new value each
#       time); then write to OUT the writes per second and the last phone,
#       and to OUT.orig the user as it was
#   bench.pl restore REDIS_PORT WS OUT.orig
#       upsert the user saved by writer back
#   bench.pl sample-check REDIS_PORT WS N COUNT
#       for bench/gen-redis.pl's data: upsert COUNT random users of 1..N
#       with their own fields through FCALL users_upsert; each must be a
#       replacement (0) that leaves the size of every index and set as it
#       was, i.e. redis/users.lua computes the entries the generator wrote

use strict;
use warnings;

use JSON::PP ();

my $cmd = shift // '';

if ($cmd eq 'conf') {
    my $tpl = shift;
    my %v;
    for (@ARGV) {
        my ($k, $val) = /^(\w+)=(.*)\z/s or die "bad argument \"$_\"\n";
        $v{$k} = $val =~ /^@(.+)/ ? return_lines(slurp($1)) : $val;
    }
    my $t = slurp($tpl);
    $t =~ s/@(\w+)@/exists $v{$1} ? $v{$1} : die "no value for \@$1\@\n"/ge;
    print $t;
    exit 0;
}

if ($cmd eq 'public') {
    my ($conf, $ws) = @ARGV;
    my $t = slurp($conf);
    $t =~ s/^(\s*)users_auth\s+"[^"]*";/$1users_workspace  $ws;/m
        or die "$conf: no users_auth line\n";
    print $t;
    exit 0;
}

if ($cmd eq 'same') {
    my ($fa, $fb, $pa, $pb) = @ARGV;
    my $json = JSON::PP->new->canonical;
    my $da = eval { JSON::PP->new->utf8->decode(slurp($fa)) };
    my $db = eval { JSON::PP->new->utf8->decode(slurp($fb)) };
    die "$fa: not JSON\n" unless $da;
    die "$fb: not JSON\n" unless $db;
    my $ea = $json->encode($da);
    my $eb = $json->encode($db);
    $eb =~ s/:$pb\//:$pa\//g if defined $pb;
    exit 0 if $ea eq $eb;
    # say where they differ
    my $i = 0;
    $i++ while $i < length($ea) && substr($ea, $i, 1) eq substr($eb, $i, 1);
    print STDERR "differ at byte $i:\n  ", substr($ea, $i > 60 ? $i - 60 : 0, 160),
                 "\n  ", substr($eb, $i > 60 ? $i - 60 : 0, 160), "\n";
    exit 1;
}

if ($cmd eq 'wrk') {
    my $t = slurp(shift);
    my ($rps) = $t =~ /^Requests\/sec:\s+([\d.]+)/m;
    my ($p50) = $t =~ /^\s+50%\s+([\d.]+\w+)/m;
    my ($p99) = $t =~ /^\s+99%\s+([\d.]+\w+)/m;
    my ($req) = $t =~ /^\s+(\d+) requests in/m;
    my ($non) = $t =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    my $err = 0;
    if ($t =~ /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/) {
        $err = $1 + $2 + $3 + $4;
    }
    print join("\t", $rps // 0, ms($p50), ms($p99), $req // 0, $non // 0,
                     $err), "\n";
    exit 0;
}

if ($cmd eq 'report') {
    report(shift);
    exit 0;
}

if ($cmd eq 'writer') {
    writer(@ARGV);
    exit 0;
}

if ($cmd eq 'sample-check') {
    my ($port, $ws, $n, $count) = @ARGV;
    my $s = redis_connect($port);
    my $base = "users:{$ws}";
    my @keys;
    for my $ix (qw(id last_name first_name status)) {
        push @keys, map { "$base:ix:$ix$_" }
            '', qw(:status=active :status=invited :status=inactive
                   :type=user :type=guest);
    }
    my @sets = ("$base:m:group", map { "$base:m:group:$_" } 1 .. 50);
    my $print = sub {
        join ',', (map { redis_cmd($s, 'ZCARD', $_) } @keys),
                  (map { redis_cmd($s, 'SCARD', $_) } @sets);
    };
    my $before = $print->();
    srand(42);
    for (1 .. $count) {
        my $id = 1 + int rand $n;
        my $h = redis_cmd($s, 'HGETALL', "$base:u:$id");
        die "sample-check: no user $id\n" unless ref $h eq 'ARRAY' && @$h;
        my $r = redis_cmd($s, 'FCALL', 'users_upsert', 1, $base, $id, @$h);
        die "sample-check: upsert $id: ", (ref $r ? $$r : $r), "\n"
            unless defined $r && !ref $r && $r eq '0';
    }
    my $after = $print->();
    die "sample-check: index sizes changed:\n  $before\n  $after\n"
        unless $before eq $after;
    print "$count users re-upserted, ", scalar(@keys), " indexes and ",
          scalar(@sets), " sets unchanged\n";
    exit 0;
}

if ($cmd eq 'restore') {
    my ($port, $ws, $file) = @ARGV;
    my $u = JSON::PP->new->decode(slurp($file));
    my $s = redis_connect($port);
    my $r = redis_cmd($s, 'FCALL', 'users_upsert', 1, "users:{$ws}",
                      $u->{id}, %$u);
    die "restore: $r\n" if ref $r eq 'SCALAR';
    exit 0;
}

die "usage: bench.pl conf|same|wrk|report ...\n";


sub slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or die "$f: $!\n";
    local $/;
    return scalar <$fh>;
}

sub ms {
    my $v = shift;
    return 'nan' unless defined $v;
    my ($n, $u) = $v =~ /^([\d.]+)(\w+)$/ or return 'nan';
    return $n / 1000 if $u eq 'us';
    return $n        if $u eq 'ms';
    return $n * 1000 if $u eq 's';
    return $n * 60000 if $u eq 'm';
    return 'nan';
}

# nginx reads at most 4 KB into one parameter: cut the body into pieces
# that stay under it once escaped, set a variable to each, return them all
sub return_lines {
    my $body = shift;
    die "the body has a \"\$\": nginx would read a variable\n"
        if $body =~ /\$/;
    my (@set, $ret);
    my $i = 0;
    while (length $body) {
        my $piece = substr($body, 0, 3000, '');
        # do not cut a UTF-8 sequence
        while (length $body && substr($body, 0, 1) =~ /[\x80-\xbf]/) {
            $piece .= substr($body, 0, 1, '');
        }
        (my $esc = $piece) =~ s/([\\'])/\\$1/g;
        push @set, "            set \$users_body_$i '$esc';";
        $ret .= "\$users_body_$i";
        $i++;
    }
    return join("\n", @set, "            return 200 \"$ret\";");
}

sub median {
    my @v = sort { $a <=> $b } grep { defined && /^-?\d+(?:\.\d*)?(?:e[-+]?\d+)?\z/i } @_;
    return 'nan' unless @v;
    my $m = int(@v / 2);
    return @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2;
}

sub report {
    my $raw = shift;
    my (%r, @order);
    open my $fh, '<', $raw or die "$raw: $!\n";
    while (<$fh>) {
        chomp;
        next if /^#/ || !length;
        my ($round, $target, $rps, $p50, $p99, $req, $non, $err, $rcpu,
            $ncpu, $bytes, $hit, $writes) = split /\t/;
        push @order, $target unless $r{$target};
        push @{ $r{$target}{rps} }, $rps;
        $r{$target}{by_round}{$round} = $rps;
        push @{ $r{$target}{p50} }, $p50;
        push @{ $r{$target}{p99} }, $p99;
        push @{ $r{$target}{rcpu} }, $rcpu if $rcpu ne '-';
        push @{ $r{$target}{ncpu} }, $ncpu if $ncpu ne '-';
        $r{$target}{bad} += $non + $err;
        $r{$target}{bytes} = $bytes;
        push @{ $r{$target}{hit} }, $hit if defined $hit && $hit ne '-';
        push @{ $r{$target}{writes} }, $writes
            if defined $writes && $writes ne '-';
        $r{$target}{n}++;
    }

    my %name = (
        module20 => '(a) module      limit=20',
        nocache20 => "(a') no cache   limit=20",
        nocache100 => "(a') no cache   limit=100",
        static20 => '(b) static file limit=20',
        return20 => '(c) return 200  limit=20',
        lua20    => '(d) OpenResty   limit=20',
        module100 => '(a) module      limit=100',
        static100 => '(b) static file limit=100',
        return100 => '(c) return 200  limit=100',
        lua100    => '(d) OpenResty   limit=100',
    );

    printf "%-27s %6s %9s %8s %8s %9s %9s %6s %6s %6s\n", 'target',
           'bytes', 'req/s', 'p50 ms', 'p99 ms', 'redis us', 'nginx us',
           'hit %', 'rounds', 'errors';
    my %med;
    for my $t (@order) {
        my $x = $r{$t};
        $med{$t} = median(@{ $x->{rps} });
        my $hit = median(@{ $x->{hit} || [] });
        $name{$t} //= sprintf '(a") write/%-5s  limit=%s', "$2ms", $1
            if $t =~ /^writes(\d+)-(\d+)\z/;
        printf "%-27s %6s %9.0f %8.2f %8.2f %9s %9s %6s %6d %6d\n",
               $name{$t} // $t, $x->{bytes} // '-', $med{$t},
               median(@{ $x->{p50} }), median(@{ $x->{p99} }),
               fmt(median(@{ $x->{rcpu} || [] })),
               fmt(median(@{ $x->{ncpu} || [] })),
               $hit eq 'nan' ? '-' : sprintf('%.1f', $hit * 100),
               $x->{n}, $x->{bad};
    }
    for my $t (grep { $r{$_}{writes} } @order) {
        printf "%s: %s upserts/s while wrk ran (median over rounds)\n",
               $name{$t} // $t, median(@{ $r{$t}{writes} });
    }

    print "\nratios: of the medians (median of the ratios within each round,",
          " min-max)\n";
    for my $l (20, 100) {
      for my $t (grep { /^(?:module|nocache|writes)$l(?:-\d+)?\z/ } @order) {
        my $m = $med{$t} or next;
        (my $mod = $t) =~ s/^(\D+)$l/$1/;
        for my $o ([static => 'static'], [return => 'return'],
                   [lua => 'openresty'], [nocache => 'no cache'])
        {
            next if $o->[0] eq $mod;
            my $d = $med{"$o->[0]$l"} or next;
            my $ma = $r{$t}{by_round};
            my $ob = $r{"$o->[0]$l"}{by_round};
            my @pr = sort { $a <=> $b }
                     map { $ma->{$_} / $ob->{$_} }
                     grep { $ob->{$_} } keys %$ma;
            next unless @pr;
            printf "  limit=%-3d %-9s/%-10s %5.2fx  (%.2fx, %.2f-%.2f)\n",
                   $l, $mod eq 'module' ? 'cache' : $mod, $o->[1], $m / $d,
                   median(@pr), $pr[0], $pr[-1];
        }
      }
    }
    print "\nredis us, nginx us: CPU time (user+sys) of Redis and of the",
          " serving nginx's workers\nper request, median over rounds",
          " (the rest of the 2 cores goes to wrk and the kernel).\n",
          "hit %: the page cache's hits (Redis counts one EXEC a hit, two",
          " a miss).\n";
}

# A minimal RESP client (core Perl): enough for HGETALL and FCALL.
sub redis_connect {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => shift, Proto => 'tcp')
        or die "redis: $!\n";
    $s->autoflush(1);
    return $s;
}

sub redis_cmd {
    my ($s, @a) = @_;
    my $out = '*' . @a . "\r\n";
    $out .= '$' . length($_) . "\r\n$_\r\n" for @a;
    print $s $out or die "redis: $!\n";
    return redis_reply($s);
}

sub redis_reply {
    my $s = shift;
    my $l = <$s>;
    die "redis: connection closed\n" unless defined $l;
    $l =~ s/\r\n\z//;
    my ($t, $v) = (substr($l, 0, 1), substr($l, 1));
    return $v if $t eq '+' || $t eq ':';
    return \$v if $t eq '-';    # an error: a reference to its text
    if ($t eq '$') {
        return undef if $v < 0;
        my $b = '';
        read($s, $b, $v + 2) == $v + 2 or die "redis: short read\n";
        return substr($b, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { redis_reply($s) } 1 .. $v ];
    }
    die "redis: bad reply \"$l\"\n";
}

sub writer {
    my ($port, $ws, $id, $ms, $out) = @_;
    require Time::HiRes;
    my $s = redis_connect($port);
    my $h = redis_cmd($s, 'HGETALL', "users:{$ws}:u:$id");
    die "writer: no user $id\n" unless ref $h eq 'ARRAY' && @$h;
    my %orig = @$h;
    open my $fh, '>', "$out.orig" or die "$out.orig: $!\n";
    print $fh JSON::PP->new->canonical->encode(\%orig);
    close $fh;

    my $stop = 0;
    local $SIG{TERM} = sub { $stop = 1 };
    my ($n, $last) = (0, '');
    my $t0 = Time::HiRes::time();
    my $next = $t0;
    while (!$stop) {
        my %u = %orig;
        $last = $u{phone} = sprintf '+1 555 %07d', $n + 1;
        my $r = redis_cmd($s, 'FCALL', 'users_upsert', 1, "users:{$ws}",
                          $id, %u);
        die "writer: $$r\n" if ref $r eq 'SCALAR';
        $n++;
        $next += $ms / 1000;
        my $d = $next - Time::HiRes::time();
        Time::HiRes::sleep($d) if $d > 0 && !$stop;
    }
    my $t = Time::HiRes::time() - $t0;
    open $fh, '>', $out or die "$out: $!\n";
    printf $fh "%.0f\n%s\n", $t > 0 ? $n / $t : 0, $last;
    close $fh;
}

sub fmt {
    my $v = shift;
    return $v eq 'nan' ? '-' : sprintf '%.1f', $v;
}
