#!/usr/bin/perl
# Generate N users of one workspace directly as Redis commands (RESP), for
# `redis-cli --pipe`: the hashes, every sort index and its enum-restricted
# copies, the membership sets and the index spec, exactly as docs/SCHEMA.md
# encodes them and redis/users.lua would write them, but without a function
# call per user. For bench/scale.sh (1,000,000 users in about a minute);
# FCALL_RO users_check confirms the result.
#
#   bench/gen-redis.pl WS N [seed] | redis-cli -p PORT --pipe
#
# Spec (conf/accounts.conf's): sort last_name:str,first_name:str,status:str,
# id:int; enum status,type; member groups:group. Ids 1..N. Writes into an
# empty workspace only (it deletes nothing).
#
# Core Perl only.

use strict;
use warnings;

my ($ws, $n, $seed) = @ARGV;
die "usage: $0 WS N [seed] | redis-cli --pipe\n"
    unless defined $n && $n =~ /^\d+\z/ && $ws =~ /^[^{}:\s]{1,64}\z/;
srand($seed // 1);

my $base = "users:{$ws}";
my $SORT = 'last_name:str,first_name:str,status:str,id:int';

# first and last names: some UTF-8 (only ASCII letters are lower-cased in
# str keys), last names weighted so that many users share one
my @first = qw(Anna Ben Chloé David Emma Finn Grace Hugo Isla Jack José Zoë
               Łukasz Søren Björn François Ines Noah Olivia Liam Mia Sofía
               Mateo Aiko 陽菜 太郎 Дмитрий Ólafur Çağla Ngozi Priya Wei
               Ömer Eve adam);
my @lastw = (Smith => 30, 'García' => 18, 'Müller' => 14, Nowak => 12,
             Johnson => 12, '渡辺' => 10, Brown => 10, Jones => 9,
             Kowalski => 8, Lee => 8, Martin => 7, Dubois => 6, Rossi => 6,
             Schmidt => 6, 'Ødegård' => 5, 'Ibáñez' => 5, 'Wiśniewski' => 5,
             "O'Brien" => 4, 'van der Berg' => 4, Nguyen => 4, Kim => 4,
             Patel => 4, 'Öztürk' => 3, Andersson => 3, Fischer => 3,
             Costa => 3, Silva => 3, Moreau => 2, Okafor => 2, MacLeod => 2,
             'Zúñiga' => 1);
my @last;
while (my ($name, $w) = splice @lastw, 0, 2) {
    push @last, ($name) x $w;
}

my @ascii = map { my $s = lc $_; $s =~ s/[^a-z]//g; $s || 'x' } @first;

binmode STDOUT;

sub cmd {
    my $out = '*' . @_ . "\r\n";
    $out .= '$' . length($_) . "\r\n$_\r\n" for @_;
    return $out;
}

sub str_key { my $s = shift; $s =~ tr/A-Z/a-z/; return $s }
sub int_key { return '1' . sprintf '%019d', shift }

my (%z, %s);    # index key -> [members]; set key -> {members}
my $buf = '';

sub flush {
    for my $k (keys %z) {
        my $m = $z{$k};
        $buf .= cmd('ZADD', $k, map { (0, $_) } @$m);
    }
    for my $k (keys %s) {
        $buf .= cmd('SADD', $k, keys %{ $s{$k} });
    }
    %z = ();
    %s = ();
    print $buf;
    $buf = '';
}

my @status = (('active') x 70, ('invited') x 15, ('inactive') x 15);

for my $id (1 .. $n) {
    my $fi = int rand @first;
    my $f = $first[$fi];
    my $l = $last[int rand @last];
    my $st = $status[int rand 100];
    my $ty = rand() < 0.8 ? 'user' : 'guest';
    (my $la = lc $l) =~ s/[^a-z]//g;

    my @h = (id => $id, email => "$ascii[$fi].$la$id\@example.com",
             first_name => $f, last_name => $l, status => $st, type => $ty,
             is_staff => (rand() < 0.05 ? 1 : 0),
             is_admin => (rand() < 0.1 ? 1 : 0),
             is_account_owner => ($id == 1 ? 1 : 0),
             created_at => sprintf('20%02d-%02d-%02dT%02d:%02d:%02dZ',
                                   19 + int rand 6, 1 + int rand 12,
                                   1 + int rand 28, int rand 24,
                                   int rand 60, int rand 60));
    push @h, phone => sprintf('+1 555 %03d %04d', rand 1000, rand 10000)
        if rand() < 0.6;
    push @h, photo => "https://cdn.example.com/photos/$id.jpg"
        if rand() < 0.4;
    if ($st eq 'invited' || ($st eq 'active' && rand() < 0.3)) {
        my $by = 1 + int rand $id;
        push @h, invite_id => sprintf('%08x-%04x-4%03x-%04x-%012x',
                                      rand 2**32, rand 65536, rand 4096,
                                      rand 65536, rand 2**48),
                 invite_by_username => "admin$by\@example.com",
                 invite_date_created => '2023-05-06T00:00:00Z',
                 invite_invited_by => $by,
                 invite_invited_from => 'email';
    }
    my %g;
    $g{1 + int rand 50} = 1 for 1 .. int rand 4;
    push @h, groups => join(',', sort { $a <=> $b } keys %g) if %g;

    $buf .= cmd('HSET', "$base:u:$id", @h);

    for my $ix (['id', int_key($id)], ['last_name', str_key($l)],
                ['first_name', str_key($f)], ['status', $st])
    {
        my $m = "$ix->[1]\0$id";
        my $k = "$base:ix:$ix->[0]";
        push @{ $z{$k} }, $m;
        push @{ $z{"$k:status=$st"} }, $m;
        push @{ $z{"$k:type=$ty"} }, $m;
    }
    for my $gid (keys %g) {
        $s{"$base:m:group:$gid"}{$id} = 1;
        $s{"$base:m:group"}{$gid} = 1;
    }

    flush() if $id % 1000 == 0;
}
flush();

print cmd('HSET', "$base:meta", sort => $SORT, enum => 'status,type',
          member => 'groups:group');
print cmd('HINCRBY', "$base:meta", 'ver', 1);
