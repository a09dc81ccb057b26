# Rate limits in shared memory (users_limit_zone without "redis"): GCRA with
# a burst, refilled one request at a time; the 429 answer (JSON body,
# Retry-After), the RateLimit headers (draft, legacy, off) on accepted and
# rejected answers; an empty key is not limited; two zones on a location
# (the stricter one answers); one set of RateLimit headers, the strictest,
# when zones are decided in both phases (preaccess and access); counted
# once per zone through internal redirects, and a zone met after a
# redirect is counted too; zones in server context, the same definition
# twice; dry run; the log level; no key in the log; $users_limit_status.
# Last (plain Test::More, after run_tests): a zone keyed by
# $users_workspace runs after users_auth, and an address limit in the
# preaccess phase keeps a flood of bad tokens away from Redis.
#
# Every block has its own zone or key, so that no block sees another's
# state (blocks with the same config share one nginx, and its zones).
# repeat_each(1): a second run would find its bucket spent.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd nginx_start http_get);
use Digest::SHA qw(sha256_hex);

repeat_each(1);
no_shuffle();
no_long_string();
# nginx --with-debug logs every request header at debug level: look at
# what the module (and nginx at info) writes, as in production
log_level('info');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;

    users_limit_zone burst   key=\$arg_k rate=30r/m burst=3;
    users_limit_zone strict  key=\$arg_k rate=1r/m burst=1;
    users_limit_zone loose   key=\$arg_k rate=10r/m;
    users_limit_zone apikey  key=\$http_x_api_key rate=1r/m burst=1;
    users_limit_zone hourly  key=\$arg_k rate=5r/h burst=2 shm=64k;
    # keyed by a \$users_ variable: decided in the access phase (empty
    # without users_auth, so \$arg_k alone keys them)
    users_limit_zone pre     key=\$arg_k rate=10r/m;
    users_limit_zone post    key=\$users_workspace\$arg_k rate=1r/m burst=1;
    users_limit_zone prest   key=\$arg_k rate=1r/m burst=2;
    users_limit_zone postl   key=\$users_workspace\$arg_k rate=10r/m;
};

our $Config = q{
    location = /burst {
        users_limit burst;
        alias html/ok.txt;
        add_header X-Limit "[$users_limit_status]" always;
    }
    location = /strict {
        users_limit strict;
        alias html/ok.txt;
        add_header X-Limit "[$users_limit_status]" always;
    }
    location = /legacy {
        users_limit hourly;
        users_limit_headers legacy;
        alias html/ok.txt;
    }
    location = /quiet {
        users_limit hourly;
        users_limit_headers off;
        alias html/ok.txt;
    }
    location = /two {
        users_limit loose strict;
        alias html/ok.txt;
    }
    location = /loose {
        users_limit loose;
        alias html/ok.txt;
    }
    location = /dry {
        users_limit strict;
        users_limit_dry_run on;
        alias html/ok.txt;
        add_header X-Limit "[$users_limit_status]" always;
    }
    location = /notice {
        users_limit strict;
        users_limit_log_level notice;
        alias html/ok.txt;
    }
    location = /warn {
        users_limit strict;
        users_limit_log_level warn;
        alias html/ok.txt;
    }
    location = /apikey {
        users_limit apikey;
        alias html/ok.txt;
    }
    # an internal redirect to a location with the same limit
    location = /redir {
        users_limit strict;
        try_files /nonexistent /strict?$args;
    }
    # a redirect to a location with another zone: that one counts too
    location = /redir-other {
        users_limit loose;
        try_files /nonexistent /strict?$args;
    }
    # zones decided in both phases: preaccess (pre, prest), access (post,
    # postl)
    location = /phases/access-stricter {
        users_limit pre post;
        alias html/ok.txt;
        add_header X-Limit "[$users_limit_status]" always;
    }
    location = /phases/pre-stricter {
        users_limit prest postl;
        alias html/ok.txt;
        users_limit_headers legacy;
    }
    location = /free {
        alias html/ok.txt;
        add_header X-Limit "[$users_limit_status]" always;
    }
    # inherited from the server level, switched off below
    location /inherit/ {
        users_limit strict;
        alias html/;
        location = /inherit/ok.txt {
            alias html/ok.txt;
        }
    }
};

our $RateLimited = '{"error":"rate_limited","message":"too many requests; retry in %d s"}';
sub limited { sprintf $::RateLimited, shift }

# a 429, its Retry-After and its message agree
our $R1 = limited(1);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $::Config) unless defined $block->config;
    $block->set_value('user_files', ">>> ok.txt\nok\n")
        unless defined $block->user_files;
    $block->set_value('no_error_log', [qr/\[(?:crit|alert|emerg)\]/])
        unless defined $block->no_error_log || defined $block->must_die;
});

run_tests();

# ----------------------------------------------------------------------
# After users_auth: a zone keyed by $users_workspace, and an address limit
# in preaccess before any token reaches Redis.  Plain Test::More: it counts
# Redis commands (INFO commandstats) around the requests.

my $Ws = 't060';
my $Good = 'uk_t060-good~token';
my $Other = 'uk_t060-other';
sub token_key { 'users:token:' . sha256_hex($_[0]) }
redis_cmd('DEL', token_key($_)) for $Good, $Other;
redis_cmd('HSET', token_key($Good), user => 1, ws => $Ws, role => 'user',
          perms => 'read', exp => 0);
redis_cmd('HSET', token_key($Other), user => 2, ws => "${Ws}b",
          role => 'user', perms => 'read', exp => 0);

sub hmget_calls {
    my $info = redis_cmd('INFO', 'commandstats');
    return $info =~ /^cmdstat_hmget:calls=(\d+)/m ? $1 : 0;
}

my $ngx = nginx_start(
    name        => 't060',
    log_level   => 'info',
    http_config => qq{
        users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
        users_limit_zone address    key=\$binary_remote_addr rate=3r/m burst=3;
        users_limit_zone workspace  key=\$users_workspace rate=2r/m burst=2;
        users_limit_zone strict     key=\$arg_k rate=1r/m burst=1;
        users_limit_zone apikey     key=\$http_x_api_key rate=1r/m burst=1;
    },
    config => q{
        users_auth "t060";
        users_auth_query access_token;
        location = /flood {
            users_limit address;
            alias html/ok.txt;
        }
        location = /ws {
            users_limit workspace;
            alias html/ok.txt;
            add_header X-Limit "[$users_limit_status]" always;
        }
        location = /both {
            users_limit address workspace;
            alias html/ok.txt;
        }
        location /log/ {
            users_auth off;
            alias html/;
            location = /log/error  { users_limit strict; alias html/ok.txt; }
            location = /log/notice { users_limit strict; alias html/ok.txt;
                                     users_limit_log_level notice; }
            location = /log/warn   { users_limit strict; alias html/ok.txt;
                                     users_limit_log_level warn; }
            location = /log/info   { users_limit strict; alias html/ok.txt;
                                     users_limit_log_level info; }
            location = /log/dry    { users_limit strict; alias html/ok.txt;
                                     users_limit_dry_run on; }
            location = /log/apikey { users_limit apikey; alias html/ok.txt; }
        }
    },
);
{
    open my $fh, '>', $ngx->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
}

# the workspace zone: keyed by the caller's workspace, so decided after
# users_auth (a request without a token is a 401, never a 429)
{
    my @st;
    for my $i (1 .. 3) {
        my ($status, $h, $body) = http_get($ngx->port, '/ws',
                                           Authorization => "Bearer $Good");
        push @st, $status;
        if ($i == 1) {
            is($h->{'ratelimit-policy'}, '"workspace";q=2;w=60', 'ws: policy');
            is($h->{'ratelimit'}, '"workspace";r=1;t=30', 'ws: RateLimit after 1');
            is($h->{'x-limit'}, '[PASSED]', 'ws: PASSED');
        }
        if ($i == 3) {
            is($body, limited(30), 'ws: 429 body');
            is($h->{'retry-after'}, '30', 'ws: Retry-After');
            is($h->{'ratelimit'}, '"workspace";r=0;t=60', 'ws: RateLimit on 429');
            is($h->{'x-limit'}, '[REJECTED]', 'ws: REJECTED');
        }
    }
    is("@st", '200 200 429', 'ws: 2 pass, the third is limited');

    my ($status, $h) = http_get($ngx->port, '/ws');
    is($status, 401, 'ws: no token: 401 (auth runs first), not 429');
    ok(!exists $h->{'retry-after'}, 'ws: no Retry-After on the 401');

    ($status, $h) = http_get($ngx->port, '/ws', Authorization => "Bearer $Other");
    is($status, 200, 'ws: another workspace has its own bucket');
}

# the flood: 10 unknown tokens, each different (no negative cache to help);
# the address limit lets 3 reach users_auth (3 HMGETs, 3 401s), the other
# 7 are answered 429 in preaccess without a Redis command
{
    my $before = hmget_calls();
    my (@st, $pos);
    (undef, $pos) = $ngx->error_log;
    for my $i (1 .. 10) {
        my ($status) = http_get($ngx->port, "/flood?access_token=uk_t060-bad-$i");
        push @st, $status;
    }
    my $after = hmget_calls();
    is("@st", '401 401 401 429 429 429 429 429 429 429',
       'flood: 3 reach users_auth, 7 are limited by address');
    is($after - $before, 3, 'flood: only 3 token lookups (HMGET) reached Redis');
    my ($log) = $ngx->error_log($pos);
    my @lines = grep { /limiting requests/ } split /\n/, $log;
    is(scalar @lines, 7, 'flood: one log line a rejection');
    like($lines[0] // '', qr/\[error\] \d+#\d+: \*\d+ limiting requests by zone "address", client: 127\.0\.0\.1, server: localhost, request: "GET \/flood\?access_token=\*\*\* HTTP\/1\.1", host: "localhost"$/,
         'flood: the log line, the token hidden');
    unlike($log, qr/uk_t060-bad/, 'flood: no token in the log');
    unlike($log, qr/\x7f\0\0\x01/, 'flood: no binary address in the log');

    # the workspace zone on the same location comes after auth: the address
    # zone is spent, so even the good token is refused before auth
    $before = hmget_calls();
    my ($status, $h, $body) = http_get($ngx->port, '/both',
                                       Authorization => "Bearer ${Good}x");
    is($status, 429, 'flood: /both is limited by address first');
    is($h->{'ratelimit-policy'}, '"address";q=3;w=60', 'flood: the address policy');
    is(hmget_calls() - $before, 0, 'flood: no HMGET for it');
}

# the log line of a rejection: its level (users_limit_log_level), its text
# (the zone, never the key), the dry run's
{
    my $line = sub {
        my ($level, $dry, $zone, $req) = @_;
        my $d = $dry ? ', dry run,' : '';
        return qr/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[$level\] \d+#\d+: \*\d+ limiting requests\Q$d\E by zone "$zone", client: 127\.0\.0\.1, server: localhost, request: "\Q$req\E", host: "localhost"$/;
    };
    for my $case (['error', 'error', 0], ['notice', 'notice', 0],
                  ['warn', 'warn', 0], ['info', 'info', 0],
                  ['dry', 'error', 1])
    {
        my ($loc, $level, $dry) = @$case;
        my (undef, $pos) = $ngx->error_log;
        my $path = "/log/$loc?k=sk_t060_${loc}_SECRET";
        my @st = map { (http_get($ngx->port, $path))[0] } 1 .. 2;
        is("@st", $dry ? '200 200' : '200 429', "log $loc: statuses");
        my ($log) = $ngx->error_log($pos);
        my @lines = grep { /limiting requests/ } split /\n/, $log;
        is(scalar @lines, 1, "log $loc: one line");
        like($lines[0] // '', $line->($level, $dry, 'strict', "GET $path HTTP/1.1"),
             "log $loc: [$level] limiting requests${\ ($dry ? ', dry run,' : '')} by zone \"strict\"");
    }

    # a key from a header (an API key): no line holds it
    my (undef, $pos) = $ngx->error_log;
    my $secret = 'sk_live_t060_Zq8v3SECRET';
    my @st = map { (http_get($ngx->port, '/log/apikey', 'X-Api-Key' => $secret))[0] } 1 .. 3;
    is("@st", '200 429 429', 'apikey: statuses');
    my ($log) = $ngx->error_log($pos);
    my @lines = grep { /limiting requests by zone "apikey"/ } split /\n/, $log;
    is(scalar @lines, 2, 'apikey: a line a rejection');
    unlike($log, qr/Zq8v3SECRET/, 'apikey: the key is nowhere in the error log');
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'no [crit], [alert], [emerg]');
}

$ngx->stop;

# conf/limits.conf as shipped: it loads (with conf/identity-users.conf,
# which defines its own zone, in the same nginx), both zones answer, and
# the response carries one set of RateLimit headers: the strictest zone's
{
    my $conf = "$UsersTest::Root/conf";
    my $ex = nginx_start(
        name        => 't060conf',
        log_level   => 'info',
        http_config => qq{
            users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
            include $conf/limits.conf;
        },
        config => qq{
            users_auth "t060";
            location = /accounts/users {
                users_limit address workspace;
                alias html/ok.txt;
            }
            include $conf/identity-users.conf;
        },
    );
    open my $fh, '>', $ex->root . '/html/ok.txt' or die $!;
    print $fh "ok\n";
    close $fh;
    my ($status, $h) = http_get($ex->port, '/accounts/users',
                                Authorization => "Bearer $Good");
    is($status, 200, 'conf/limits.conf: 200');
    # address (preaccess) has 39 left, workspace (after auth) 299: one set,
    # address's
    is($h->{'ratelimit-policy'}, '"address";q=20;w=1',
       'conf/limits.conf: RateLimit-Policy of the strictest zone only');
    is($h->{ratelimit}, '"address";r=39;t=1',
       'conf/limits.conf: RateLimit of the strictest zone only');
    is(redis_cmd('EXISTS', "users:limit:{workspace}:$Ws"), 1,
       'conf/limits.conf: the workspace is counted in Redis');
    ($status) = http_get($ex->port, '/accounts/users');
    is($status, 401, 'conf/limits.conf: no token: 401');
    my $log = $ex->error_log;
    unlike($log, qr/\[(?:crit|alert|emerg)\]/, 'conf/limits.conf: no [crit]');
    $ex->stop;
}

__DATA__

=== TEST 1: burst then refill to the request: 30r/m (one every 2 s) burst=3, one request every 0.52 s: 3 pass, the 4th (1.56 s) is limited, the 5th (2.08 s) passes, the 6th (2.6 s) is limited
--- request eval
[map { "GET /burst?k=t1" } 1 .. 6]
--- wait: 0.52
--- error_code eval
[200, 200, 200, 429, 200, 429]
--- response_headers eval
["RateLimit-Policy: \"burst\";q=30;w=60\nRateLimit: \"burst\";r=2;t=2\nX-Limit: [PASSED]\n!Retry-After",
 "RateLimit-Policy: \"burst\";q=30;w=60\nRateLimit: \"burst\";r=1;t=4",
 "RateLimit-Policy: \"burst\";q=30;w=60\nRateLimit: \"burst\";r=0;t=5",
 "RateLimit-Policy: \"burst\";q=30;w=60\nRateLimit: \"burst\";r=0;t=5\nRetry-After: 1\nX-Limit: [REJECTED]\nContent-Type: application/json",
 "RateLimit: \"burst\";r=0;t=6\nX-Limit: [PASSED]\n!Retry-After",
 "RateLimit: \"burst\";r=0;t=6\nX-Limit: [REJECTED]"]
--- response_body_like eval
["^ok\n\\z", "^ok\n\\z", "^ok\n\\z", "^" . quotemeta($::R1) . "\\z", "^ok\n\\z",
 '^\{"error":"rate_limited","message":"too many requests; retry in [12] s"\}\z']



=== TEST 2: 1r/m burst=1: the second request waits a minute; Retry-After and the message say 60 s
--- request eval
["GET /strict?k=t2", "GET /strict?k=t2"]
--- error_code eval
[200, 429]
--- response_headers eval
["RateLimit-Policy: \"strict\";q=1;w=60\nRateLimit: \"strict\";r=0;t=60",
 "RateLimit-Policy: \"strict\";q=1;w=60\nRateLimit: \"strict\";r=0;t=60\nRetry-After: 60\nContent-Type: application/json\nX-Limit: [REJECTED]"]
--- response_body eval
["ok\n", ::limited(60)]



=== TEST 3: an empty key is not limited: no headers, no status
--- request eval
[map { "GET /strict" } 1 .. 4]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
[("!RateLimit-Policy\n!RateLimit\n!Retry-After\nX-Limit: []") x 4]
--- no_error_log
limiting requests



=== TEST 4: a location without users_limit: $users_limit_status is empty
--- request
GET /free?k=t8
--- response_headers
X-Limit: []
!RateLimit
!RateLimit-Policy



=== TEST 5: dry run: every request passes, $users_limit_status says what would have been (the log line: below)
--- request eval
["GET /dry?k=t9", "GET /dry?k=t9", "GET /dry?k=t9"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Limit: [PASSED]", "X-Limit: [REJECTED_DRY_RUN]\n!Retry-After", "X-Limit: [REJECTED_DRY_RUN]\n!Retry-After"]
--- response_body eval
["ok\n", "ok\n", "ok\n"]



=== TEST 6: two zones, loose (10r/m) listed first and strict (1r/m): the stricter answers, in its headers, and refuses the second request
--- request eval
["GET /two?k=t11", "GET /two?k=t11"]
--- error_code eval
[200, 429]
--- response_headers eval
["RateLimit-Policy: \"strict\";q=1;w=60\nRateLimit: \"strict\";r=0;t=60",
 "RateLimit-Policy: \"strict\";q=1;w=60\nRateLimit: \"strict\";r=0;t=60\nRetry-After: 60"]
--- response_body eval
["ok\n", ::limited(60)]
--- no_error_log
by zone "loose"



=== TEST 7: two zones: while strict refuses, loose keeps its quota (a rejected request spends no other zone); the loose location alone then has 8 left of 10
--- request eval
["GET /two?k=t12", "GET /two?k=t12", "GET /two?k=t12", "GET /two?k=t12", "GET /loose?k=t12"]
--- error_code eval
[200, 429, 429, 429, 200]
--- response_headers eval
["RateLimit: \"strict\";r=0;t=60", "Retry-After: 60", "Retry-After: 60", "Retry-After: 60",
 "RateLimit-Policy: \"loose\";q=10;w=60\nRateLimit: \"loose\";r=8;t=12"]



=== TEST 8: legacy headers: RateLimit-Limit (the rate's count, like q=), -Remaining, -Reset (seconds until the bucket is full)
--- request eval
["GET /legacy?k=t13", "GET /legacy?k=t13", "GET /legacy?k=t13"]
--- error_code eval
[200, 200, 429]
--- response_headers eval
["RateLimit-Limit: 5\nRateLimit-Remaining: 1\nRateLimit-Reset: 720\n!RateLimit\n!RateLimit-Policy",
 "RateLimit-Limit: 5\nRateLimit-Remaining: 0\nRateLimit-Reset: 1440\n!RateLimit\n!RateLimit-Policy",
 "RateLimit-Limit: 5\nRateLimit-Remaining: 0\nRateLimit-Reset: 1440\nRetry-After: 720\n!RateLimit\n!RateLimit-Policy"]
--- response_body eval
["ok\n", "ok\n", ::limited(720)]



=== TEST 9: users_limit_headers off: no RateLimit headers on the accepted answers; the 429 keeps its Retry-After
--- request eval
["GET /quiet?k=t14", "GET /quiet?k=t14", "GET /quiet?k=t14"]
--- error_code eval
[200, 200, 429]
--- response_headers eval
["!RateLimit\n!RateLimit-Policy\n!RateLimit-Limit\n!Retry-After",
 "!RateLimit\n!RateLimit-Policy\n!RateLimit-Limit\n!Retry-After",
 "Retry-After: 720\n!RateLimit-Limit"]
--- response_body eval
["ok\n", "ok\n", ::limited(720)]



=== TEST 10: each key has its own bucket
--- request eval
["GET /strict?k=t15a", "GET /strict?k=t15b", "GET /strict?k=t15a", "GET /strict?k=t15b"]
--- error_code eval
[200, 200, 429, 429]



=== TEST 11: users_limit in an enclosing location is inherited
--- request eval
["GET /inherit/ok.txt?k=t16", "GET /inherit/ok.txt?k=t16"]
--- error_code eval
[200, 429]



=== TEST 12: a HEAD request is limited too, with headers and no body
--- request eval
["HEAD /strict?k=t17", "HEAD /strict?k=t17"]
--- error_code eval
[200, 429]
--- response_headers eval
["RateLimit: \"strict\";r=0;t=60", "Retry-After: 60"]
--- response_body eval
["", ""]



=== TEST 13: a request is counted once, whatever internal redirects it takes (try_files to a location with the same zone)
--- request eval
["GET /redir?k=t17", "GET /redir?k=t17"]
--- error_code eval
[200, 429]
--- response_headers eval
["RateLimit: \"strict\";r=0;t=60", "Retry-After: 60"]



=== TEST 14: users_limit with an unknown zone
--- http_config eval: $::HttpConfig
--- config
    location = /x { users_limit nosuch; }
--- must_die
--- error_log
unknown users_limit_zone "nosuch" (define it before its use)



=== TEST 15: users_limit_zone without a rate
--- http_config
    users_limit_zone z key=$arg_k;
--- config
--- must_die
--- error_log
"users_limit_zone" must have "key" and "rate"



=== TEST 16: an invalid rate
--- http_config
    users_limit_zone z key=$arg_k rate=10r/d;
--- config
--- must_die
--- error_log
invalid rate "10r/d", it must be like 300r/m (r/s, r/m or r/h, at most 1000000)



=== TEST 17: a zone name defined twice, differently: the error names where the first is
--- http_config
    users_limit_zone z key=$arg_k rate=1r/s;
    users_limit_zone z key=$arg_k rate=2r/s;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*users_limit_zone "z" is already defined differently in \S+nginx\.conf:\d+ in \S+nginx\.conf:\d+$/



=== TEST 18: an unknown parameter
--- http_config
    users_limit_zone z key=$arg_k rate=1r/s on_error=maybe;
--- config
--- must_die
--- error_log
invalid parameter "on_error=maybe"



=== TEST 19: one set of RateLimit headers when zones are decided in both phases: the access phase's zone (post, 1r/m) is stricter than the preaccess one (pre, 10r/m), so its set replaces pre's; its 429 carries only its own
--- request eval
["GET /phases/access-stricter?k=t19", "GET /phases/access-stricter?k=t19"]
--- error_code eval
[200, 429]
--- response_headers eval
["RateLimit-Policy: \"post\";q=1;w=60\nRateLimit: \"post\";r=0;t=60\nX-Limit: [PASSED]\n!Retry-After",
 "RateLimit-Policy: \"post\";q=1;w=60\nRateLimit: \"post\";r=0;t=60\nRetry-After: 60\nX-Limit: [REJECTED]"]
--- response_body eval
["ok\n", ::limited(60)]
--- no_error_log
by zone "pre"



=== TEST 20: one set of headers (legacy) when the preaccess zone (prest, 2 left then 1) is stricter than the access one (postl, 9 left): prest's stays; its 429 comes in preaccess
--- request eval
["GET /phases/pre-stricter?k=t20", "GET /phases/pre-stricter?k=t20", "GET /phases/pre-stricter?k=t20"]
--- error_code eval
[200, 200, 429]
--- response_headers eval
["RateLimit-Limit: 1\nRateLimit-Remaining: 1\nRateLimit-Reset: 60\n!RateLimit\n!RateLimit-Policy",
 "RateLimit-Limit: 1\nRateLimit-Remaining: 0\nRateLimit-Reset: 120",
 "RateLimit-Limit: 1\nRateLimit-Remaining: 0\nRateLimit-Reset: 120\nRetry-After: 60"]
--- response_body eval
["ok\n", "ok\n", ::limited(60)]
--- no_error_log
by zone "postl"



=== TEST 21: an internal redirect to a location with another zone: both count (loose where the request came in, strict where it was redirected), one set of headers (strict's, the stricter); strict then refuses the key directly
--- request eval
["GET /redir-other?k=t21", "GET /strict?k=t21", "GET /loose?k=t21"]
--- error_code eval
[200, 429, 200]
--- response_headers eval
["RateLimit-Policy: \"strict\";q=1;w=60\nRateLimit: \"strict\";r=0;t=60",
 "RateLimit-Policy: \"strict\";q=1;w=60\nRetry-After: 60",
 "RateLimit-Policy: \"loose\";q=10;w=60\nRateLimit: \"loose\";r=8;t=12"]



=== TEST 22: users_limit_zone in server context (as a conf file included in a server block has it), and the same definition again at http level: one zone, counted once
--- http_config
    users_limit_zone twice key=$arg_k rate=1r/m burst=1;
--- config
    users_limit_zone twice key=$arg_k rate=1r/m burst=1;
    users_limit_zone inserver key=$arg_k rate=1r/m burst=1;
    location = /twice { users_limit twice; alias html/ok.txt; }
    location = /inserver { users_limit inserver; alias html/ok.txt; }
--- request eval
["GET /twice?k=t22", "GET /twice?k=t22", "GET /inserver?k=t22", "GET /inserver?k=t22"]
--- error_code eval
[200, 429, 200, 429]
--- response_headers eval
["RateLimit-Policy: \"twice\";q=1;w=60", "Retry-After: 60",
 "RateLimit-Policy: \"inserver\";q=1;w=60", "Retry-After: 60"]



=== TEST 23: a zone in a server block, then the same name at http level with other arguments
--- http_config
    users_limit_zone z key=$arg_k rate=1r/s;
--- config
    users_limit_zone z key=$arg_k rate=1r/s burst=5;
--- must_die
--- error_log eval
qr/\[emerg\] .*users_limit_zone "z" is already defined differently in \S+nginx\.conf:\d+ in \S+nginx\.conf:\d+$/



=== TEST 24: a zone name goes into headers and Redis hash tags: letters, digits, "_" and "-" only
--- http_config
    users_limit_zone "a\"b" key=$arg_k rate=1r/s;
--- config
--- must_die
--- error_log
invalid zone name "a"b" (letters, digits, "_" and "-")
