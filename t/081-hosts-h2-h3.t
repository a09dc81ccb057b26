# The host of next/previous links over HTTP/2 and HTTP/3 (t/080-hosts.t
# does HTTP/1.x): the :authority is accepted when it is a server_name, with
# the port the client wrote; else the first server_name and the local port.
#
# Plain Test::More (both Test::Nginx runners speak HTTP/1.x only): nginx
# is started with UsersTest::nginx_start. HTTP/2 with curl (cleartext,
# prior knowledge); HTTP/3 with Debian's ngtcp2-client (gtlsclient), only
# where nginx was built --with-http_v3_module (1.25 and later; not Debian
# 12's 1.22). Each part is skipped, saying why, where its client or the
# nginx module is missing.
#
# Needs TEST_NGINX_REDIS_PORT (t/run.sh).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use Test::More;
use UsersTest qw(redis_cmd nginx_start nginx_at_least nginx_built_with
                 h2_get h3_get free_port);

plan skip_all => 'TEST_NGINX_REDIS_PORT is not set'
    unless $ENV{TEST_NGINX_REDIS_PORT};

my $ws = 'users:{t081}';
redis_cmd('FCALL', 'users_schema', 1, $ws, 'id:int', 'status', 'groups:group');
redis_cmd('FCALL', 'users_delete', 1, $ws, $_) for 1 .. 3;
redis_cmd('FCALL', 'users_upsert', 1, $ws, $_, id => $_, status => 'active')
    for 1 .. 3;

my $http_config = "users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;";

my $location = q{
        server_name good.example *.wild.example;
        location = /users {
            users_list;
            users_workspace t081;
            users_pagination offset limit=limit offset=offset default=1
                             max=10;
            users_sort id kind=int default;
            users_envelope next:next_url previous:prev_url results:items;
            users_header Link links;
            users_field id int;
        }
};

sub page2 {
    my $base = shift;
    return qq({"next":"$base/users?offset=2","previous":"$base/users",)
           . q("results":[{"id":2}]});
}

sub link2 {
    my $base = shift;
    return qq(<$base/users?offset=2>; rel="next", <$base/users>; rel="prev");
}

# ($authority, $expected base) for a server on port $p, scheme $s
sub cases {
    my ($s, $p, $default) = @_;
    return (["good.example:$p", "$s://good.example:$p"],
            ['good.example', "$s://good.example"],
            ["good.example:$default", "$s://good.example"],
            ["a.wild.example:$p", "$s://a.wild.example:$p"],
            ["evil.example:$p", "$s://localhost:$p"],
            ['evil.example', "$s://localhost:$p"]);
}

sub check {
    my ($proto, $get, $port, $s, $default) = @_;
    for my $c (cases($s, $port, $default)) {
        my ($auth, $base) = @$c;
        my ($status, $h, $body) = $get->($port, "$s://$auth/users?offset=1");
        if (!defined $status) {
            fail("$proto $auth: $UsersTest::HttpError");
            next;
        }
        is($status, 200, "$proto :authority $auth: 200");
        is($body, page2($base), "$proto :authority $auth: links to $base");
        is($h->{link}, link2($base), "$proto :authority $auth: Link header");
    }
}

# ------------------------------------------------------------------ HTTP/2

SKIP: {
    skip 'nginx without http_v2_module', 19
        unless nginx_built_with('http_v2_module');
    skip 'curl without HTTP/2', 19
        unless `curl --version 2>/dev/null` =~ /^Features:.*\bHTTP2\b/m;

    # "http2 on" from 1.25.1; before, a listen parameter (h2c only)
    my $new = nginx_at_least('1.25.1');
    my $ngx = nginx_start(name => 'h2', http_config => $http_config,
                          listen => $new ? '' : ' http2',
                          config => ($new ? "http2 on;\n" : '') . $location);

    check('HTTP/2', \&h2_get, $ngx->port, 'http', 80);

    unlike($ngx->error_log, qr/\[(?:error|alert|crit|emerg)\]/,
           'HTTP/2: nothing worse than [warn] logged');
    $ngx->stop;
}

# ------------------------------------------------------------------ HTTP/3

SKIP: {
    skip 'nginx without http_v3_module (1.25 and later)', 19
        unless nginx_built_with('http_v3_module');
    skip 'no HTTP/3 client (apt-get install ngtcp2-client)', 19
        unless grep { -x "$_/gtlsclient" } split /:/, $ENV{PATH};

    my $dir = tempdir(CLEANUP => 1);
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
           . " -nodes -keyout $dir/k.pem -out $dir/c.pem -days 2"
           . " -subj /CN=localhost >/dev/null 2>&1") == 0
        or skip 'openssl cannot make a certificate', 19;

    my $port = free_port();
    my $ngx = nginx_start(name => 'h3', port => $port, listen => ' ssl',
                          http_config => $http_config,
                          config => "listen 127.0.0.1:$port quic;\n"
                                    . "ssl_certificate $dir/c.pem;\n"
                                    . "ssl_certificate_key $dir/k.pem;\n"
                                    . $location);

    check('HTTP/3', \&h3_get, $port, 'https', 443);

    unlike($ngx->error_log, qr/\[(?:error|alert|crit|emerg)\]/,
           'HTTP/3: nothing worse than [warn] logged');
    $ngx->stop;
}

done_testing();
