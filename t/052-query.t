# redis/users.lua, users_query: filters, orderings, paging, candidate
# strategies and errors over raw RESP. Every ordering is checked both against
# literal id lists and against a reference model written in Perl.
#
# Needs TEST_NGINX_REDIS_PORT: a Redis 7 with redis/users.lua loaded.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::Local qw(timegm);
use UsersData qw(redis cmd ws_clean upsert);

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set'
    unless $ENV{TEST_NGINX_REDIS_PORT};

my $r = redis();
my $ws = 't052';
my $B = "users:{$ws}";

ws_clean($r, $_) for $ws, 't052int';

# --- 30 users: nulls, equal and mixed-case names, offsets, groups ------------

my @LAST = ('Smith', 'smith', 'Adams', "o'Neil", 'Brown', undef, 'Zed',
            'adams');
my @FIRST = ('Ann', 'bob', 'Cid', 'dirk', 'Eva');
my @STATUS = qw(active inactive invited);
my @OFF = ('Z', '+02:00', '-05:30', '+00:00', 'z');

my %U;
for my $i (1 .. 30) {
    my %u = (id => "$i");
    $u{last_name} = $LAST[$i % 8] if defined $LAST[$i % 8];
    $u{first_name} = $FIRST[$i % 5] unless $i % 11 == 0;
    $u{status} = $STATUS[$i % 3] unless $i % 13 == 0;
    $u{type} = $i % 4 ? 'user' : 'guest';
    $u{score} = ($i * 7) % 23 - 11 unless $i % 6 == 0;
    $u{created_at} = sprintf('2024-01-%02dT%02d:%02d:00%s', 1 + $i % 4,
                             $i % 24, $i % 3 * 20, $OFF[$i % 5])
        unless $i % 9 == 0;
    $u{email} = "User$i\@Example.com";
    my @g = grep { $i % $_->[0] == 0 } [2, 'g2'], [3, 'g3'], [7, 'g7'];
    $u{groups} = join ',', map { $_->[1] } @g if @g;
    $U{$i} = \%u;
}
# the same instant written with two offsets, an hour apart on the clock
$U{4}{created_at} = '2024-01-02T12:00:00+01:00';
$U{5}{created_at} = '2024-01-02T11:00:00Z';

is(cmd($r, 'FCALL', 'users_schema', 1, $B,
       'last_name:str,first_name:str,status:str,created_at:time,score:int',
       'status,type', 'groups:group'), 0, 'schema');
for my $id (sort { $a <=> $b } keys %U) {
    my %u = %{ $U{$id} };
    delete $u{id};
    upsert($r, $ws, $id, map { ($_, $u{$_}) } sort keys %u);
}
is(cmd($r, 'ZCARD', "$B:ix:id"), 30, '30 users');

# --- the reference model ---------------------------------------------------------

sub lcb { my $s = shift; $s =~ tr/A-Z/a-z/; $s }

sub instant {
    my $s = shift;
    $s =~ /\A(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?
           ([Zz]|([+-])(\d\d):(\d\d))?\z/x or return undef;
    my $t = timegm($6, $5, $4, $3, $2 - 1, $1);
    $t -= ($8 eq '+' ? 1 : -1) * ($9 * 3600 + $10 * 60) if defined $8;
    return $t;
}

# the sort key compared by cmp (strings) or <=> (numbers); undef is null
sub mkey {
    my ($kind, $v) = @_;
    return undef unless defined $v;
    return lcb($v) if $kind eq 'str';
    return instant($v) if $kind eq "time";
    return $v =~ /\A-?\d+\z/ ? $v + 0 : undef;
}

# model ordering: keys in their directions; the id breaks ties in the
# direction of the last key (the last key is "<key> NUL <id>", like an index)
sub model_sort {
    my ($sort, @ids) = @_;
    my @keys = map { [ split /:/ ] } split /,/, $sort;
    @keys = ([ 'id', 'str', 'a' ]) unless @keys;
    my $c = sub {
        my ($x, $y) = @_;
        for my $j (0 .. $#keys) {
            my ($f, $kind, $dir) = @{ $keys[$j] };
            my ($p, $q) = map { mkey($kind, $U{$_}{$f}) } $x, $y;
            my $o = !defined $p ? (defined $q ? -1 : 0)
                  : !defined $q ? 1
                  : $kind eq 'str' ? $p cmp $q : $p <=> $q;
            $o ||= $x cmp $y if $j == $#keys;
            return $dir eq 'd' ? -$o : $o if $o;
        }
        return 0;
    };
    return sort { $c->($a, $b) } @ids;
}

# model filter: the program's tokens -> predicate on an id
sub model_prog {
    my @t = @_;
    my $i = 0;
    my $node;
    $node = sub {
        my $op = $t[$i++];
        if ($op eq 'true') { return sub { 1 } }
        if ($op eq 'and' || $op eq 'or') {
            my @k = map { $node->() } 1 .. $t[$i++];
            return $op eq 'and'
                ? sub { my $id = shift; !grep { !$_->($id) } @k }
                : sub { my $id = shift; !!grep { $_->($id) } @k };
        }
        if ($op eq 'not') { my $k = $node->(); return sub { !$k->(shift) } }
        if ($op eq 'cmp') {
            my ($o, $f, $kind, $v) = @t[$i .. $i + 3];
            $i += 4;
            my $conv = $kind eq 'ci' ? \&lcb
                     : $kind eq 'str' ? sub { $_[0] }
                     : sub { mkey($kind, $_[0]) };
            my $num = $kind eq 'int' || $kind eq 'time';
            $v = $conv->($v);
            return sub {
                my $x = $U{ $_[0] }{$f};
                return $o eq 'ne' unless defined $x;
                $x = $conv->($x);
                my $c = $num ? $x <=> $v : $x cmp $v;
                return { eq => $c == 0, ne => $c != 0, gt => $c > 0,
                         ge => $c >= 0, lt => $c < 0, le => $c <= 0 }->{$o};
            };
        }
        if ($op eq 'in') {
            my $f = $t[$i++];
            my %set = map { $_ => 1 } @t[$i + 1 .. $i + $t[$i]];
            $i += $t[$i] + 1;
            return sub { my $x = $U{ $_[0] }{$f}; defined $x && $set{$x} };
        }
        if ($op eq 'member') {
            $i++;                       # kind: only "group" here
            my %g = map { $_ => 1 } @t[$i + 1 .. $i + $t[$i]];
            $i += $t[$i] + 1;
            return sub {
                !!grep { $g{$_} } split /,/, $U{ $_[0] }{groups} // '';
            };
        }
        if ($op eq 'search') {
            my @f = @t[$i + 1 .. $i + $t[$i]];
            $i += $t[$i] + 1;
            my $term = $t[$i++];
            return sub {
                my $u = $U{ $_[0] };
                !!grep { defined $u->{$_}
                         && index(lcb($u->{$_}), $term) >= 0 } @f;
            };
        }
        die "model: unknown token $op";
    };
    return @t ? $node->() : sub { 1 };
}

sub model {
    my ($sort, @prog) = @_;
    my $p = model_prog(@prog);
    return [ model_sort($sort, grep { $p->($_) } keys %U) ];
}

# --- the function ------------------------------------------------------------------

# run_q($offset, $limit, $sort, @program) -> { total, examined, ids }
sub run_q {
    my ($off, $lim, $sort, @prog) = @_;
    my $res = cmd($r, 'FCALL_RO', 'users_query', 1, $B, $off, $lim, 1000,
                  $sort, 1, 'id', @prog);
    return $res if ref $res eq 'HASH';
    my ($total, $examined, @rows) = @$res;
    return { total => $total, examined => $examined,
             ids => [ map { $_->[0] } @rows ] };
}

# the whole ordered list, and that it is what the model says
sub check {
    my ($name, $expect, $sort, @prog) = @_;
    my $res = run_q(0, 100, $sort, @prog);
    my $model = model($sort, @prog);
    is_deeply($res->{ids}, $model, "$name: model order")
        or diag explain { got => $res, model => $model };
    is($res->{total}, scalar @$model, "$name: total");
    is_deeply($res->{ids}, $expect, "$name: literal order") if $expect;
    return $res;
}

# --- orderings -------------------------------------------------------------------

check('by id (bytes)', [ sort map { "$_" } 1 .. 30 ], '');
check('last_name asc: nulls first, case-insensitive, ties by id asc',
      [ qw(13 21 29 5 10 15 18 2 23 26 7 12 20 28 4 11 19 27 3 1 16 17 24
           25 8 9 14 22 30 6) ],
      'last_name:str:a');
check('last_name desc: nulls last, ties by id desc (ZRANGE REV)',
      [ reverse qw(13 21 29 5 10 15 18 2 23 26 7 12 20 28 4 11 19 27 3 1
                   16 17 24 25 8 9 14 22 30 6) ],
      'last_name:str:d');
check('score int asc: negatives, nulls first', undef, 'score:int:a');
check('score int desc', undef, 'score:int:d');
my $t = check('created_at time asc: instants across offsets', undef,
              'created_at:time:a');
my @tpos = map { my $x = $_; grep { $t->{ids}[$_] eq $x } 0 .. 29 } 4, 5;
is(abs($tpos[0] - $tpos[1]), 1, '+01:00 and Z at the same instant: adjacent');
check('created_at time desc', undef, 'created_at:time:d');
check('two keys, status desc, last_name asc', undef,
      'status:str:d,last_name:str:a');
check('two keys, last_name asc, first_name desc', undef,
      'last_name:str:a,first_name:str:d');
check('three keys, mixed kinds', undef,
      'type:str:a,score:int:d,created_at:time:a');
check('sort by an unindexed field (email)', undef, 'email:str:a');
check('sort by an indexed field with another kind', undef, 'last_name:int:a');
is_deeply(run_q(0, 3, 'status:str:d,last_name:str:a')->{ids}, [ qw(29 5 2) ],
          'status desc, last_name asc: first page literally');

# --- ops and kinds ----------------------------------------------------------------

for my $op (qw(eq ne gt ge lt le)) {
    check("cmp $op str", undef, '', 'cmp', $op, 'last_name', 'str', 'Smith');
    check("cmp $op ci", undef, '', 'cmp', $op, 'last_name', 'ci', 'smith');
    check("cmp $op int", undef, 'score:int:a', 'cmp', $op, 'score', 'int', 3);
    check("cmp $op time", undef, 'created_at:time:a', 'cmp', $op,
          'created_at', 'time', '2024-01-02T13:00:00+02:00');
}
check('cmp eq str is case-sensitive', [ qw(16 24 8) ], '',
      qw(cmp eq last_name str Smith));
check('cmp eq ci folds case', [ qw(1 16 17 24 25 8 9) ], '',
      qw(cmp eq last_name ci SMITH));
check('cmp ne: absent fields match', undef, '',
      qw(cmp ne first_name str Ann));
check('cmp int: -2 < 10 numerically', undef, '', qw(cmp lt score int -2));
check('cmp time: same instant, other offset', [ qw(4 5) ], '',
      qw(cmp eq created_at time 2024-01-02T06:00:00-05:00));
check('in', undef, '', qw(in first_name 2 bob Eva));
check('in: exact bytes', [], '', qw(in first_name 1 BOB));
check('and/or/not nesting', undef, 'last_name:str:a',
      qw(or 2 and 2 cmp ge score int 0 not in status 1 active
              and 2 search 1 email 7@ not cmp eq type str user));
check('and 0 is true, or 0 is false', [], '', qw(or 0));
check('true', undef, 'first_name:str:a', 'true');

# --- candidate strategies ------------------------------------------------------------

my $res = check('in id: existing ids only, ordered', [ qw(5 10 3) ],
                'last_name:str:a', qw(in id 4 3 99 10 5));
is($res->{examined}, 4, 'in id: examined the 4 named ids only');
$res = check('in id within and', [ qw(4) ], '',
             qw(and 2 in id 3 4 10 99 cmp eq last_name ci brown));
is($res->{examined}, 3, 'in id within and: 3 examined');

$res = check('member', undef, 'last_name:str:a', qw(member group 2 g3 g7));
is($res->{examined}, 13, 'member: examined the union of g3 and g7');
$res = check('member within and', undef, '',
             qw(and 2 member group 1 g7 cmp gt score int -100));
is($res->{examined}, 4, 'member within and: 4 examined');
check('member nested under or', undef, '',
      qw(or 2 member group 1 g7 cmp eq first_name str Ann));
check('member of an unknown group', [], '', qw(member group 1 nope));

$res = check('restricted index: status=active by last_name', undef,
             'last_name:str:a', qw(in status 1 active));
is($res->{examined}, 0, 'restricted index alone: nothing evaluated');
is($res->{total}, cmd($r, 'ZCARD', "$B:ix:last_name:status=active"),
   'restricted index alone: total = ZCARD');
$res = check('restricted index desc + filter', undef, 'last_name:str:d',
             qw(and 2 in status 1 invited cmp ge score int 0));
is($res->{examined}, cmd($r, 'ZCARD', "$B:ix:last_name:status=invited"),
   'restricted index + filter: examined only that index');
$res = check('restricted index, unindexed sort: ix:id:status=...', undef,
             'email:str:d', qw(in status 1 inactive));
is($res->{examined}, cmd($r, 'ZCARD', "$B:ix:id:status=inactive"),
   'unindexed sort: examined ix:id:status=inactive');
check('enum value with no users', [], 'last_name:str:a',
      qw(in status 1 gone));
check('search', [ qw(7 27 17) ], 'last_name:str:a',
      qw(search 2 email first_name 7@));
check('search: plain find, no patterns', [], '',
      'search', 1, 'email', 'user.@');
check('search: lower-cased fields', undef, '', qw(search 1 last_name smi));

# --- paging ----------------------------------------------------------------------------

for my $case ([ 'last_name:str:a' ], [ 'last_name:str:d' ],
              [ 'status:str:d,last_name:str:a' ], [ 'email:str:a' ],
              [ 'last_name:str:a', qw(cmp ge score int -5) ],
              [ 'score:int:d,first_name:str:a', qw(member group 2 g2 g3) ],
              [ 'created_at:time:d', qw(in status 1 active) ]) {
    my ($sort, @prog) = @$case;
    my $all = run_q(0, 1000, $sort, @prog);
    for my $lim (1, 4, 7) {
        my @ids;
        for (my $off = 0; $off < $all->{total} + $lim; $off += $lim) {
            my $p = run_q($off, $lim, $sort, @prog);
            is($p->{total}, $all->{total}, "@$case: total at $off/$lim")
                if $off == 0;
            push @ids, @{ $p->{ids} };
        }
        is_deeply(\@ids, $all->{ids}, "pages of $lim concatenate: @$case");
    }
}
is_deeply(run_q(40, 10, 'last_name:str:a')->{ids}, [], 'offset past the end');
is(run_q(40, 10, 'last_name:str:a', qw(cmp gt score int 0))->{total},
   scalar @{ model('', qw(cmp gt score int 0)) }, 'total past the end');

# --- rows: requested fields, nils kept --------------------------------------------

is_deeply(cmd($r, 'FCALL_RO', 'users_query', 1, $B, 0, 2, 100,
              'last_name:str:a', 4, 'id', 'last_name', 'nope', 'status',
              qw(in id 2 13 5)),
          [ 2, 2, [ '13', undef, undef, undef ], [ '5', undef, undef,
                                                  'invited' ] ],
          'rows: fields in order, absent fields nil, no truncation');
is_deeply(cmd($r, 'FCALL_RO', 'users_query', 1, $B, 0, 2, 100, '', 0),
          [ 30, 0, [], [] ], 'nfields 0: empty rows');

# --- errors ----------------------------------------------------------------------------

sub err {
    my $res = cmd($r, 'FCALL_RO', 'users_query', 1, $B, @_);
    return ref $res eq 'HASH' ? $res->{err} : 'no error';
}

like(err(0, 10, 29, '', 1, 'id', qw(cmp eq score int 1)),
     qr/^ERR users: scan limit 29 exceeded$/, 'scan limit: full scan');
unlike(err(0, 10, 30, '', 1, 'id', qw(cmp eq score int 1)),
       qr/scan limit/, 'scan limit = candidates: fine');
like(err(0, 10, 2, '', 1, 'id', qw(in id 3 1 2 3)),
     qr/^ERR users: scan limit 2 exceeded/, 'scan limit: in id');
like(err(0, 10, 10, '', 1, 'id', qw(member group 1 g2)),
     qr/^ERR users: scan limit 10 exceeded/, 'scan limit: member');
like(err(0, 10, 5, 'status:str:a,last_name:str:a', 1, 'id'),
     qr/^ERR users: scan limit 5 exceeded/,
     'scan limit: everything matches, two keys, first run too long');
unlike(err(0, 10, 0, 'last_name:str:a', 1, 'id'), qr/scan limit/,
       'no filter, indexed sort: nothing examined, no limit');

for my $case (
    [ [ 'bogus' ], 1 ], [ [ 'and' ], 2 ], [ [ qw(and 2 true) ], 2 ],
    [ [ qw(and x true) ], 2 ], [ [ 'not' ], 2 ],
    [ [ qw(cmp xx score int 1) ], 2 ], [ [ qw(cmp eq score float 1) ], 4 ],
    [ [ qw(cmp eq score int) ], 5 ], [ [ qw(in status 2 a) ], 3 ],
    [ [ qw(member group) ], 3 ], [ [ qw(search 1 email) ], 4 ],
    [ [ qw(true true) ], 2 ], [ [ qw(or 1 true cmp) ], 4 ],
) {
    my ($prog, $at) = @$case;
    is(err(0, 10, 100, '', 1, 'id', @$prog),
       "ERR users: bad program at token $at", "malformed: @$prog");
}
like(err(0, 10, 100, '', 1, 'id', qw(cmp lt created_at time yesterday)),
     qr/^ERR users: bad time "yesterday"/, 'bad time value');
like(err(0, 10, 100, '', 1, 'id', qw(cmp lt score int 1.5)),
     qr/^ERR users: bad int "1.5"/, 'bad int value');
like(err(0, 0, 100, '', 0), qr/limit must be an integer >= 1/, 'limit 0');
like(err(-1, 10, 100, '', 0), qr/offset must be/, 'negative offset');
like(err(0, 10, 'x', '', 0), qr/scan_limit must be/, 'bad scan_limit');
like(err(0, 10, 100, '', 3, 'id'), qr/nfields 3/, 'nfields too large');
like(err(0, 10, 100, 'last_name:str', 0), qr/bad sort key/, 'sort w/o dir');
like(err(0, 10, 100, 'last_name:float:a', 0), qr/bad sort key/,
     'bad sort kind');
like(cmd($r, 'FCALL', 'users_query', 1, 'users:{a:b}', 0, 1, 1, '', 0)->{err},
     qr/invalid workspace key/, 'bad workspace key');
like(cmd($r, 'FCALL', 'users_query', 1, $B, 0, 1, 1)->{err},
     qr/expected <offset>/, 'too few arguments');

# --- id:int workspaces: by id is numeric, so are ties -------------------------

{
    my $I = 'users:{t052int}';
    cmd($r, 'FCALL', 'users_schema', 1, $I, 'id:int,name:str', '', '');
    upsert($r, 't052int', $_, name => ($_ < 0 ? 'b' : 'a'))
        for qw(10 9 -1 100);
    my $ids = sub {
        [ map { $_->[0] } @{ cmd($r, 'FCALL_RO', 'users_query', 1, $I, 0,
                                 10, 10, @_, 1, 'id', 'true') }[2 .. 5] ]
    };
    is_deeply($ids->(''), [ qw(-1 9 10 100) ], 'id:int: empty sort numeric');
    is_deeply($ids->('id:int:d'), [ qw(100 10 9 -1) ], 'id:int desc');
    is_deeply($ids->('id:str:a'), [ qw(-1 10 100 9) ], 'id:str on id:int');
    is_deeply($ids->('name:str:a'), [ qw(9 10 100 -1) ],
              'ties by id numerically, like the index');
    is_deeply([ map { $_->[0] } @{ cmd($r, 'FCALL_RO', 'users_query', 1, $I,
                                       0, 10, 10, '', 1, 'id',
                                       qw(cmp gt id int 9)) }[2 .. 3] ],
              [ qw(10 100) ], 'cmp int on id');
    ws_clean($r, 't052int');
}

# --- id:int: ties break numerically on every path ------------------------------

{
    my $I = 'users:{t052tie}';
    my $J = 'users:{t052tie2}';
    ws_clean($r, $_) for 't052tie', 't052tie2';
    for my $w ([ $I, 't052tie' ], [ $J, 't052tie2' ]) {
        cmd($r, 'FCALL', 'users_schema', 1, $w->[0], 'name:str,id:int',
            'type', '');
    }
    # t052tie: 7, 42, 100, 10023 and 5 share a name; 3 sorts first, 9 last
    upsert($r, 't052tie', $_, name => 'Same', email => 'same@x',
           type => 'user') for qw(100 7 10023 42 5);
    upsert($r, 't052tie', 3, name => 'Alpha', email => 'a@x', type => 'user');
    upsert($r, 't052tie', 9, name => 'Zulu', email => 'z@x', type => 'guest');
    # t052tie2: the same ids, names that differ: no ties there
    my %n2 = (100 => 'b', 7 => 'e', 10023 => 'a', 42 => 'c', 5 => 'd');
    upsert($r, 't052tie2', $_, name => $n2{$_}, type => 'user')
        for keys %n2;

    my $q = sub {
        my ($base, $off, $lim, $sort, @prog) = @_;
        my $res = cmd($r, 'FCALL_RO', 'users_query', 1, $base, $off, $lim,
                      100, $sort, 1, 'id', @prog);
        return [ $res->[0], map { $_->[0] } @$res[2 .. $#$res] ];
    };
    my @asc = qw(3 5 7 42 100 10023 9);
    for my $case (
        [ 'index, nothing to evaluate', 'name:str:a' ],
        [ 'index, a filter', 'name:str:a', qw(cmp ne email str nope) ],
        [ 'restricted index', 'name:str:a', qw(in type 2 user guest) ],
        [ 'heap: unindexed sort', 'email:str:a' ],
        [ 'heap: candidates by id', 'name:str:a', 'in', 'id', 7, @asc ],
    ) {
        my ($name, $sort, @prog) = @$case;
        my @want = $sort eq 'email:str:a' ? qw(3 5 7 42 100 10023 9) : @asc;
        is_deeply($q->($I, 0, 10, $sort, @prog), [ 7, @want ],
                  "ties numeric: $name");
        (my $desc = $sort) =~ s/:a$/:d/;
        is_deeply($q->($I, 0, 10, $desc, @prog), [ 7, reverse @want ],
                  "ties numeric, descending: $name");
        for my $lim (1, 2, 3) {
            my @ids;
            for (my $off = 0; $off < 7; $off += $lim) {
                my $p = $q->($I, $off, $lim, $sort, @prog);
                shift @$p;
                push @ids, @$p;
            }
            is_deeply(\@ids, \@want, "ties across pages of $lim: $name");
        }
    }
    is_deeply($q->($I, 0, 10, 'type:str:d,name:str:a'),
              [ 7, 3, 5, 7, 42, 100, 10023, 9 ],
              'two keys: the last one breaks ties numerically');
    is_deeply($q->($I, 1, 3, 'type:str:d,name:str:d'),
              [ 7, 100, 42, 7 ], 'two keys, descending, a middle page');
    is_deeply($q->($J, 0, 10, 'name:str:a'), [ 5, 10023, 100, 42, 5, 7 ],
              'the other workspace: its own order, no ties');
    ws_clean($r, $_) for 't052tie', 't052tie2';
}

# --- counts of more than 15 digits: 10^15, past any workspace ---------------------

is_deeply(run_q('1' x 20, 10, 'last_name:str:a'),
          { total => 30, examined => 0, ids => [] },
          'a 20-digit offset on an index: the total, no rows');
is_deeply(run_q('9' x 16, 10, '', qw(cmp gt score int 0)),
          { total => scalar @{ model('', qw(cmp gt score int 0)) },
            examined => 30, ids => [] },
          'a 16-digit offset on a scan: the total, no rows');
is_deeply(run_q('999999999999999', '9' x 30, 'last_name:str:a')->{ids},
          [], '15 digits, a 30-digit limit');
is(run_q(0, '9' x 30, 'last_name:str:a', qw(cmp ge score int -100))->{total},
   scalar @{ model('', qw(cmp ge score int -100)) }, 'a 30-digit limit');

# --- rows: size caps and keys that are not hashes ----------------------------------

{
    my $C = 'users:{t052bad}';
    ws_clean($r, $_) for 't052bad', 't052bad2';
    cmd($r, 'FCALL', 'users_schema', 1, $C, 'name:str', '', 'groups:group');
    cmd($r, 'FCALL', 'users_schema', 1, 'users:{t052bad2}', 'name:str', '',
        'groups:group');
    upsert($r, 't052bad', $_, name => "n$_", groups => 'g1') for 1 .. 4;
    upsert($r, 't052bad2', $_, name => "m$_", groups => 'g1') for 1 .. 4;
    cmd($r, 'HSET', "$C:u:2", 'bio', 'x' x 20000);
    cmd($r, 'SET', "$C:u:3", 'notahash');

    my $rows = sub {
        my $res = cmd($r, 'FCALL_RO', 'users_query', 1, @_);
        return ref $res eq 'HASH' ? $res : [ @$res ];
    };
    is_deeply($rows->($C, 0, 10, 100, 'name:str:a', 3, 'id', 'name', 'bio'),
              [ 4, 0, [ 1, 'n1', undef ], [ 2, 'n2', 20000 ], '3',
                [ 4, 'n4', undef ] ],
              'index: a key that is not a hash is its id alone (where the '
              . 'index has it); a value over 16 KiB its length');
    is_deeply($rows->($C, 0, 10, 100, 'name:str:a', 2, 'id', 'name',
                      qw(cmp ne name str n1)),
              [ 3, 4, [ 2, 'n2' ], '3', [ 4, 'n4' ] ],
              'scan of an index: it has its id alone, and absent fields');
    is_deeply($rows->($C, 0, 10, 100, 'name:str:d', 1, 'id',
                      qw(member group 1 g1)),
              [ 4, 4, [ 4 ], [ 2 ], [ 1 ], '3' ],
              'scan by membership, sorted on its fields: absent, last '
              . 'descending');
    is_deeply($rows->($C, 0, 10, 100, '', 1, 'id', qw(cmp eq name str n3)),
              [ 0, 4 ], 'it matches no filter on its fields');
    is_deeply($rows->('users:{t052bad2}', 0, 10, 100, 'name:str:a', 1, 'id',
                      qw(cmp ne name str x)),
              [ 4, 4, [ 1 ], [ 2 ], [ 3 ], [ 4 ] ],
              'the other workspace: unaffected');
    ws_clean($r, $_) for 't052bad', 't052bad2';
}

ws_clean($r, $ws);

done_testing();
