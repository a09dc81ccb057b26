# Shared-memory zones that fill up (users_limit_zone ... shm=).
#
#  - How many keys a zone holds: every key takes one 128-byte slab slot
#    (keys of 32 bytes or more are kept as their SHA-256), so 4-, 16- and
#    64-byte keys (an IPv4 or IPv6 $binary_remote_addr, a long API key)
#    fill a zone at the same count; 32k and 1m measured here.
#  - Full of keys still limited (rate=1r/h): nothing is dropped; a new key
#    passes uncounted ($users_limit_status FAILED_OPEN, on_error=open, the
#    default) or is refused 503 (on_error=closed); a client being limited
#    stays limited however many other keys come; one log line for the
#    incident; no [crit] ngx_slab_alloc() line, no [alert].
#  - Full of keys whose bucket is full again (idle): they make room, even
#    behind keys still limited at the least recently used end, and keys of
#    300 and 1000 bytes are limited as any other (two 1000-byte keys that
#    differ only at the end are two buckets).
#
# Plain Test::More: thousands of requests on keep-alive connections.
# Needs TEST_NGINX_BINARY / TEST_NGINX_LOAD_MODULES (t/run.sh sets them).
# T063_SIZES="10m" also measures those sizes (slow: one request a key).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(sleep);
use UsersTest qw(nginx_start http_get);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my @Extra = split ' ', ($ENV{T063_SIZES} // '');

my $Http = q{
    keepalive_requests 1000000;
    users_limit_zone k4     key=$http_x_key rate=1r/h burst=1 shm=32k;
    users_limit_zone k16    key=$http_x_key rate=1r/h burst=1 shm=32k;
    users_limit_zone k64    key=$http_x_key rate=1r/h burst=1 shm=32k;
    users_limit_zone m1     key=$http_x_key rate=1r/h burst=1 shm=1m;
    users_limit_zone closed key=$http_x_key rate=1r/h burst=1 shm=32k on_error=closed;
    users_limit_zone idle   key=$http_x_key rate=1r/s burst=5 shm=32k;
};
my $Config = q{
        access_log off;
        add_header X-Limit "[$users_limit_status]" always;
        location = /k4     { users_limit k4;     alias html/ok.txt; }
        location = /k16    { users_limit k16;    alias html/ok.txt; }
        location = /k64    { users_limit k64;    alias html/ok.txt; }
        location = /m1     { users_limit m1;     alias html/ok.txt; }
        location = /closed { users_limit closed; alias html/ok.txt; }
        location = /idle   { users_limit idle;   alias html/ok.txt; }
};
for my $size (@Extra) {
    $Http .= "users_limit_zone x$size key=\$http_x_key rate=1r/h burst=1 shm=$size;\n";
    $Config .= "location = /x$size { users_limit x$size; alias html/ok.txt; }\n";
}

my $ngx = nginx_start(name => 't063', http_config => $Http, config => $Config,
                      log_level => 'info');
{
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
}

# the requests ([path, key] each) on one keep-alive connection, 200 at a
# time; returns [status, X-Limit, body] each
sub pipeline {
    my @reqs = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ngx->port, Proto => 'tcp',
                                     Timeout => 5)
        or die "connect: $!";
    my $sel = IO::Select->new($sock);
    my (@out, $buf);
    $buf = '';
    while (my @batch = splice @reqs, 0, 200) {
        my $req = join '', map {
            "GET $_->[0] HTTP/1.1\r\nHost: localhost\r\nX-Key: $_->[1]\r\n\r\n"
        } @batch;
        while (length $req) {
            my $n = syswrite($sock, $req) // die "write: $!";
            substr($req, 0, $n, '');
        }
        for (1 .. @batch) {
            my ($head, $len);
            until (($head) = $buf =~ /\A(.*?\r\n\r\n)/s) {
                $sel->can_read(5) or die "timeout reading a response";
                sysread($sock, $buf, 65536, length $buf) or die "closed";
            }
            substr($buf, 0, length $head, '');
            ($len) = $head =~ /^Content-Length: (\d+)/mi;
            while (length $buf < $len) {
                $sel->can_read(5) or die "timeout reading a body";
                sysread($sock, $buf, 65536, length $buf) or die "closed";
            }
            my $body = substr($buf, 0, $len, '');
            my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
            my ($limit) = $head =~ /^X-Limit: (.*?)\r$/mi;
            push @out, [$status, $limit // '-', $body];
        }
    }
    close $sock;
    return @out;
}

sub key { my ($len, $i) = @_; substr(sprintf('%0*d', $len, $i), -$len) }

# fills a zone with new keys of one length; returns how many it held (the
# PASSED before the first FAILED_OPEN) and the statuses after that
sub fill {
    my ($path, $len, $n) = @_;
    my @r = pipeline(map { [$path, key($len, $_)] } 1 .. $n);
    my $held = 0;
    $held++ while $held < @r && $r[$held][1] eq '[PASSED]';
    return ($held, [@r[$held .. $#r]]);
}

my ($log, $pos) = $ngx->error_log;

# ----------------------------------------------------------------------
# 1. Capacity: the same for 4-, 16- and 64-byte keys

my %held;
for my $len (4, 16, 64) {
    my ($held, $rest) = fill("/k$len", $len, 900);
    $held{$len} = $held;
    diag("shm=32k holds $held keys of $len bytes");
    is(scalar(grep { $_->[0] == 200 && $_->[1] eq '[FAILED_OPEN]' } @$rest),
       900 - $held, "k$len: every key past the $held held passes uncounted, FAILED_OPEN");
}
cmp_ok($held{4}, '>=', 180, 'shm=32k holds 180 keys or more');
is($held{16}, $held{4}, 'keys of 16 bytes (IPv6) take what keys of 4 (IPv4) take');
is($held{64}, $held{4}, 'keys of 64 bytes too (kept as their SHA-256)');

my ($m1) = fill('/m1', 4, 9000);
diag("shm=1m holds $m1 keys");
cmp_ok($m1, '>=', 7900, 'shm=1m holds 7900 keys or more');
cmp_ok($m1, '<', 9000, 'shm=1m: ... and fills up');

for my $size (@Extra) {
    my ($v, $u) = $size =~ /^(\d+)([km]?)$/i or die "T063_SIZES: $size?";
    my $bytes = $v * { '' => 1, k => 1024, m => 1048576 }->{lc $u};
    my ($n) = fill("/x$size", 16, int($bytes / 128 * 1.05) + 100);
    diag("shm=$size holds $n keys");
}

# ----------------------------------------------------------------------
# 2. Full of keys still limited: the first key is limited after 600 more
#    new keys; one log line for the incident; no [crit]

{
    my @r = pipeline(['/k4', key(4, 1)], map { ['/k4', key(4, 5000 + $_)] } 1 .. 600);
    is("$r[0][0] $r[0][1]", '429 [REJECTED]', 'k4: the first key is still limited');
    is(scalar(grep { $_->[1] eq '[FAILED_OPEN]' } @r[1 .. $#r]), 600,
       'k4: 600 more new keys passed uncounted, none took its place');
    @r = pipeline(['/k4', key(4, 1)], ['/k4', key(4, 2)], ['/k4', key(4, $held{4})]);
    is(join(' ', map { $_->[0] } @r), '429 429 429', 'k4: the keys held are all still limited');
}

($log, $pos) = $ngx->error_log($pos);
for my $z (qw(k4 k16 k64 m1)) {
    my @lines = grep { /users_limit_zone "$z" is full/ } split /\n/, $log;
    is(scalar @lines, 1, "$z: one log line for the incident");
    like($lines[0] // '', qr/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ users_limit_zone "$z" is full: its \d+ keys are all still limited; new keys pass uncounted \(on_error\) until some are idle again \(a larger shm= holds more\), client: 127\.0\.0\.1, server: localhost, request: "GET \/$z HTTP\/1\.1", host: "localhost"$/,
         "$z: the line");
}
unlike($log, qr/ngx_slab_alloc\(\) failed/, 'no ngx_slab_alloc() failed line');
unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');

# ----------------------------------------------------------------------
# 3. on_error=closed: a new key that finds no room is refused, 503

{
    my ($held, $rest) = fill('/closed', 4, 300);
    is($held, $held{4}, 'closed: holds as many');
    is(scalar(grep { $_->[0] == 503 } @$rest), 300 - $held, 'closed: each key past them: 503');
    is($rest->[0][2], '{"error":"unavailable","message":"too many clients to keep count of; retry later"}',
       'closed: the 503 body');
    my ($status, $h) = http_get($ngx->port, '/closed', 'X-Key' => key(4, 9999));
    is($status, 503, 'closed: 503');
    is($h->{'retry-after'}, '1', 'closed: Retry-After: 1');
    is($h->{'content-type'}, 'application/json', 'closed: JSON');
    ok(!exists $h->{ratelimit}, 'closed: no RateLimit');
    ($status) = http_get($ngx->port, '/closed', 'X-Key' => key(4, 1));
    is($status, 429, 'closed: a key held is still decided (429)');
    ($log, $pos) = $ngx->error_log($pos);
    my @lines = grep { /users_limit_zone "closed" is full/ } split /\n/, $log;
    is(scalar @lines, 1, 'closed: one log line');
    like($lines[0] // '', qr/users_limit_zone "closed" is full: its \d+ keys are all still limited; new keys are refused, 503 \(on_error=closed\), until some are idle again/,
         'closed: the line says 503');
}

# ----------------------------------------------------------------------
# 4. Full of idle keys (rate=1r/s burst=5: one request leaves a second of
#    debt, five leave five): ten keys that spent their burst are the least
#    recently used; the zone is filled up with one-request keys; a second
#    later those are idle, the ten are not. New keys of 4, 300 and 1000
#    bytes take the idle keys' place (found past the ten) and are limited;
#    the ten keep their state (one request each, then 429: a fresh bucket
#    would allow five).

{
    my @heavy = map { my $k = key(4, 8000 + $_); map { ['/idle', $k] } 1 .. 5 } 1 .. 10;
    my @r = pipeline(@heavy);
    is(scalar(grep { $_->[0] == 200 } @r), 50, 'idle: ten keys spend their burst of five');
    # as many as the zone holds with them: full, no key refused yet, and
    # the ten at the least recently used end
    my ($held, $rest) = fill('/idle', 4, $held{4} - 10);
    is($held, $held{4} - 10, "idle: the zone is full ($held more keys)");

    sleep 1.2;

    my $k300 = 'a' x 299 . 'b';
    my $k1000 = 'c' x 999 . 'd';
    my $k1000b = 'c' x 999 . 'e';
    @r = pipeline(map { (['/idle', $_]) x 7 } key(4, 9001), $k300, $k1000, $k1000b);
    for my $i (0 .. 3) {
        my $name = (qw(4 300 1000 1000b))[$i];
        my @s = map { "$_->[0] $_->[1]" } @r[7 * $i .. 7 * $i + 6];
        is("@s", join(' ', ('200 [PASSED]') x 5, ('429 [REJECTED]') x 2),
           "idle: a new key of $name bytes: 5 pass, then 429");
    }
    @r = pipeline(map { (['/idle', key(4, 8000 + $_)]) x 2 } 1 .. 10);
    is(join(' ', map { $_->[0] } @r), join(' ', ('200 429') x 10),
       'idle: the ten keys still limited kept their state (one more, then 429)');
    ($log, $pos) = $ngx->error_log($pos);
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'idle: no [crit], [alert], [emerg]');
}

$ngx->stop;

done_testing();
