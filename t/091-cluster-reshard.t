# Resharding under traffic: a workspace's slot moves from its primary to
# another (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE ... KEYS a few
# keys at a time, SETSLOT NODE) while clients ask for every kind of page:
# indexed pages (ids, then rows: MULTI batches), a filter no index
# answers (one users_query function call), single users, and the pages of
# a second workspace on a third primary.
#
# Expected: 0 errors and 0 wrong answers (every body as before the move),
# ASK then MOVED for the slot in the debug log (error_log debug_core), the
# function calls waiting for the whole slot rather than reading half a
# workspace, and the keys all on the new primary afterwards.
#
# Plain Test::More; needs TEST_NGINX_LOAD_MODULES (t/run.sh sets it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use UsersTest qw(nginx_start http_get);
use UsersCluster qw(cluster_start key_slot traffic_start);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

$UsersTest::Timeout = 10;

my $c = cluster_start();
my @primaries = $c->primaries;

# rs1 moves; t033 stays where it is (on another primary than rs1's)
my $Ws = 'rs1';
my $Slot = key_slot("users:{$Ws}");
my $from = $c->owner($Slot);
my $other = $c->owner(key_slot('users:{t033}'));
my ($to) = grep { $_ != $from && $_ != $other } @primaries;
ok($from && $other && $to && $from != $other,
   "rs1 (slot $Slot) on " . $from->port . ', t033 on ' . $other->port
   . ', rs1 moves to ' . ($to ? $to->port : '?'));

for my $ws ($Ws, 't033') {
    my $k = "users:{$ws}";
    $c->cmd('FCALL', 'users_schema', 1, $k, 'name:str,id:int', 'status',
            'groups:group');
    for my $i (1 .. 24) {
        $c->cmd('FCALL', 'users_upsert', 1, $k, $i, id => $i,
                name => sprintf('%s user %02d', $ws, 25 - $i),
                status => $i % 3 ? 'active' : 'inactive',
                groups => join(',', grep { $i % $_ == 0 } 2, 3, 5));
    }
}

my $ngx = nginx_start(
    name => 't091', workers => 2, master => 1, log_level => 'debug_core',
    http_config => 'users_redis ' . $c->directive . ' timeout=5s;',
    config => q{
        location ~ ^/(?<ws>\w+)/users$ {
            users_workspace $ws;
            users_list;
            users_field id int;
            users_field name string;
            users_field status string;
            users_sort name default;
            users_sort id kind=int;
            users_sort_param ordering;
            users_filter status in values=active,inactive indexed;
            users_filter q search fields=name;
            users_filter group member field=group multi;
        }
        location ~ ^/(?<ws>\w+)/users/(?<id>\d+)$ {
            users_workspace $ws;
            users_get $id;
            users_field id int;
            users_field name string;
        }
    });

# every request and the body it gave before the move
my @paths;
for my $ws ($Ws, 't033') {
    push @paths, map { "/$ws/users?limit=5&offset=$_" } 0, 5, 10, 15, 20;
    push @paths, "/$ws/users?status=inactive&limit=3",
                 "/$ws/users?q=user+1&ordering=-id",
                 "/$ws/users?group=2,3&ordering=name&limit=4&offset=2",
                 map { "/$ws/users/$_" } 1, 12, 24;
}

# both workers have the map (the first requests may follow a MOVED)
my $deadline = time + 10;
for my $path (@paths) {
    sleep 0.05 until (http_get($ngx->port, $path))[0] == 200 || time > $deadline;
}

my @requests;
for my $path (@paths) {
    my ($status, undef, $body) = http_get($ngx->port, $path);
    is($status, 200, "before: $path") or diag($status, ' ', $body);
    push @requests, [$ngx->port, $path, $body];
}

# ----------------------------------------------------------------------
# the move, under traffic

my (undef, $pos) = $ngx->error_log;
my $traffic = traffic_start(clients => 4, requests => \@requests, keep => 1);
sleep 0.5;

my $moved = $c->migrate_slot($Slot, $to, batch => 3, pause => 0.1);

sleep 0.5;
my $sum = $traffic->stop;
my ($log) = $ngx->error_log($pos);

diag(sprintf 'moved %d keys; %d requests: %d ok, %d wrong, %d errors',
     $moved, $sum->{total}, $sum->{ok}, $sum->{wrong}, $sum->{error});
cmp_ok($moved, '>', 24, 'the whole workspace moved (users and indexes)');
cmp_ok($sum->{total}, '>=', 40, 'traffic ran throughout');
is($sum->{error}, 0, 'no errors') or diag($sum->{bodies});
is($sum->{wrong}, 0, 'no wrong answers') or diag($sum->{bodies});

my @ask = grep { /users redis: ASK slot $Slot / } split /\n/, $log;
my @moved = grep { /users redis: MOVED slot $Slot / } split /\n/, $log;
ok(@ask, 'ASK for the slot in the debug log (' . scalar(@ask) . ')');
ok(@moved, 'then MOVED (' . scalar(@moved) . ')');
ok(@ask && @moved && index($log, $ask[0]) < index($log, $moved[0]),
   'ASK came before MOVED');
like($log, qr/users redis: ASK slot $Slot from \S+ to \S+: waiting for the whole slot/,
     'the function call waited for the whole slot');
unlike($log, qr/\[(?:error|crit|alert|emerg)\]/, 'no error in the log');
diag('pages read again after their slot moved: '
     . scalar(() = $log =~ /users: workspace "rs1" moved between a page's ids and its rows/g));

# ----------------------------------------------------------------------
# afterwards: the keys are on the new primary, and answers are the same

is($c->owner($Slot)->port, $to->port, 'the slot is served by the new primary');
is($from->cmd('CLUSTER', 'COUNTKEYSINSLOT', $Slot), 0, 'none left behind');
cmp_ok($to->cmd('CLUSTER', 'COUNTKEYSINSLOT', $Slot), '==', $moved,
       'all of them on the new primary');

my $same = grep {
    my ($status, undef, $body) = http_get($ngx->port, $_->[1]);
    $status == 200 && $body eq $_->[2];
} @requests;
is($same, scalar @requests, 'every answer the same after the move');

$ngx->stop;
$c->stop;

done_testing();
