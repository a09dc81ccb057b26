# users-admin: help, schema (options and --from-conf; every conf's schema
# line agrees with its directives), import (flattening, exact hashes, order
# of equal names, the library's checks with file:LINE, case folding),
# import-objects, delete, delete-objects, token-create (expiry, given
# tokens) and token-revoke; the module answering what was loaded: expired
# tokens 401 invalid_token, two workspaces, folded enums, imported groups.
#
# Needs TEST_NGINX_REDIS_PORT (Redis 7 with redis/users.lua loaded) and
# TEST_NGINX_USERS_ADMIN (default build/users-admin); the module part needs
# TEST_NGINX_LOAD_MODULES. A plain Test::More file: it runs the same under
# the project's runner and the real Test::Nginx.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Encode qw(encode_utf8);
use POSIX qw(strftime);
use Test::More;
use UsersData qw(redis cmd ws_keys ws_clean gen_users jsonl run_admin);
use UsersTest qw(nginx_start http_get);

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set'
    unless $ENV{TEST_NGINX_REDIS_PORT};

my $r = redis();
my $ws = 't051';
my $B = "users:{$ws}";
my ($rc, $out, $err);
my $Conf = "$FindBin::Bin/../conf";
my @Spaces = map { "t051$_" } '', qw(b c d t);
my $Secs = qr/ in \d+\.\d{3} s\n\z/;         # the end of an import's line

ws_clean($r, $_) for @Spaces;

# a file with these bytes
sub put {
    my ($name, $data) = @_;
    open my $f, '>:raw', $name or die "$name: $!";
    print {$f} $data;
    close $f;
    return $name;
}

# what the hash of a generated user must hold, flattened independently
sub flat {
    my ($u, $prefix) = @_;
    my %h;
    for my $k (keys %$u) {
        my ($v, $name) = ($u->{$k}, $prefix ? "${prefix}_$k" : $k);
        next unless defined $v;
        if (ref $v eq 'HASH') {
            %h = (%h, flat($v, $name));
        } elsif (ref $v eq 'ARRAY') {
            $h{$name} = join ',', @$v;
        } elsif (JSON::PP::is_bool($v)) {
            $h{$name} = $v ? 1 : 0;
        } else {
            $h{$name} = encode_utf8($v);
        }
    }
    return %h;
}

sub hash { my %h = @{ cmd($r, 'HGETALL', $_[0]) }; \%h }

# --- usage errors ---------------------------------------------------------------

($rc, $out, $err) = run_admin([]);
is($rc, 2, 'no command: 2');
($rc, $out, $err) = run_admin([ 'frobnicate' ]);
is($rc, 2, 'unknown command: 2');
like($err, qr/unknown command "frobnicate"/, 'names the command');
($rc, $out, $err) = run_admin([ 'import', 'a:b' ]);
is($rc, 2, 'bad workspace: 2');
($rc, $out, $err) = run_admin([ 'token-create', $ws, '1', '--ttl', 'x' ]);
is($rc, 2, 'bad ttl: 2');
($rc, $out, $err) = run_admin([ '--help' ]);
like($out, qr/^usage: users-admin/, '--help prints the usage');

# --- help: the whole text, and each command's --help a part of it ------------

{
    my $all = $out;
    my @cmds = qw(load-functions schema import import-objects delete
                  delete-objects token-create token-revoke help);

    is($rc, 0, '--help: 0');
    is($err, '', '--help: nothing on stderr');
    like($all, qr/\nexit status: 0 done, 1 data or Redis error, 2 usage/,
         '--help: exit statuses');

    for my $c (@cmds) {
        my ($rc1, $h1) = run_admin([ $c, '--help' ]);
        my ($rc2, $h2) = run_admin([ 'help', $c ]);
        is($rc1, 0, "$c --help: 0");
        is($h2, $h1, "help $c: the same text");
        my $head = "usage: users-admin [options] $c ...\n\n";
        my $tail = "\n(users-admin --help: the options and every command)\n";
        my ($entry) = $h1 =~ /\A\Q$head\E(.*)\Q$tail\E\z/s;
        ok(defined $entry && index($all, $entry) >= 0,
           "$c --help: its entry of --help");
    }

    for my $doc ('--from-conf <file.conf>', '--case f:lower|upper',
                 '# users-admin schema <ws> --sort ... --enum ...',
                 'import-objects <ws> <kind> [file.jsonl|-]',
                 'FCALL_RO users_validate', 'file:LINE',
                 '--expires WHEN | --ttl seconds', '--token T | --token -',
                 'RFC 6750 b64token', '16 to 512 bytes',
                 'delete-objects <ws> <kind> <id>...') {
        ok(index($all, $doc) >= 0, "--help documents \"$doc\"");
    }

    ($rc, $out, $err) = run_admin([ 'help', 'nope' ]);
    is($rc, 2, 'help nope: 2');
    is($err, qq(users-admin: unknown command "nope"\n)
             . "(users-admin --help for usage)\n", 'help nope: message');
}

# --- schema and import --------------------------------------------------------

($rc, $out, $err) = run_admin([ 'schema', $ws,
    '--sort', 'last_name:str,first_name:str,status:str,created_at:time',
    '--enum', 'status,type', '--member', 'groups:group' ]);
is($rc, 0, 'schema: 0') or diag $err;
like($out, qr/schema of "t051" set, 0 users reindexed/, 'schema output');

my @users = gen_users(60);
my $file = "/tmp/t051.$$.jsonl";
open my $f, '>:raw', $file or die "$file: $!";
print {$f} jsonl(@users[0 .. 29]), "\n", jsonl(@users[30 .. 39]);
close $f;

($rc, $out, $err) = run_admin([ 'import', $ws, $file ]);
is($rc, 0, 'import file: 0') or diag $err;
like($out, qr/imported 40 users into "t051" \(40 new\)/, 'import output');

($rc, $out, $err) = run_admin([ 'import', $ws, '-' ], jsonl(@users[40 .. 59]));
is($rc, 0, 'import from stdin: 0') or diag $err;
like($out, qr/imported 20 users/, 'stdin import output');

is(cmd($r, 'ZCARD', "$B:ix:id"), 60, '60 users');
is_deeply(cmd($r, 'FCALL_RO', 'users_check', 1, $B), [], 'indexes consistent');

my $bad = 0;
for my $u (@users) {
    my %want = flat($u);
    is_deeply(hash("$B:u:$u->{id}"), \%want, "hash of user $u->{id}")
        or $bad++;
    last if $bad > 2;
}

{
    my %h = %{ hash("$B:u:5") };
    is($h{invite_id}, 'inv-5', 'invite.id -> invite_id');
    is($h{is_staff}, 1, 'true -> 1');
    is($h{is_admin}, 0, 'false -> 0');
    ok(!exists $h{phone}, 'null phone left out');
    ok(!exists hash("$B:u:6")->{invite_id}, 'null invite: no invite_ fields');
    is(hash("$B:u:30")->{groups}, '2,3,5', 'groups joined with ","');
    is(hash("$B:u:1")->{groups}, '', 'empty groups: empty string');
    is(hash("$B:u:1")->{first_name}, encode_utf8('Ülla'), 'UTF-8 bytes');
}

# ix:last_name: lower-cased ASCII, equal names ordered by id bytes
{
    my %key;
    $key{$_->{id}} = join '', map { /[A-Z]/ ? lc : $_ }
                     split //, encode_utf8($_->{last_name}) for @users;
    my @want = sort { $key{$a} cmp $key{$b} || "$a" cmp "$b" } keys %key;
    my @got = map { /\0(.*)/s; $1 } @{ cmd($r, 'ZRANGE', "$B:ix:last_name",
                                            0, -1) };
    is_deeply(\@got, \@want, 'ix:last_name order, equal names by id');
}

is_deeply([ sort @{ cmd($r, 'SMEMBERS', "$B:m:group") } ], [ 2, 3, 5 ],
          'm:group');
is(cmd($r, 'SCARD', "$B:m:group:5"), 12, '12 users in group 5');

# --- a bad line writes nothing -------------------------------------------------

my @keys = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws);

for my $case (
    [ qq({"id":"n1","last_name":"X"}\n{"id":"n2","last_name":\n),
      qr/^users-admin: \S+:2: invalid JSON/m, 'truncated JSON' ],
    [ qq({"id":"n1"}\n\n{"last_name":"X"}\n), qr/:3: no "id"/, 'no id' ],
    [ qq({"id":"n1"}\n{"id":"n2","created_at":"2020-13-01T00:00:00Z"}\n),
      qr/:2: field "created_at" of user "n2" is not an RFC 3339 timestamp:/,
      'bad time in a sorted field' ],
    [ qq({"id":"n1","g":[{"a":1}]}\n), qr/:1: objects in array "g"/,
      'object in an array' ],
    [ qq({"id":"n1","a":{"b":1},"a_b":2}\n), qr/:1: duplicate field "a_b"/,
      'flattening collision' ],
    [ qq([1,2]\n), qr/:1: not a JSON object/, 'not an object' ],
) {
    my ($data, $re, $name) = @$case;
    open my $f, '>:raw', $file or die;
    print {$f} $data;
    close $f;

    ($rc, $out, $err) = run_admin([ 'import', $ws, $file ]);
    is($rc, 1, "$name: 1");
    like($err, $re, "$name: message with the line");
}

is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws) ], \@keys,
          'bad files wrote nothing');

# --- the library decides: what users_upsert takes, import takes -------------
#
# Each line is checked by FCALL_RO users_validate: bare dates, offsets,
# lower-case t and z pass as they do for users_upsert; bad ones are
# reported with their line, the first 10 by name, and nothing is written.

{
    my $D = 'users:{t051d}';
    my $f = "/tmp/t051d.$$.jsonl";

    ($rc, $out, $err) = run_admin([ 'schema', 't051d', '--sort',
                                    'created_at:time,n:int' ]);
    is($rc, 0, 'schema t051d: 0') or diag $err;

    put($f, join '', map { qq({"id":"d$_->[0]","created_at":"$_->[1]"}\n) }
        [ 1, '2020-01-01' ], [ 2, '2020-01-01t00:00:00z' ],
        [ 3, '2020-01-01T01:00:00+01:00' ], [ 4, '2020-01-01 00:00:00' ],
        [ 5, '2019-12-31T19:00:00.0000001-05:00' ],
        [ 6, '2020-02-29T00:00:00Z' ]);
    ($rc, $out, $err) = run_admin([ 'import', 't051d', $f ]);
    is($rc, 0, 'bare dates, offsets, lower-case t/z, a space: 0')
        or diag $err;
    is($err, '', 'nothing on stderr');
    my $head = 'users-admin: imported 6 users into "t051d" (6 new)';
    like($out, qr/\A\Q$head\E$Secs/, 'import: exact output');

    my %key = map { /\A(.*)\0(.*)\z/s; ($2, $1) }
              @{ cmd($r, 'ZRANGE', "$D:ix:created_at", 0, -1) };
    is(scalar(grep { $key{"d$_"} eq $key{d1} } 2 .. 5), 4,
       'd1..d5: one instant, as the library reads them');
    is(cmd($r, 'HGET', "$D:u:d1", 'created_at'), '2020-01-01',
       'stored as sent');

    my @keys = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, 't051d');

    put($f, join '', map { "$_\n" }
        '{"id":"b1","created_at":"2020-02-30"}',
        '{"id":"b2","created_at":"2021-02-29T00:00:00Z"}',
        '{"id":"b3","created_at":"2020-01-01T24:00:00Z"}',
        '',
        '{"id":"b5","created_at":"2020-01-01T00:00:00+1:00"}',
        '{"id":"b6","created_at":"20200101"}',
        '{"id":"ok","created_at":"2020-01-01"}',
        '{"id":"b8","created_at":"2020-01-01T00:00"}',
        '{"id":"b9","n":"1.5"}',
        '{"id":"b10",',
        '{"id":"b11","n":"12345678901234567890"}');
    ($rc, $out, $err) = run_admin([ 'import', 't051d', $f ]);
    is($rc, 1, 'bad dates: 1');
    is($out, '', 'bad dates: nothing on stdout');
    my $T = 'is not an RFC 3339 timestamp';
    my $I = 'is not an integer of at most 19 digits';
    is($err, join('', map { "users-admin: $f:$_\n" }
        qq(1: field "created_at" of user "b1" $T: "2020-02-30"),
        qq(2: field "created_at" of user "b2" $T: "2021-02-29T00:00:00Z"),
        qq(3: field "created_at" of user "b3" $T: "2020-01-01T24:00:00Z"),
        qq(5: field "created_at" of user "b5" $T:)
            . ' "2020-01-01T00:00:00+1:00"',
        qq(6: field "created_at" of user "b6" $T: "20200101"),
        qq(8: field "created_at" of user "b8" $T: "2020-01-01T00:00"),
        qq(9: field "n" of user "b9" $I: "1.5"),
        qq(10: invalid JSON: parse error: premature EOF),
        qq(11: field "n" of user "b11" $I: "12345678901234567890"))
        . "users-admin: $f: 9 invalid lines, nothing written\n",
        'every bad line with its line number, in order; then the count');

    # the first 10 by name, then the count
    put($f, join '', map { qq({"id":"x$_","n":"x"}\n) } 1 .. 12);
    ($rc, $out, $err) = run_admin([ 'import', 't051d', $f ]);
    is($rc, 1, '12 bad lines: 1');
    is($err, join('', map { qq(users-admin: $f:$_: field "n" of user "x$_")
                            . qq( $I: "x"\n) } 1 .. 10)
             . "users-admin: $f: 12 invalid lines, nothing written\n",
       '12 bad lines: 10 named, then the count');

    is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, 't051d') ],
              \@keys, 'refused files wrote nothing');

    # a library that is not loaded: the import stops at once
    cmd($r, 'FUNCTION', 'DELETE', 'users');
    put($f, qq({"id":"z1"}\n{"id":"z2"}\n));
    ($rc, $out, $err) = run_admin([ 'import', 't051d', $f ]);
    is($rc, 1, 'no library: 1');
    is($err, "users-admin: $f:1: redis: ERR Function not found\n",
       'no library: one message');
    open my $lua, '<', "$FindBin::Bin/../redis/users.lua" or die;
    cmd($r, 'FUNCTION', 'LOAD', 'REPLACE', do { local $/; <$lua> });

    unlink $f;
}

# --- case: the workspace's --case folds what import writes ------------------

{
    my $K = 'users:{t051c}';
    my $f = "/tmp/t051c.$$.jsonl";

    ($rc, $out, $err) = run_admin([ 'schema', 't051c', '--sort',
        'name:str,role:str', '--enum', 'role,status', '--case',
        'role:lower,status:upper' ]);
    is($rc, 0, 'schema with --case: 0') or diag $err;
    is(cmd($r, 'HGET', "$K:meta", 'case'), 'role:lower,status:upper',
       'meta "case"');

    put($f, encode_utf8(
          qq({"id":"1","name":"ADMIN Ann","role":"ADMIN","status":"active"}\n)
          . qq({"id":"2","name":"Bob","role":"Operator","status":"Risky"}\n)
          . qq({"id":"3","name":"Cid","role":["A","B"],"status":null}\n)
          . qq({"id":"4","name":"Dee","role":"ÄDMIN"}\n)));
    ($rc, $out, $err) = run_admin([ 'import', 't051c', $f ]);
    is($rc, 0, 'import with folds: 0') or diag $err;

    is_deeply(hash("$K:u:1"), { id => 1, name => 'ADMIN Ann', role => 'admin',
                                status => 'ACTIVE' },
              'role lower-cased, status upper-cased, name as sent');
    is_deeply(hash("$K:u:2"), { id => 2, name => 'Bob', role => 'operator',
                                status => 'RISKY' }, 'user 2 folded');
    is(hash("$K:u:3")->{role}, 'a,b', 'a joined array folded');
    is(hash("$K:u:4")->{role}, encode_utf8('Ädmin'),
       'ASCII letters only, as the module folds');
    is_deeply(cmd($r, 'ZRANGE', "$K:ix:name:role=admin", 0, -1),
              [ "admin ann\0001" ], 'the enum index holds the folded value');

    # the same line in a workspace without --case: as sent
    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--enum', 'role' ]);
    ($rc, $out, $err) = run_admin([ 'import', 't051b', '-' ],
        qq({"id":"1","name":"Other","role":"ADMIN","groups":[2]}\n));
    is($rc, 0, 'import into t051b: 0') or diag $err;
    is(hash('users:{t051b}:u:1')->{role}, 'ADMIN', 'no --case: no fold');
    is(cmd($r, 'HEXISTS', 'users:{t051b}:meta', 'case'), 0,
       'schema without --case leaves none');

    # a bad --case is the library's error; nothing changes
    my %meta = %{ hash("$K:meta") };
    ($rc, $out, $err) = run_admin([ 'schema', 't051c', '--case',
                                    'role:title' ]);
    is($rc, 1, 'bad --case: 1');
    is($err, qq(users-admin: invalid case item "role:title": expected)
             . " <field>:lower|upper\n", 'bad --case: the library says why');
    is_deeply(hash("$K:meta"), \%meta, 'bad --case: meta unchanged');

    unlink $f;
}

# --- schema --from-conf, and every conf's schema line against its body ------

# "users_x a b=c;" statements of a conf, comments dropped
sub conf_statements {
    my $text = shift;
    $text =~ s/#[^\n]*//g;
    return grep { @$_ } map { [ split ' ' ] } split /[;{}]/, $text;
}

# the options of the conf's "# users-admin schema <ws> ..." lines
sub conf_schema_lines {
    my $text = shift;
    return map { [ split ' ', $_ ] }
           $text =~ /^#[ \t]*users-admin schema <ws>([ \t][^\n]*)?$/mg;
}

# what in the conf's directives its schema line does not provide
sub conf_drift {
    my $text = shift;
    my @lines = conf_schema_lines($text);
    my @st = conf_statements($text);
    my (@bad, %sort, %enum, %kind, %case);

    if (!@lines) {
        return grep({ $_->[0] eq 'users_list' } @st)
               ? ('users_list but no schema line') : ();
    }
    return ('more than one schema line') if @lines > 1;

    my %o = map { defined $_ ? $_ : '' } @{ $lines[0] };
    %sort = (id => 'str', map { split /:/ } split /,/, $o{'--sort'} // '');
    %enum = map { $_ => 1 } split /,/, $o{'--enum'} // '';
    %kind = map { (split /:/)[1] => 1 } split /,/, $o{'--member'} // '';
    %case = map { split /:/ } split /,/, $o{'--case'} // '';

    for my $s (@st) {
        my ($d, $name, @rest) = @$s;
        my %opt = map { /^([a-z_]+)=(.*)$/ ? ($1, $2) : ($_, 1) } @rest;

        if ($d eq 'users_sort') {
            my $f = $opt{field} // $name;
            my $k = $opt{kind} // 'str';
            push @bad, "users_sort $name: $f:$k not in --sort"
                unless ($sort{$f} // '') eq $k;

        } elsif ($d eq 'users_filter') {
            my $op = $rest[0] // '';
            my $f = $opt{field} // $name;
            push @bad, "users_filter $name: indexed, $f not in --enum"
                if $opt{indexed} && !$enum{$f};
            push @bad, "users_filter $name: kind $f not in --member"
                if $op eq 'member' && !$kind{$f};
            push @bad, "users_filter $name: case=$opt{case}, --case has"
                       . " $f:" . ($case{$f} // '')
                if $opt{case} && ($case{$f} // '') ne $opt{case};

        } elsif ($d eq 'users_scope') {
            push @bad, "users_scope $name: kind not in --member"
                unless $kind{$name};
        }
    }

    return @bad;
}

{
    my $lines = 0;

    for my $file (sort glob "$Conf/*.conf") {
        my $text = do { local $/; open my $f, '<', $file or die; <$f> };
        my ($short) = $file =~ m{([^/]+)\z};

        is_deeply([ conf_drift($text) ], [], "$short: schema line agrees"
                  . ' with users_sort, users_filter, users_scope');

        my @l = conf_schema_lines($text);
        next unless @l;
        $lines++;

        my ($n) = grep { (split /\n/, $text)[$_ - 1]
                         =~ /^#[ \t]*users-admin schema <ws>/ }
                  1 .. scalar(split /\n/, $text);
        ws_clean($r, 't051b');
        ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf',
                                        $file ]);
        is($rc, 0, "$short: --from-conf 0") or diag $err;
        is($out, "users-admin: $file:$n: schema @{ $l[0] }\n"
                 . qq(users-admin: schema of "t051b" set, 0 users)
                 . " reindexed\n", "$short: --from-conf output");

        my %o = @{ $l[0] };
        my %want = (sort => $o{'--sort'} // '', enum => $o{'--enum'} // '',
                    member => $o{'--member'} // '', ver => 1, format => 2);
        $want{case} = $o{'--case'} if $o{'--case'};
        is_deeply(hash('users:{t051b}:meta'), \%want, "$short: meta");
    }

    ok($lines >= 5, "$lines confs carry a schema line");

    # the check finds drift
    my $acc = do { local $/; open my $f, '<', "$Conf/accounts.conf" or die;
                   <$f> };
    my @cases = (
        [ 's/--enum status,type/--enum status/', 'users_filter type:'
          . ' indexed, type not in --enum' ],
        [ 's/first_name:str,//', 'users_sort first_name: first_name:str not'
          . ' in --sort' ],
        [ 's/groups:group/groups:team/', 'users_filter groups: kind group not'
          . ' in --member' ],
        [ 's/^# users-admin schema <ws>[^\n]*\n//m', 'users_list but no schema'
          . ' line' ],
        [ 's/^(# users-admin schema <ws>[^\n]*\n)/$1$1/m',
          'more than one schema line' ],
    );
    for my $c (@cases) {
        my ($edit, $want) = @$c;
        my $t = $acc;
        eval "\$t =~ $edit" or die "edit $edit: $@";
        is_deeply([ conf_drift($t) ], [ $want ], "drift found: $want");
    }
    my $wsu = do { local $/; open my $f, '<', "$Conf/workspace-users.conf"
                   or die; <$f> };
    $wsu =~ s/status:lower$/status:upper/m or die;
    is_deeply([ conf_drift($wsu) ], [ 'users_filter status: case=lower,'
              . ' --case has status:upper' ], 'drift found: case');
    my $proj = do { local $/; open my $f, '<', "$Conf/project-users.conf"
                    or die; <$f> };
    $proj =~ s/,projects:project// or die;
    is_deeply([ conf_drift($proj) ], [ 'users_scope project: kind not in'
              . ' --member' ], 'drift found: users_scope');

    # --from-conf's own errors
    my $f = "/tmp/t051conf.$$.conf";
    put($f, "# nothing here\nlocation / { }\n");
    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf', $f ]);
    is($rc, 1, 'no schema line: 1');
    is($err, qq(users-admin: $f: no line "# users-admin schema <ws> ..."\n),
       'no schema line: message');

    put($f, "# users-admin schema <ws> --sort a:str\n#\n"
            . "#users-admin schema <ws>\n");
    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf', $f ]);
    is($rc, 1, 'two schema lines: 1');
    is($err, "users-admin: $f:3: a second schema line (the first is line"
             . " 1)\n", 'two schema lines: message');

    put($f, "\n# users-admin schema <ws> --sort a:str --sorts b:str\n");
    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf', $f ]);
    is($rc, 1, 'unknown option in the line: 1');
    is($err, qq(users-admin: $f:2: unknown schema option "--sorts"\n),
       'unknown option in the line: file:LINE');

    put($f, "# users-admin schema <ws> --sort a:float\n");
    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf', $f ]);
    is($rc, 1, 'a spec the library refuses: 1');
    is($err, qq(users-admin: invalid sort item "a:float": expected)
             . " <field>:str|int|time\n", 'the library says why');

    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--from-conf',
                                    "$f.none" ]);
    is($rc, 1, 'missing file: 1');
    is($err, "users-admin: $f.none: No such file or directory\n",
       'missing file: message');

    ($rc, $out, $err) = run_admin([ 'schema', 't051b', '--sort', 'a:str',
                                    '--from-conf', $f ]);
    is($rc, 2, '--from-conf and options: 2');
    is($err, 'users-admin: --from-conf takes the whole spec from the file:'
             . " give no other option\n(users-admin --help for usage)\n",
       '--from-conf and options: message');

    unlink $f;
    ws_clean($r, 't051b');
}

# --- import-objects: what expands shows --------------------------------------

{
    my $f = "/tmp/t051o.$$.jsonl";
    my $ver = cmd($r, 'HGET', "$B:meta", 'ver');

    put($f, qq({"id":2,"name":"Twos","owner":{"id":7,"name":"Ann"},)
            . qq("tags":["x","y"],"hidden":true,"note":null}\n\n)
            . qq({"name":"Threes","id":"3"}\n));
    ($rc, $out, $err) = run_admin([ 'import-objects', $ws, 'group', $f ]);
    is($rc, 0, 'import-objects: 0') or diag $err;
    my $head = 'users-admin: imported 2 "group" objects into "t051" (2 new)';
    like($out, qr/\A\Q$head\E$Secs/, 'import-objects output');
    is_deeply(hash("$B:group:2"), { id => 2, name => 'Twos', owner_id => 7,
                                    owner_name => 'Ann', tags => 'x,y',
                                    hidden => 1 }, 'group 2 flattened');
    is_deeply(hash("$B:group:3"), { id => 3, name => 'Threes' }, 'group 3');
    is(cmd($r, 'HGET', "$B:meta", 'ver'), $ver, 'ver unchanged');

    ($rc, $out, $err) = run_admin([ 'import-objects', $ws, 'group', '-' ],
                                  qq({"id":3,"name":"Drei"}\n));
    like($out, qr/imported 1 "group" objects into "t051" \(0 new\)/,
         'replacing: 0 new');
    is_deeply(hash("$B:group:3"), { id => 3, name => 'Drei' }, 'replaced');

    ($rc, $out, $err) = run_admin([ 'import-objects', 't051b', 'group', '-' ],
                                  qq({"id":2,"name":"Other twos"}\n));
    is($rc, 0, 'import-objects into t051b: 0');
    is(hash("$B:group:2")->{name}, 'Twos', 'workspaces apart');

    ($rc, $out, $err) = run_admin([ 'import-objects', $ws, 'role', '-' ],
                                  qq({"id":1,"name":"Admin"}\n));
    is_deeply(hash("$B:role:1"), { id => 1, name => 'Admin' }, 'a role');

    my @keys = map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws);

    put($f, qq({"id":4,"name":"Fours"}\n{"name":"no id"}\n{"id":5,"a":1,)
            . qq("a":2}\n{"id":6,"x":[{"a":1}]}\n));
    ($rc, $out, $err) = run_admin([ 'import-objects', $ws, 'group', $f ]);
    is($rc, 1, 'bad objects: 1');
    is($err, qq(users-admin: $f:2: no "id"\n)
             . qq(users-admin: $f:3: duplicate field "a"\n)
             . qq(users-admin: $f:4: objects in array "x" are not supported\n)
             . "users-admin: $f: 3 invalid lines, nothing written\n",
       'bad objects: file:LINE');

    put($f, qq({"id":1,"name":"X"}\n{"id":2}\n));
    ($rc, $out, $err) = run_admin([ 'import-objects', $ws, 'u', $f ]);
    is($rc, 1, 'kind u: 1');
    is($err, join('', map { qq(users-admin: $f:$_: object kind "u" is)
                            . " reserved (u, ix, m and meta name the"
                            . " library's own keys)\n" } 1, 2)
             . "users-admin: $f: 2 invalid lines, nothing written\n",
       'kind u: the library refuses every line');
    is_deeply([ map { [ $_, cmd($r, 'DUMP', $_) ] } ws_keys($r, $ws) ],
              \@keys, 'refused objects wrote nothing');

    ($rc, $out, $err) = run_admin([ 'import-objects', $ws ]);
    is($rc, 2, 'import-objects without a kind: 2');

    ($rc, $out, $err) = run_admin([ 'delete-objects', $ws, 'role', 1, 9 ]);
    is($rc, 1, 'delete-objects with a missing one: 1');
    is($out, qq(users-admin: deleted role "1" from "t051"\n),
       'delete-objects output');
    is($err, qq(users-admin: no role "9" in "t051"\n), 'names the missing');
    is(cmd($r, 'EXISTS', "$B:role:1"), 0, 'role 1 gone');

    unlink $f;
}

# --- tokens ------------------------------------------------------------------------

($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--role', 'admin',
                                '--perms', 'read,write', '--ttl', 3600 ]);
is($rc, 0, 'token-create: 0') or diag $err;
like($out, qr/\Auk_[A-Za-z0-9_-]{43}\n\z/, 'prints uk_ + 43 base64url');

my ($token) = $out =~ /(\S+)/;
my $tkey = 'users:token:' . sha256_hex($token);
my %t = %{ hash($tkey) };
my $exp = delete $t{exp};
is_deeply(\%t, { user => 7, ws => $ws, role => 'admin',
                 perms => 'read,write' }, 'token record');
ok(abs($exp - time() - 3600) <= 5, 'exp is now + ttl');
is(cmd($r, 'EXPIRETIME', $tkey), $exp, 'the key expires at exp');
unlike(join('', map { cmd($r, 'HGET', $tkey, $_) // '' } qw(user ws role)),
       qr/\Q$token\E/, 'the token itself is not stored');

($rc, $out, $err) = run_admin([ 'token-create', $ws, '8' ]);
is($rc, 0, 'token-create without options');
my $tkey2 = 'users:token:' . sha256_hex($out =~ /(\S+)/);
is_deeply(hash($tkey2), { user => 8, ws => $ws, role => 'user', perms => '',
                          exp => 0 }, 'defaults: role user, no perms, exp 0');
is(cmd($r, 'TTL', $tkey2), -1, 'no expiry');

($rc, $out, $err) = run_admin([ 'token-create', $ws, 'nobody' ]);
is($rc, 1, 'token for an unknown user: 1');
like($err, qr/no user "nobody" in "t051"/, 'names the user');

($rc, $out, $err) = run_admin([ 'token-revoke', $token ]);
is($rc, 0, 'token-revoke: 0');
is(cmd($r, 'EXISTS', $tkey), 0, 'token record gone');
($rc, $out, $err) = run_admin([ 'token-revoke', $token ]);
is($rc, 1, 'revoking again: 1');

($rc, $out, $err) = run_admin([ 'token-revoke', '--digest',
                                substr($tkey2, 12) ]);
is($rc, 0, 'token-revoke --digest: 0');
is(cmd($r, 'EXISTS', $tkey2), 0, 'second token gone');
($rc, $out, $err) = run_admin([ 'token-revoke', '--digest', 'ABC' ]);
is($rc, 2, 'bad digest: 2');

# --- token-create: expiry and given tokens ------------------------------------

my %Given = (
    past   => 'uk_t051-past.token~0001',
    minus  => 'uk_t051/minus+token==',
    future => 'uk_t051future_token_01',
    stdin  => 'uk_t051_stdin_token_0001',
    other  => 'uk_t051_other_workspace',
    long   => 'uk_' . ('L' x 509),         # 512 bytes: the longest
);

sub tkey { 'users:token:' . sha256_hex($_[0]) }
sub utc { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

cmd($r, 'DEL', map { tkey($_) } values %Given);

{
    my $now = time;

    # a relative expiry
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--expires',
                                    '30d' ]);
    is($rc, 0, '--expires 30d: 0') or diag $err;
    my ($tok) = $out =~ /\A(uk_[A-Za-z0-9_-]{43})\n\z/;
    ok($tok, '--expires 30d: a new token printed');
    my $exp = cmd($r, 'HGET', tkey($tok), 'exp');
    ok(abs($exp - $now - 30 * 86400) <= 5, 'exp is now + 30 days');
    is(cmd($r, 'EXPIRETIME', tkey($tok)), $exp, 'the key expires at exp');
    is($err, qq(users-admin: token for "7" in "t051" stored as ) . tkey($tok)
             . ', expires ' . utc($exp) . "\n", '--expires 30d: stderr');
    cmd($r, 'DEL', tkey($tok));

    for my $rel ([ '90s', 90 ], [ '45m', 2700 ], [ '12h', 43200 ],
                 [ '+1d', 86400 ]) {
        ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7',
                                        '--expires', $rel->[0] ]);
        my ($t) = $out =~ /(\S+)/;
        ok($rc == 0 && abs(cmd($r, 'HGET', tkey($t), 'exp') - $now - $rel->[1])
                       <= 5, "--expires $rel->[0]");
        cmd($r, 'DEL', tkey($t));
    }

    # an absolute one, as the library reads it: a bare date, an offset
    my $day = strftime('%Y-%m-%d', gmtime($now + 3 * 86400));
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--expires',
                                    $day ]);
    ($tok) = $out =~ /(\S+)/;
    is(cmd($r, 'HGET', tkey($tok), 'exp'), cmd($r, 'FCALL_RO', 'users_time',
       1, $B, "${day}T00:00:00Z"), '--expires <date>: its midnight UTC');
    cmd($r, 'DEL', tkey($tok));

    my $at = strftime('%Y-%m-%dt%H:%M:%S.5+02:00', gmtime($now + 7200 + 600));
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--expires',
                                    $at ]);
    ($tok) = $out =~ /(\S+)/;
    my $e = cmd($r, 'HGET', tkey($tok), 'exp');
    ok(abs($e - $now - 600) <= 1, '--expires with an offset, t, fraction');
    cmd($r, 'DEL', tkey($tok));

    # a given token, already expired: stored, never printed
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token',
        $Given{past}, '--expires', '2020-01-01T00:00:00Z', '--role', 'admin' ]);
    is($rc, 0, 'given, expired token: 0') or diag $err;
    is($out, '', 'a given token is not printed');
    is($err, qq(users-admin: token for "7" in "t051" stored as )
             . tkey($Given{past}) . ', expired 2020-01-01T00:00:00Z (the'
             . " record stays 24 hours)\n", 'given, expired: stderr');
    is_deeply(hash(tkey($Given{past})), { user => 7, ws => $ws,
        role => 'admin', perms => '', exp => 1577836800 },
        'the expired record');
    my $ttl = cmd($r, 'TTL', tkey($Given{past}));
    ok($ttl > 86390 && $ttl <= 86400, 'an expired record stays a day');

    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '8', '--token',
                                    $Given{minus}, '--expires', '-1h' ]);
    is($rc, 0, '--expires -1h: 0');
    ok(abs(cmd($r, 'HGET', tkey($Given{minus}), 'exp') - $now + 3600) <= 5,
       '--expires -1h: an hour ago');

    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '8', '--token',
        $Given{future}, '--ttl', '3600', '--perms', 'view_all' ]);
    is($rc, 0, 'given token with --ttl: 0');
    is($out, '', 'not printed');

    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '9', '--token', '-' ],
                                  "$Given{stdin}\n");
    is($rc, 0, '--token -: 0') or diag $err;
    is($err, qq(users-admin: token for "9" in "t051" stored as )
             . tkey($Given{stdin}) . ", no expiry\n", '--token -: stderr');
    is_deeply(hash(tkey($Given{stdin})), { user => 9, ws => $ws,
        role => 'user', perms => '', exp => 0 }, '--token -: the record');
    is(cmd($r, 'TTL', tkey($Given{stdin})), -1, 'no expiry: no key TTL');

    ($rc, $out, $err) = run_admin([ 'import', 't051b', '-' ],
        qq({"id":"1","name":"Other","groups":[2]}\n));
    ($rc, $out, $err) = run_admin([ 'token-create', 't051b', '1', '--token',
                                    $Given{other} ]);
    is($rc, 0, 'a given token in t051b: 0') or diag $err;

    # the same digest again: refused, the record kept
    my $rec = hash(tkey($Given{stdin}));
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token',
                                    $Given{stdin}, '--role', 'admin' ]);
    is($rc, 1, 'a stored digest: 1');
    is($err, 'users-admin: a token with this digest is stored already: '
             . tkey($Given{stdin}) . " (token-revoke --digest removes it)\n",
       'a stored digest: message');
    is_deeply(hash(tkey($Given{stdin})), $rec, 'the record unchanged');

    # refused tokens and expiries: 2, the token never echoed
    my $u = "(users-admin --help for usage)\n";
    for my $c (
        [ [ '--token', 'uk_short' ],
          "users-admin: invalid --token: 8 bytes, fewer than 16\n" ],
        [ [ '--token', 'uk_' . ('L' x 510) ],
          "users-admin: invalid --token: longer than 512 bytes\n" ],
        [ [ '--token', 'uk_has space_0123456' ],
          'users-admin: invalid --token: not an RFC 6750 b64token'
          . qq{ (letters, digits, "-._~+/", then "=" padding)\n} ],
        [ [ '--token', 'uk_padding=_in_middle' ],
          'users-admin: invalid --token: not an RFC 6750 b64token'
          . qq{ (letters, digits, "-._~+/", then "=" padding)\n} ],
        [ [ '--token', '=' x 20 ],
          'users-admin: invalid --token: not an RFC 6750 b64token'
          . qq{ (letters, digits, "-._~+/", then "=" padding)\n} ],
        [ [ '--expires', '2030-02-30' ],
          'users-admin: invalid --expires "2030-02-30": not an RFC 3339 time'
          . ' (2030-01-01T12:00:00Z, 2030-01-01) nor a duration (90s, 45m,'
          . " 12h, 30d)\n" ],
        [ [ '--expires', '5y' ],
          'users-admin: invalid --expires "5y": not an RFC 3339 time'
          . ' (2030-01-01T12:00:00Z, 2030-01-01) nor a duration (90s, 45m,'
          . " 12h, 30d)\n" ],
        [ [ '--expires', '1970-01-01' ], 'users-admin: invalid --expires'
          . qq( "1970-01-01": before 1970-01-01T00:00:01Z\n) ],
        [ [ '--expires', '-30000d' ], 'users-admin: invalid --expires'
          . qq( "-30000d": before 1970-01-01T00:00:01Z\n) ],
        [ [ '--expires', '40000d' ], 'users-admin: invalid --expires'
          . qq( "40000d": at most 100 years\n) ],
        [ [ '--ttl', '60', '--expires', '1d' ],
          "users-admin: give --expires or --ttl, once\n" ],
        [ [ '--ttl', '0' ], qq(users-admin: invalid ttl "0"\n) ],
        [ [ '--role' ], qq(users-admin: option "--role" needs a value\n) ],
    ) {
        my ($opts, $msg) = @$c;
        ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', @$opts ]);
        is($rc, 2, "token-create @$opts: 2");
        is($err, $msg . $u, "token-create @$opts: message");
        is($out, '', "token-create @$opts: nothing printed");
    }

    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token', '-' ],
                                  ('x' x 600) . "\n");
    is($rc, 2, '--token - too long: 2');
    is($err, "users-admin: invalid --token: longer than 512 bytes\n$u",
       '--token - too long: message');
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token', '-' ],
                                  '');
    is($rc, 2, '--token - empty: 2');
    is($err, "users-admin: invalid --token: 0 bytes, fewer than 16\n$u",
       '--token - empty: message');
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token', '-' ],
                                  ('L' x 513) . "\n");
    is($err, "users-admin: invalid --token: longer than 512 bytes\n$u",
       '--token - of 513 bytes: refused');

    # the longest allowed, from standard input with CR LF
    ($rc, $out, $err) = run_admin([ 'token-create', $ws, '7', '--token', '-' ],
                                  "$Given{long}\r\n");
    is($rc, 0, '--token - of 512 bytes: 0') or diag $err;
    is(cmd($r, 'HGET', tkey($Given{long}), 'user'), 7, '512 bytes: stored');

    is_deeply([ grep { cmd($r, 'EXISTS', tkey($_)) }
                'uk_short', 'uk_' . ('L' x 510), 'uk_has space_0123456' ],
              [], 'refused tokens stored nothing');
}

# --- the module answers what users-admin loaded -----------------------------
#
# Tokens from token-create (given, expired, in two workspaces), users whose
# enum values import folded, groups from import-objects: served by nginx.

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my $rport = $ENV{TEST_NGINX_REDIS_PORT};
    my $http = "users_redis 127.0.0.1:$rport timeout=2s;";
    my $ngx = nginx_start(name => 't051', http_config => $http,
                          config => <<'_EOC_');
        location = /user {
            users_auth       "t051";
            users_get        $users_user_id;
            users_workspace  $users_workspace;
            users_field id    int;
            users_field name  string;
        }

        location = /roles {
            users_list;
            users_workspace  t051c;
            users_sort       name default;
            users_filter role in values=ADMIN,OPERATOR case=lower indexed;
            users_envelope   items;
            users_field id    string;
            users_field role  string  case=upper;
        }

        location = /u {
            users_get          $arg_id;
            users_workspace    $arg_ws;
            users_expand_param expands;
            users_expand groups from=groups key=group
                         fields=id:int,name:string;
            users_field id      int;
            users_field groups  int_list;
        }
_EOC_

    my $BadToken = '{"error":"invalid_token","message":"the token is'
                   . ' unknown, revoked or expired"}';

    sub get {
        my ($ngx, $path, $t) = @_;
        my ($st, $h, $body) = http_get($ngx->port, $path,
            $t ? (Authorization => "Bearer $t") : ());
        return ($st // 0, $h, $body // '');
    }

    for my $name (qw(past minus)) {
        my ($st, $h, $body) = get($ngx, '/user', $Given{$name});
        is($st, 401, "$name token: 401");
        is($h->{'www-authenticate'},
           'Bearer realm="t051", error="invalid_token"',
           "$name token: WWW-Authenticate");
        is($body, $BadToken, "$name token: invalid_token body");
    }

    my ($st, $h, $body) = get($ngx, '/user', $Given{future});
    is($st, 200, 'given token, expiring later: 200');
    is($body, '{"id":8,"name":""}', 'the caller in t051');

    ($st, $h, $body) = get($ngx, '/user', $Given{long});
    is("$st $body", '200 {"id":7,"name":""}', '512-byte given token: 200');

    ($st, $h, $body) = get($ngx, '/user', $Given{stdin});
    is("$st $body", '200 {"id":9,"name":""}', 'token from stdin: user 9');

    ($st, $h, $body) = get($ngx, '/user', $Given{other});
    is("$st $body", '200 {"id":1,"name":"Other"}',
       'token of t051b: user 1 of t051b, not of t051');

    ($st, $h, $body) = get($ngx, '/roles?role=ADMIN');
    is("$st $body", '200 [{"id":"1","role":"ADMIN"}]',
       'imported "ADMIN", folded, found by the conf\'s case=lower filter');
    ($st, $h, $body) = get($ngx, '/roles?role=OPERATOR');
    is("$st $body", '200 [{"id":"2","role":"OPERATOR"}]',
       '"Operator" found as OPERATOR');

    ($st, $h, $body) = get($ngx, '/u?ws=t051&id=30&expands=groups');
    is("$st $body", '200 {"id":30,"groups":[2,3,5],"expands":{"groups":'
       . '[{"id":2,"name":"Twos"},{"id":3,"name":"Drei"}]}}',
       'imported groups expanded (5 was not imported)');

    ($st, $h, $body) = get($ngx, '/u?ws=t051b&id=1&expands=groups');
    is("$st $body", '200 {"id":1,"groups":[2],"expands":{"groups":'
       . '[{"id":2,"name":"Other twos"}]}}', 't051b: its own group 2');

    unlike($ngx->error_log, qr/\[(?:error|crit|alert|emerg)\]/,
           'no error in the log');
    my $log = $ngx->error_log;
    is(scalar(grep { index($log, $_) >= 0 } values %Given), 0,
       'no token in the log');

    $ngx->stop;
}

cmd($r, 'DEL', map { tkey($_) } values %Given);

# --- delete ------------------------------------------------------------------------

($rc, $out, $err) = run_admin([ 'delete', $ws, 1, 2 ]);
is($rc, 0, 'delete: 0') or diag $err;
is(cmd($r, 'EXISTS', "$B:u:1", "$B:u:2"), 0, 'hashes gone');
is(cmd($r, 'ZCARD', "$B:ix:id"), 58, '58 users left');

($rc, $out, $err) = run_admin([ 'delete', $ws, 1 ]);
is($rc, 1, 'deleting a missing user: 1');
like($err, qr/no user "1" in "t051"/, 'names it');

($rc, $out, $err) = run_admin([ 'delete', $ws, 3 .. 60 ]);
is($rc, 0, 'delete the rest');
($rc, $out, $err) = run_admin([ 'delete-objects', $ws, 'group', 2, 3 ]);
is($rc, 0, 'delete-objects: 0');
is($out, qq(users-admin: deleted group "2" from "t051"\n)
         . qq(users-admin: deleted group "3" from "t051"\n),
   'delete-objects: output');
is_deeply([ ws_keys($r, $ws) ], [ "$B:meta" ], 'only meta remains');

unlink $file;
ws_clean($r, $_) for @Spaces;

done_testing();
