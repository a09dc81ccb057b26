# Replica reads on a Redis Cluster (users_redis_read replica max_lag=...):
# list reads of such a location go to the replica of the workspace's
# primary (READONLY connections), others to the primary; rate limits
# (writes) always to the primary.  A replica that stops answering (SIGSTOP)
# is not read once it is more than max_lag behind: reads go to the
# primary, and come back to it once it catches up.
#
# Which node served what is read from each node's INFO commandstats.
#
# Plain Test::More; needs TEST_NGINX_LOAD_MODULES (t/run.sh sets it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use UsersTest qw(nginx_start http_get);
use UsersCluster qw(cluster_start key_slot);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

$UsersTest::Timeout = 10;

my $c = cluster_start();

my $k = 'users:{rr1}';
my $P = $c->owner(key_slot($k));
my ($R) = $c->replicas_of($P);
ok($R, 'rr1 on ' . $P->port . ', its replica ' . ($R ? $R->port : '?'));

$c->cmd('FCALL', 'users_schema', 1, $k, 'name:str,id:int', '', '');
$c->cmd('FCALL', 'users_upsert', 1, $k, $_, id => $_, name => "rr1 user $_")
    for 1 .. 9;
$P->cmd('WAIT', 1, 5000);

my $ngx = nginx_start(name => 't095', log_level => 'notice',
    http_config => 'users_redis ' . $c->directive
                   . " timeout=2s replica_check=100ms;\n"
                   . 'users_limit_zone rr key=$arg_k rate=100r/h '
                   . "burst=1000000 redis;\nusers_cache off;",
    config => q{
        users_workspace rr1;
        users_field id int;
        users_field name string;
        users_sort name default;
        users_filter q search fields=name;

        location = /primary/users { users_list; }
        location = /replica/users {
            users_redis_read replica max_lag=500ms;
            users_list;
        }
        location = /replica/limited {
            users_redis_read replica max_lag=500ms;
            users_limit rr;
            users_list;
        }
    });

# the calls a node served since its last reset, by command
sub served {
    my $node = shift;
    my %n;
    for (split /\r?\n/, $node->cmd('INFO', 'commandstats')) {
        $n{$1} = $2 if /^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/;
    }
    delete @n{qw(info config|resetstat ping readonly)};
    return \%n;
}

sub reset_stats { $_->cmd('CONFIG', 'RESETSTAT') for @_ }

sub ask {
    my ($path, $n) = @_;
    my %st;
    for (1 .. $n) {
        my ($status) = http_get($ngx->port, $path);
        $st{ $status // 'none' }++;
    }
    return join ',', map { "$_:$st{$_}" } sort keys %st;
}

# a replica is read only once a lag check has found it caught up
my $deadline = time + 10;
until (time > $deadline) {
    reset_stats($R);
    ask('/replica/users', 1);
    last if reads($R);
    sleep 0.1;
}

# the reads a node served: MULTI/EXEC batches and the library's read-only
# functions (users_rows, users_query), whatever the store's layout
sub reads {
    my $n = served(shift);
    return ($n->{exec} // 0) + ($n->{fcall_ro} // 0);
}

reset_stats($P, $R);
is(ask('/replica/users?limit=3', 20), '200:20', 'replica reads answer');
is(ask('/replica/users?q=user+1', 10), '200:10', 'a users_query too');
cmp_ok(reads($R), '>=', 30, 'they were read from the replica')
    or diag(explain(served($R)));
is(reads($P), 0, 'none from the primary') or diag(explain(served($P)));

reset_stats($P, $R);
is(ask('/primary/users?limit=3', 10), '200:10', 'primary reads answer');
cmp_ok(reads($P), '>=', 10, 'from the primary');
is(reads($R), 0, 'not the replica');

reset_stats($P, $R);
is(ask('/replica/limited?k=a', 10), '200:10', 'a limited location');
my ($p, $r) = (served($P), served($R));
is($p->{fcall}, 10, 'its rate limit is written on the primary');
is($r->{fcall} // 0, 0, 'never on the replica');
cmp_ok(reads($R), '>=', 10, 'its reads from the replica');
is(reads($P), 0, 'none from the primary');

# ----------------------------------------------------------------------
# the replica stops: after max_lag reads go to the primary

$R->pause;
sleep 1.5;

reset_stats($P);
is(ask('/replica/users?limit=3', 20), '200:20', 'a stalled replica: reads answer');
cmp_ok(reads($P), '>=', 20, 'from the primary');

# a write the replica has not seen is read at once
$c->cmd('FCALL', 'users_upsert', 1, $k, 10, id => 10, name => 'rr1 user 0');
my (undef, undef, $body) = http_get($ngx->port, '/replica/users?limit=1');
like($body, qr/"name":"rr1 user 0"/, 'and they are fresh');

$R->resume;
$deadline = time + 10;
my $back;
until (time > $deadline) {
    reset_stats($R);
    ask('/replica/users', 5);
    if (reads($R)) { $back = 1; last }
    sleep 0.1;
}
ok($back, 'once it caught up, the replica is read again');

my (undef, undef, $after) = http_get($ngx->port, '/replica/users?limit=1');
like($after, qr/"name":"rr1 user 0"/, 'with the write');

unlike($ngx->error_log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

$ngx->stop;
$c->stop;

done_testing();
