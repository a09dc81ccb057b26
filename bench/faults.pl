#!/usr/bin/perl
# Helpers of bench/faults.sh. Core Perl only.
#
#   faults.pl probe PORT static|users SECONDS OUT
#       every 50 ms, on a new connection each: GET /static and GET
#       /files/ok.txt alternately, or GET /accounts/users?limit=1; one line
#       a request to OUT: "epoch kind status latency_ms" (status 0: no
#       answer within 2 s or a socket error). Runs SECONDS.
#
#   faults.pl report EVENTS PROBES PHASE=WRK_OUT...
#       the verdict: EVENTS holds "epoch name" lines ("X-start", "X-end" of
#       each fault, written by faults.sh), PROBES the probe logs (sorted),
#       WRK_OUT the wrk outputs with bench/faults.lua's "faults:" lines.
#       Prints the figures and "FAIL: ..." lines; exits 1 if any.

use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);

my $cmd = shift // '';

if ($cmd eq 'probe') { probe(@ARGV) }
elsif ($cmd eq 'report') { exit report(@ARGV) }
else { die "usage: $0 probe|report ...\n" }

sub get {
    my ($port, $path) = @_;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 2)
        or return (0, (time - $t0) * 1000);
    $s->autoflush(1);
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = $t0 + 2;
    while (1) {
        my $left = $deadline - time;
        last if $left <= 0 || !$sel->can_read($left);
        my $n = sysread $s, $buf, 65536, length $buf;
        last if !$n;
    }
    close $s;
    my $st = $buf =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : 0;
    return ($st, (time - $t0) * 1000);
}

sub probe {
    my ($port, $kind, $secs, $out) = @_;
    open my $fh, '>', $out or die "$out: $!\n";
    $fh->autoflush(1);
    my $end = time + $secs;
    my $i = 0;
    my $next = time;
    while (time < $end) {
        my $path = $kind eq 'users' ? '/accounts/users?limit=1'
                 : $i++ % 2 ? '/files/ok.txt' : '/static';
        my $t = time;
        my ($st, $ms) = get($port, $path);
        printf $fh "%.3f %s %d %.3f\n", $t, $kind, $st, $ms;
        $next += 0.05;
        my $d = $next - time;
        if ($d > 0) { sleep $d } else { $next = time }
    }
}

sub pct {
    my ($p, @v) = @_;
    return 0 unless @v;
    @v = sort { $a <=> $b } @v;
    my $i = int($p / 100 * @v + 0.999999) - 1;
    $i = 0 if $i < 0;
    $i = $#v if $i > $#v;
    return $v[$i];
}

sub report {
    my ($events, $probes, @wrk) = @_;
    my @fail;

    my @ev;    # [epoch, name]
    open my $e, '<', $events or die "$events: $!\n";
    while (<$e>) { push @ev, [$1, $2] if /^(\S+) (\S+)/ }
    my @pr;    # [epoch, kind, status, ms]
    open my $p, '<', $probes or die "$probes: $!\n";
    while (<$p>) { push @pr, [split] if /^\S+ \S+ \d+ \S+$/ }

    my %at = map { $_->[1] => $_->[0] } @ev;

    # the windows: a fault's start to its end plus 1.5 s
    my @win = map { /^(.*)-start$/ && defined $at{"$1-end"} ? ($1) : () }
              map { $_->[1] } @ev;

    printf "%-12s %6s %8s %8s %8s %5s  %s\n", 'window', 'static', 'p50 ms',
        'p99 ms', 'max ms', 'fail', 'users probe: status:count';
    my $base_p99;
    for my $name (@win) {
        my ($from, $to) = ($at{"$name-start"},
                           $at{"$name-end"} + ($name eq 'baseline' ? 0 : 1.5));
        my @st = grep { $_->[1] eq 'static' && $_->[0] >= $from
                        && $_->[0] < $to } @pr;
        my @us = grep { $_->[1] eq 'users' && $_->[0] >= $from
                        && $_->[0] < $to } @pr;
        my @ms = map { $_->[3] } @st;
        my $bad = grep { $_->[2] != 200 } @st;
        my %uc;
        $uc{$_->[2]}++ for @us;
        my $p99 = pct(99, @ms);
        printf "%-12s %6d %8.2f %8.2f %8.2f %5d  %s\n", $name, scalar @ms,
            pct(50, @ms), $p99, pct(100, @ms), $bad,
            join ' ', map { "$_:$uc{$_}" } sort keys %uc;
        $base_p99 = $p99 if $name eq 'baseline';
        push @fail, "static probe failed $bad times during $name" if $bad;
        my @odd = grep { $_ != 200 && $_ != 503 && $_ != 504 } keys %uc;
        push @fail, "users probe got status(es) @odd during $name" if @odd;
        if ($name ne 'baseline') {
            # the worker never blocks: p99 within 100 ms and 3x the baseline
            my $lim = 100;
            $lim = 3 * $base_p99 if $base_p99 && 3 * $base_p99 > $lim;
            push @fail, sprintf("static p99 %.1f ms > %.1f ms during %s",
                                $p99, $lim, $name) if $p99 > $lim;
        }
    }

    # recovery: from Redis's return to the end of the users probe's last
    # non-200 (probes that end before the next event)
    print "\n";
    for my $i (0 .. $#ev) {
        my ($t, $ev) = @{ $ev[$i] };
        next unless $ev =~ /^((?:kill|stop|clientkill)\d*)-end$/;
        my $name = $1;
        my $to = $i < $#ev ? $ev[$i + 1][0] : $t + 5;
        my @us = grep { $_->[1] eq 'users' && $_->[0] >= $t
                        && $_->[0] + $_->[3] / 1000 < $to } @pr;
        my ($last_bad) = reverse grep { $_->[2] != 200 } @us;
        my $first_ok = (grep { $_->[2] == 200 } @us)[0];
        my $rec = $last_bad ? $last_bad->[0] + $last_bad->[3] / 1000 - $t : 0;
        printf "after %-11s first 200 at +%.3f s, only 200 from +%.3f s"
            . " (%d probes)\n", $name,
            $first_ok ? $first_ok->[0] + $first_ok->[3] / 1000 - $t : -1,
            $rec, scalar @us;
        push @fail, sprintf("service not back within 1 s after %s: %.3f s",
                            $name, $rec) if $rec > 1.0 || !$first_ok;
    }

    # wrk: statuses and socket errors per phase
    print "\n";
    for my $arg (@wrk) {
        my ($phase, $file) = split /=/, $arg, 2;
        my %f;
        open my $w, '<', $file or die "$file: $!\n";
        while (<$w>) { $f{$1} = $2 if /^faults: (\S+) (\S+)/ }
        unless (%f) { push @fail, "no wrk result for $phase"; next }
        my @st = sort grep { /^status_/ } keys %f;
        my $errs = $f{err_connect} + $f{err_read} + $f{err_write}
                   + $f{err_timeout};
        printf "wrk %-8s %8d requests  %s  socket errors: connect %d read %d"
            . " write %d timeout %d  p99 %.1f ms max %.1f ms\n",
            $phase, $f{requests},
            join(' ', map { (my $k = $_) =~ s/status_//; "$k:$f{$_}" } @st),
            @f{qw(err_connect err_read err_write err_timeout p99_ms max_ms)};
        my @odd = grep { !/^status_(200|503|504)$/ } @st;
        push @fail, "wrk $phase: statuses other than 200/503/504: "
            . join(' ', map { "$_=$f{$_}" } @odd) if @odd;
        my $hard = $errs - $f{err_read};
        if ($errs && $phase =~ /^(reload|upgrade)$/ && !$hard) {
            # the target is zero; but exiting workers close idle keep-alive
            # connections, and a request wrk sends at that moment is a read
            # error: nginx core does that for "return 200" too, and wrk
            # does not retry. The probes, a new connection a request, must
            # not fail (checked above).
            print "WARN: wrk $phase: $errs read errors: keep-alive"
                . " connections closed by exiting workers (target 0)\n";
        } elsif ($errs) {
            push @fail, "wrk $phase: $errs socket errors";
        }
        push @fail, "wrk $phase: no 200" unless $f{status_200};
    }

    print "\n";
    if (@fail) { print "FAIL: $_\n" for @fail; return 1 }
    print "PASS\n";
    return 0;
}
