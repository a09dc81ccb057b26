#!/usr/bin/perl
# Generate N users as JSON Lines, shaped like GET /accounts/users of
# shared/seeds/000 (plus type, groups and created_at), for the demo and the
# benchmark:
#
#   scripts/gen-users.pl N [seed] [first-id] > users.jsonl
#
# The output is a pure function of (N, seed, first-id): the generator is a
# 32-bit xorshift of its own, not Perl's rand, and keys are printed in a
# fixed order. Ids are first-id .. first-id+N-1 (default 1).
#
# Variety: many users share a last name (about 40 last names for any N),
# names with non-ASCII letters (Zoë, José, Łukasz, 渡辺), nullable phone and
# photo, status active/inactive/invited, type guest/user, three booleans,
# a nested invite object or null, a list of group ids (possibly empty),
# created_at in RFC 3339 (some with a fraction or an offset).
#
# Core Perl only (JSON::PP).

use strict;
use warnings;
use utf8;

use JSON::PP ();

my ($n, $seed, $first) = @ARGV;

if (!defined $n || $n !~ /^\d+$/ || @ARGV > 3
    || (defined $seed && $seed !~ /^\d+$/)
    || (defined $first && $first !~ /^\d+$/))
{
    print STDERR "usage: $0 N [seed] [first-id] > users.jsonl\n";
    exit 2;
}

$seed  //= 1;
$first //= 1;

# xorshift32; the state must not be 0
my $state = ($seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF;
$state ||= 0x2545F491;

sub rnd {            # an integer in [0, $_[0])
    $state ^= ($state << 13) & 0xFFFFFFFF;
    $state ^= $state >> 17;
    $state ^= ($state << 5) & 0xFFFFFFFF;
    return $state % $_[0];
}

sub pick { return $_[rnd(scalar @_)] }
sub chance { return rnd(1000) < $_[0] * 1000 }

# [display, ascii for the e-mail]
my @first = (
    [qw(Anna anna)], [qw(Ben ben)], [qw(Chloé chloe)], [qw(David david)],
    [qw(Emma emma)], [qw(Finn finn)], [qw(Grace grace)], [qw(Hugo hugo)],
    [qw(Isla isla)], [qw(Jack jack)], [qw(José jose)], [qw(Zoë zoe)],
    [qw(Łukasz lukasz)], [qw(Małgorzata malgorzata)], [qw(Søren soren)],
    [qw(Björn bjorn)], [qw(François francois)], [qw(Ines ines)],
    [qw(Noah noah)], [qw(Olivia olivia)], [qw(Liam liam)], [qw(Mia mia)],
    [qw(Sofía sofia)], [qw(Mateo mateo)], [qw(Aiko aiko)],
    [qw(陽菜 hina)], [qw(太郎 taro)], [qw(Дмитрий dmitry)],
    [qw(Ólafur olafur)], [qw(Çağla cagla)], [qw(Ngozi ngozi)],
    [qw(Priya priya)], [qw(Wei wei)], [qw(Ömer omer)], [qw(Eve eve)],
    [qw(adam adam)],    # lower case on purpose: sorting is case-insensitive
);

# weighted: the first names are far more common, so many users share them
my @last = (
    [qw(Smith smith 30)], [qw(García garcia 18)], [qw(Müller muller 14)],
    [qw(Nowak nowak 12)], [qw(Johnson johnson 12)], [qw(渡辺 watanabe 10)],
    [qw(Brown brown 10)], [qw(Jones jones 9)], [qw(Kowalski kowalski 8)],
    [qw(Lee lee 8)], [qw(Martin martin 7)], [qw(Dubois dubois 6)],
    [qw(Rossi rossi 6)], [qw(Schmidt schmidt 6)], [qw(Ødegård odegard 5)],
    [qw(Ibáñez ibanez 5)], [qw(Wiśniewski wisniewski 5)], [qw(佐藤 sato 5)],
    [qw(Ivanova ivanova 4)], [qw(O'Brien obrien 4)], [qw(van der Berg vanderberg 4)],
    [qw(de la Cruz delacruz 3)], [qw(Nguyen nguyen 4)], [qw(Kim kim 4)],
    [qw(Patel patel 4)], [qw(Öztürk ozturk 3)], [qw(Żak zak 3)],
    [qw(Ähnlich ahnlich 2)], [qw(Łęcki lecki 2)], [qw(Andersson andersson 3)],
    [qw(Fischer fischer 3)], [qw(Costa costa 3)], [qw(Silva silva 3)],
    [qw(Moreau moreau 2)], [qw(Yılmaz yilmaz 2)], [qw(Novák novak 2)],
    [qw(Okafor okafor 2)], [qw(MacLeod macleod 2)], [qw(smith smith 2)],
    [qw(Zúñiga zuniga 1)],
);

# qw() splits "van der Berg" and "de la Cruz": put them back together
for my $l (@last) {
    if (@$l > 3) {
        my $w = pop @$l;
        my $asc = pop @$l;
        $l = [join(' ', @$l), $asc, $w];
    }
}

my $total_w = 0;
$total_w += $_->[2] for @last;

sub pick_last {
    my $r = rnd($total_w);
    for my $l (@last) {
        return $l if $r < $l->[2];
        $r -= $l->[2];
    }
    return $last[-1];
}

my @domains = qw(example.com example.org example.net acme.test);
my @from    = qw(email email email google microsoft slack);

sub two { return sprintf '%02d', $_[0] }

# a time in 2019..2024, as RFC 3339; $epoch_out gets the Unix time
sub timestamp {
    my ($min_days) = @_;
    my $days = ($min_days // 0) + rnd(6 * 365 - ($min_days // 0));
    my $secs = rnd(86400);
    my $t = 1546300800 + $days * 86400 + $secs;    # 2019-01-01
    my @g = gmtime $t;
    my $s = sprintf '%04d-%02d-%02dT%02d:%02d:%02d',
                    $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0];
    my $k = rnd(10);
    if ($k < 6) {
        return ($s . 'Z', $days);
    }
    if ($k < 9) {
        return ($s . sprintf('.%03dZ', rnd(1000)), $days);
    }
    # the same instant written with an offset
    my @o = gmtime($t + 7200);
    return (sprintf('%04d-%02d-%02dT%02d:%02d:%02d+02:00',
                    $o[5] + 1900, $o[4] + 1, $o[3], $o[2], $o[1], $o[0]),
            $days);
}

sub uuid {
    my $h = '';
    $h .= sprintf '%04x', rnd(65536) for 1 .. 8;
    return join '-', substr($h, 0, 8), substr($h, 8, 4),
                     '4' . substr($h, 13, 3), substr($h, 16, 4),
                     substr($h, 20, 12);
}

my $json = JSON::PP->new->utf8->canonical->allow_nonref;

my @keys = qw(id email first_name last_name phone photo status type
              is_staff is_admin is_account_owner invite groups created_at);

my $last_id = $first + $n - 1;

binmode STDOUT;

for my $id ($first .. $last_id) {
    my $f = pick(@first);
    my $l = pick_last();

    my $status = do {
        my $r = rnd(100);
        $r < 70 ? 'active' : $r < 85 ? 'invited' : 'inactive';
    };

    my ($created, $days) = timestamp();

    my %u = (
        id         => $id + 0,
        email      => "$f->[1].$l->[1]$id\@" . pick(@domains),
        first_name => $f->[0],
        last_name  => $l->[0],
        phone      => chance(0.6)
                      ? sprintf('+1 555 %03d %04d', rnd(1000), rnd(10000))
                      : undef,
        photo      => chance(0.4)
                      ? "https://cdn.example.com/photos/$id.jpg" : undef,
        status     => $status,
        type       => chance(0.8) ? 'user' : 'guest',
        is_staff   => chance(0.05) ? JSON::PP::true : JSON::PP::false,
        is_admin   => chance(0.1) ? JSON::PP::true : JSON::PP::false,
        is_account_owner => $id == $first ? JSON::PP::true : JSON::PP::false,
        created_at => $created,
    );

    # invited users always have an invite; some active ones kept theirs
    if ($status eq 'invited' || ($status eq 'active' && chance(0.3))) {
        my $by = $first + rnd($id - $first + 1);
        my ($date) = timestamp();
        $u{invite} = {
            id           => uuid(),
            by_username  => "admin$by\@" . $domains[0],
            date_created => $date,
            invited_by   => $by + 0,
            invited_from => pick(@from),
        };
    } else {
        $u{invite} = undef;
    }

    my %g;
    $g{1 + rnd(20)} = 1 for 1 .. rnd(4);
    $u{groups} = [map { $_ + 0 } sort { $a <=> $b } keys %g];

    # fixed key order: id first, as an API would print it
    print '{', join(',', map { $json->encode($_) . ':' . $json->encode($u{$_}) }
                         @keys), "}\n";
}
