# Self-test of the Test::Nginx runner, against plain nginx features only (no
# module needed).  Must pass under the project's runner (t/lib) and under the
# real openresty/test-nginx:
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -I t/lib t/000-runner.t
#   TEST_NGINX_BINARY=/usr/sbin/nginx PERL5LIB=/path/to/test-nginx/lib prove t/000-runner.t

# Plain nginx only: do not load the module even when t/run.sh asks for it
# (this must run before Test::Nginx reads its environment).
BEGIN { delete $ENV{TEST_NGINX_LOAD_MODULES} }

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
no_long_string();

$ENV{TEST_NGINX_RUNNER_GREETING} = 'hi there';

our $HttpConfig = q{
    map $http_x_mode $mode_name {
        default  "plain";
        fancy    "FANCY";
    }
};

run_tests();

__DATA__

=== TEST 1: return with body, headers present and absent
--- config
    location = /t {
        add_header X-Runner yes;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Runner: yes
Content-Type: text/plain
!X-Missing
--- response_body
hello
--- no_error_log
[error]
[warn]



=== TEST 2: several requests in one block, with eval arrays
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 201 "b\n"; }
--- request eval
["GET /a", "GET /b", "GET /nowhere"]
--- error_code eval
[200, 201, 404]
--- response_body eval
["a\n", "b\n", qr/404 Not Found/]



=== TEST 3: user_files served by the default location /
--- config
--- user_files
>>> hello.txt
file content
>>> sub/dir/other.html
<p>other</p>
--- request
GET /hello.txt
--- response_body
file content
--- response_headers
Content-Length: 13



=== TEST 4: the default index.html of the server root
--- config
--- request
GET /
--- response_body_like: It works!



=== TEST 5: nginx must refuse an unknown directive
--- config
    location = /t {
        bogus_directive_for_runner_test on;
    }
--- must_die
--- error_log
unknown directive "bogus_directive_for_runner_test"
[emerg]



=== TEST 6: a missing file is logged (log_not_found)
--- config
    location /missing/ {
        log_not_found on;
    }
--- request
GET /missing/nope.html
--- error_code: 404
--- error_log
/missing/nope.html" failed (2: No such file or directory)
--- response_body_like chomp
404 Not Found



=== TEST 7: return 403 logs no error
--- config
    location = /forbidden { return 403; }
--- request
GET /forbidden
--- error_code: 403
--- response_body_like: 403 Forbidden
--- no_error_log eval
[qr/\[error\]/, "open() "]



=== TEST 8: raw request with a bad request line gets 400
--- config
    location = /t { return 200 "ok\n"; }
--- raw_request eval
"GARBAGE\x01 / HTTP/1.1\r\nHost: localhost\r\n\r\n"
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log
client sent invalid method



=== TEST 9: pipelined requests on one keep-alive connection
--- config
    location = /one { return 200 "one\n"; }
    location = /two { return 202 "two\n"; }
--- pipelined_requests eval
["GET /one", "GET /two"]
--- error_code eval
[200, 202]
--- response_body eval
["one\n", "two\n"]



=== TEST 10: more_headers reach nginx; http_config from a shared variable
--- http_config eval: $::HttpConfig
--- config
    location = /t {
        return 200 "ua=$http_user_agent mode=$mode_name host=$host conn=$http_connection\n";
    }
--- request
GET /t
--- more_headers
User-Agent: runner-test
X-Mode: fancy
--- response_body
ua=runner-test mode=FANCY host=localhost conn=close



=== TEST 11: request body gets a Content-Length
--- config
    location = /post {
        return 200 "len=$http_content_length method=$request_method\n";
    }
--- request
POST /post
hello world
--- response_body
len=11 method=POST



=== TEST 12: TEST_NGINX_ variables are substituted in config and body
--- main_config
    worker_rlimit_nofile 1024;
--- config
    location = /env {
        return 200 "port=$TEST_NGINX_SERVER_PORT greeting=$TEST_NGINX_RUNNER_GREETING\n";
    }
--- request
GET /env
--- response_body
port=$TEST_NGINX_SERVER_PORT greeting=hi there
--- timeout: 5



=== TEST 13: chunked responses are decoded (ssi output has no length)
--- config
    location /ssi/ {
        ssi on;
        ssi_types text/plain;
    }
--- user_files
>>> ssi/page.txt
before <!--# echo var="request_method" --> after
--- request
GET /ssi/page.txt
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_headers_like
Transfer-Encoding: chunk.*
--- response_body
before GET after



=== TEST 14: regexes on headers and body, body_unlike
--- config
    location = /t {
        add_header X-Number 12345;
        return 200 "some text without the word\n";
    }
--- request
GET /t
--- response_headers_like
X-Number: \d+
--- response_body_unlike
secret



=== TEST 15: HEAD request has no body
--- config
    location = /t { return 200 "hello\n"; }
--- request
HEAD /t
--- response_body chomp
--- response_headers
Content-Length: 6
