# Rate limits in subrequests (auth_request, SSI include, mirror): nginx
# runs no access phase for a subrequest and the module used to skip them,
# so users_limit in a location reached by one did nothing. Now a zone
# keyed by anything but the caller is decided in the subrequest's
# preaccess phase, a zone keyed by the caller ($users_...) in its
# precontent phase, after users_auth. A main request, its redirects and
# its subrequests are counted once per zone: a subrequest to a location
# whose zones the main request has paid is not charged again.
#
# A subrequest refused answers 429; what the client sees is what the
# module running the subrequest makes of it: an SSI include shows the 429
# body, auth_request turns any status but 2xx, 401 and 403 into a 500
# (as with limit_req's 503).
#
# Every block has its own key. repeat_each(1): a second run would find its
# bucket spent.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(nginx_start http_get);

repeat_each(1);
no_shuffle();
no_long_string();
log_level('info');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;

    users_limit_zone gate   key=\$http_x_key rate=1r/m burst=1;
    users_limit_zone gatea  key=\$users_workspace\$http_x_key rate=1r/m burst=1;
    users_limit_zone inc    key=\$arg_k rate=1r/m burst=1;
    users_limit_zone page   key=\$arg_k rate=1r/m burst=1;
    users_limit_zone mir    key=\$http_x_key rate=1r/m burst=1;
};

our $Config = q{
    add_header X-Limit "[$users_limit_status]" always;

    # auth_request: the gate's own limit, preaccess (gate) or after
    # users_auth (gatea: keyed by a $users_ variable)
    location = /gated {
        auth_request /_gate;
        alias html/ok.txt;
    }
    location = /_gate {
        internal;
        users_limit gate;
        alias html/ok.txt;
    }
    location = /gated-a {
        auth_request /_gate-a;
        alias html/ok.txt;
    }
    location = /_gate-a {
        internal;
        users_limit gatea;
        alias html/ok.txt;
    }
    # the main request pays gate; its gate subrequest does not again
    location = /gated-both {
        users_limit gate;
        auth_request /_gate;
        alias html/ok.txt;
    }

    # SSI: a page including a limited location twice
    location = /page {
        ssi on;
        ssi_types text/plain;
        alias html/page.txt;
    }
    location = /inc {
        users_limit inc;
        alias html/inc.txt;
    }
    # a limited page including a location of the same zone
    location = /page-paid {
        users_limit page;
        ssi on;
        ssi_types text/plain;
        alias html/page-paid.txt;
    }
    location = /inc-paid {
        users_limit page;
        alias html/inc.txt;
    }

    # mirror: the mirrored copy is limited too
    location = /mirrored {
        mirror /_mirror;
        alias html/ok.txt;
    }
    location = /_mirror {
        internal;
        users_limit mir;
        alias html/ok.txt;
    }
    location = /mir-direct {
        users_limit mir;
        alias html/ok.txt;
    }
};

our $Files = <<'_EOF_';
>>> ok.txt
ok
>>> inc.txt
inc
>>> page.txt
A<!--# include virtual="/inc?k=$arg_k" -->B<!--# include virtual="/inc?k=$arg_k" -->C
>>> page-paid.txt
A<!--# include virtual="/inc-paid?k=$arg_k" -->B
_EOF_

our $Limited = '{"error":"rate_limited","message":"too many requests; retry in 60 s"}';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $::Config) unless defined $block->config;
    $block->set_value('user_files', $::Files)
        unless defined $block->user_files;
    $block->set_value('no_error_log', [qr/\[(?:crit|alert|emerg)\]/])
        unless defined $block->no_error_log;
});

run_tests();

# ----------------------------------------------------------------------
# The log lines of refusals in subrequests (plain Test::More: the blocks
# above check the answers): the zone, the main request, the subrequest;
# auth_request's own line for the status it did not expect.

{
    my $ngx = nginx_start(name => 't064', http_config => $::HttpConfig,
                          config => $::Config, log_level => 'info');
    my @files = $::Files =~ /^>>> (\S+)\n(.*?)(?=^>>> |\z)/msg;
    while (my ($name, $text) = splice @files, 0, 2) {
        open my $fh, '>', $ngx->root . "/html/$name" or die $!;
        print $fh $text;
    }

    my @st = map { (http_get($ngx->port, '/gated', 'X-Key' => 'log1'))[0] }
             1 .. 2;
    push @st, map { (http_get($ngx->port, '/gated-a', 'X-Key' => 'log2'))[0] }
              1 .. 2;
    push @st, map { (http_get($ngx->port, '/page?k=log3'))[0] } 1 .. 2;
    is("@st", '200 500 200 500 200 200', 'log: statuses');

    my @lines = grep { /limiting requests|auth request/ }
                split /\n/, $ngx->error_log;
    my $ctx = 'client: 127\.0\.0\.1, server: localhost';
    is(scalar @lines, 6, 'log: six lines') or diag(join "\n", @lines);
    like($lines[0] // '', qr/\[error\] \d+#\d+: \*\d+ limiting requests by zone "gate", $ctx, request: "GET \/gated HTTP\/1\.1", subrequest: "\/_gate", host: "localhost"$/,
         'log: the gate refused in the auth_request subrequest');
    like($lines[1] // '', qr/\[error\] \d+#\d+: \*\d+ auth request unexpected status: 429, $ctx, request: "GET \/gated HTTP\/1\.1", host: "localhost"$/,
         'log: auth_request makes it a 500');
    like($lines[2] // '', qr/limiting requests by zone "gatea", $ctx, request: "GET \/gated-a HTTP\/1\.1", subrequest: "\/_gate-a", host: "localhost"$/,
         'log: the zone keyed by the caller, in the subrequest');
    like($lines[4] // '', qr/limiting requests by zone "inc", $ctx, request: "GET \/page\?k=log3 HTTP\/1\.1", subrequest: "\/inc", host: "localhost"$/,
         'log: the SSI include refused');
    like($lines[5] // '', qr/limiting requests by zone "inc", .*subrequest: "\/inc"/,
         'log: ... both includes of the page');
    unlike($ngx->error_log, qr/\[(?:crit|alert|emerg)\]/, 'log: no [crit]');
    $ngx->stop;
}

__DATA__

=== TEST 1: auth_request to a location with users_limit: the gate's zone counts; the second request is refused in the subrequest (429, which auth_request makes a 500); the main request's $users_limit_status says REJECTED
--- request eval
["GET /gated", "GET /gated"]
--- more_headers
X-Key: t1
--- error_code eval
[200, 500]
--- response_headers eval
["X-Limit: [PASSED]\nRateLimit-Policy: \"gate\";q=1;w=60\nRateLimit: \"gate\";r=0;t=60",
 "X-Limit: [REJECTED]\n!RateLimit"]
--- response_body_like eval
["^ok\n\\z", "500 Internal Server Error"]



=== TEST 2: auth_request to a location with a zone keyed by the caller ($users_...): decided in the subrequest's precontent phase (nginx runs no access phase for it)
--- request eval
["GET /gated-a", "GET /gated-a"]
--- more_headers
X-Key: t2
--- error_code eval
[200, 500]
--- response_headers eval
["X-Limit: [PASSED]\nRateLimit-Policy: \"gatea\";q=1;w=60", "X-Limit: [REJECTED]"]



=== TEST 3: the main request pays gate, its auth_request subrequest to a location of the same zone is not charged again: the first passes, the second is refused by the main request itself (429, not auth_request's 500)
--- request eval
["GET /gated-both", "GET /gated-both"]
--- more_headers
X-Key: t3
--- error_code eval
[200, 429]
--- response_headers eval
["X-Limit: [PASSED]\nRateLimit: \"gate\";r=0;t=60", "X-Limit: [REJECTED]\nRetry-After: 60"]
--- response_body eval
["ok\n", $::Limited]



=== TEST 4: SSI: a page including a limited location twice: one main request pays the zone once (both includes shown); the next page's includes are refused, each with the 429 body
--- request eval
["GET /page?k=t4", "GET /page?k=t4"]
--- error_code eval
[200, 200]
--- response_body eval
["Ainc\nBinc\nC\n", "A" . $::Limited . "B" . $::Limited . "C\n"]



=== TEST 5: SSI: a limited page (page zone, 1r/m) including a location of the same zone: the include is not charged again
--- request eval
["GET /page-paid?k=t5", "GET /page-paid?k=t5"]
--- error_code eval
[200, 429]
--- response_body eval
["Ainc\nB\n", $::Limited]



=== TEST 6: mirror: the mirrored subrequest is limited, it spends the key's quota (a direct request after it is refused)
--- request eval
["GET /mirrored", "GET /mir-direct"]
--- more_headers
X-Key: t6
--- error_code eval
[200, 429]
--- response_headers eval
["!RateLimit-Policy", "RateLimit-Policy: \"mir\";q=1;w=60\nRetry-After: 60"]
