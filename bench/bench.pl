#!/usr/bin/perl
# Helpers of bench/run.sh (core Perl only):
#
#   bench.pl conf TEMPLATE KEY=VALUE... KEY=@file...  > nginx.conf
#       replace @KEY@ in TEMPLATE; KEY=@file makes "set"/"return 200" lines
#       that answer the bytes of file from memory
#   bench.pl same A.json B.json [port-a port-b]
#       exit 0 if the two documents are the same JSON value (object key
#       order and escaping aside; port-b in B's strings read as port-a)
#   bench.pl wrk FILE
#       one line from wrk --latency output: rps p50_ms p99_ms requests
#       non2xx socket_errors
#   bench.pl report RAW.tsv
#       the table of bench/run.sh from its raw lines

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
            $ncpu, $bytes) = split /\t/;
        push @order, $target unless $r{$target};
        push @{ $r{$target}{rps} }, $rps;
        $r{$target}{by_round}{$round} = $rps;
        push @{ $r{$target}{p50} }, $p50;
        push @{ $r{$target}{p99} }, $p99;
        push @{ $r{$target}{rcpu} }, $rcpu if $rcpu ne '-';
        push @{ $r{$target}{ncpu} }, $ncpu if $ncpu ne '-';
        $r{$target}{bad} += $non + $err;
        $r{$target}{bytes} = $bytes;
        $r{$target}{n}++;
    }

    my %name = (
        module20 => '(a) module      limit=20',
        static20 => '(b) static file limit=20',
        return20 => '(c) return 200  limit=20',
        lua20    => '(d) OpenResty   limit=20',
        module100 => '(a) module      limit=100',
        static100 => '(b) static file limit=100',
        return100 => '(c) return 200  limit=100',
        lua100    => '(d) OpenResty   limit=100',
    );

    printf "%-27s %6s %9s %8s %8s %9s %9s %6s %6s\n", 'target', 'bytes',
           'req/s', 'p50 ms', 'p99 ms', 'redis us', 'nginx us', 'rounds',
           'errors';
    my %med;
    for my $t (@order) {
        my $x = $r{$t};
        $med{$t} = median(@{ $x->{rps} });
        printf "%-27s %6s %9.0f %8.2f %8.2f %9s %9s %6d %6d\n",
               $name{$t} // $t, $x->{bytes} // '-', $med{$t},
               median(@{ $x->{p50} }), median(@{ $x->{p99} }),
               fmt(median(@{ $x->{rcpu} || [] })),
               fmt(median(@{ $x->{ncpu} || [] })),
               $x->{n}, $x->{bad};
    }

    print "\nratios: of the medians (median of the ratios within each round,",
          " min-max)\n";
    for my $l (20, 100) {
        my $m = $med{"module$l"} or next;
        for my $o ([static => 'static'], [return => 'return'],
                   [lua => 'openresty'])
        {
            my $d = $med{"$o->[0]$l"} or next;
            my $ma = $r{"module$l"}{by_round};
            my $ob = $r{"$o->[0]$l"}{by_round};
            my @pr = sort { $a <=> $b }
                     map { $ma->{$_} / $ob->{$_} }
                     grep { $ob->{$_} } keys %$ma;
            printf "  limit=%-3d module/%-10s %5.2fx  (%.2fx, %.2f-%.2f)\n",
                   $l, $o->[1], $m / $d, median(@pr), $pr[0], $pr[-1];
        }
    }
    print "\nredis us, nginx us: CPU time (user+sys) of Redis and of the",
          " serving nginx's workers\nper request, median over rounds",
          " (the rest of the 2 cores goes to wrk and the kernel).\n";
}

sub fmt {
    my $v = shift;
    return $v eq 'nan' ? '-' : sprintf '%.1f', $v;
}
