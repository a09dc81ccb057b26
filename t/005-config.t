# Configuration: what `nginx` accepts at start-up and what it refuses, with
# the exact message and, where the module has it, the file:line.
#
# The location under test lives in html/users.conf (user_files), included
# by its absolute path, so that a message's file:line is the same under
# the project's runner and the real Test::Nginx.  users_redis errors are in
# the generated nginx.conf, whose line numbers differ between the runners:
# those are matched with a regex on the file name.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);

no_shuffle();
no_long_string();

# the workspace of the sanity blocks: empty
redis_cmd('FCALL', 'users_delete', 1, 'users:{t005}', $_) for 1 .. 3;

our $Redis = "users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT};";
our $Include = 'include $TEST_NGINX_SERVER_ROOT/html/users.conf;';

# html/users.conf: "location = /u {" on line 1, then one directive a line,
# so the Nth directive given is on line N + 1.
sub loc {
    return ">>> users.conf\nlocation = /u {\n"
           . join('', map { "    $_\n" } @_) . "}\n";
}

# the minimal valid location, directives on lines 2 to 5
our @Base = ('users_list;', 'users_workspace t005;', 'users_field id int;',
             'users_field email string;');

sub at { my $line = shift; "in $ENV{TEST_NGINX_SERVER_ROOT}/html/users.conf:$line" }

# the whole line: "[emerg] PID#TID: TEXT" and nothing after it
sub emerg { my $text = shift; $text =~ s/^ //; qr/\[emerg\] \d+#\d+: \Q$text\E$/ }

our $Empty = '{"count":0,"next":null,"previous":null,"results":[]}';

run_tests();

__DATA__

=== TEST 1: sanity: every users_redis option at once, and a full location
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} db=0 connections=8 "
. "connect_timeout=500ms timeout=2s;"
--- config eval: $::Include
--- user_files eval
::loc(@::Base,
      'users_field invite object nullable;',
      'users_field invite.id string source=invite_id;',
      'users_pagination page size=per_page page=p default=5 max=50 sizes=5,10,50;',
      'users_sort email desc;',
      'users_envelope total:total page:page data:items;')
--- request
GET /u
--- response_headers
Content-Type: application/json
--- response_body chomp
{"total":0,"page":1,"data":[]}
--- no_error_log
[error]
[emerg]



=== TEST 2: sanity: the defaults (envelope, paging, sort) with the minimal location
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- request
GET /u
--- response_body eval: $::Empty
--- no_error_log
[error]



=== TEST 3: sanity: a hostname is resolved at start-up
--- http_config eval
"users_redis localhost:$ENV{TEST_NGINX_REDIS_PORT};"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- request
GET /u
--- response_body eval: $::Empty
--- no_error_log
[error]



=== TEST 4: unknown field type
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_field name strnig;')
--- must_die
--- error_log eval
::emerg(' unknown field type "strnig", it must be string, int, number, bool, timestamp, object, int_list or string_list ' . ::at(6))



=== TEST 5: users_redis: a timeout that is not a time; the option is named, not echoed
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=soon;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "timeout=" in \S+/conf/nginx\.conf:\d+$}
--- no_error_log
soon



=== TEST 6: users_redis: a zero timeout
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=0;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "timeout=" in \S+/conf/nginx\.conf:\d+$}



=== TEST 7: users_redis: a bad connect_timeout
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} connect_timeout=1x;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "connect_timeout=" in \S+/conf/nginx\.conf:\d+$}



=== TEST 8: users_redis: connections=0
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} connections=0;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "connections" must be from 1 to 64 in "connections=0" in \S+/conf/nginx\.conf:\d+$}



=== TEST 9: users_redis: connections=65
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} connections=65;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "connections" must be from 1 to 64 in "connections=65" in \S+/conf/nginx\.conf:\d+$}



=== TEST 10: users_redis: a bad db
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} db=three;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "db=" in \S+/conf/nginx\.conf:\d+$}
--- no_error_log
three



=== TEST 11: users_redis: an unknown option never echoes its value (it may be a secret)
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} passwd=hunter2;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "passwd=" in \S+/conf/nginx\.conf:\d+$}
--- no_error_log
hunter2



=== TEST 12: users_redis: an option without "="
--- http_config eval
"users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} fast;"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "fast" in \S+/conf/nginx\.conf:\d+$}



=== TEST 13: users_redis: a bad port
--- http_config
users_redis 127.0.0.1:99999;
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid redis address "127\.0\.0\.1:99999": invalid port in \S+/conf/nginx\.conf:\d+$}



=== TEST 14: users_redis twice
--- http_config eval
"$::Redis\n    $::Redis"
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "users_redis" directive is duplicate in \S+/conf/nginx\.conf:\d+$}



=== TEST 15: users_redis outside http{}
--- http_config eval: $::Redis
--- config eval
"$::Include\n    location = /r { $::Redis }"
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "users_redis" directive is not allowed here in \S+/conf/nginx\.conf:\d+$}



=== TEST 16: users_list without users_redis: names where users_list is
--- config eval: $::Include
--- user_files eval: ::loc(@::Base)
--- must_die
--- error_log eval
::emerg(qq{ "users_list" in $ENV{TEST_NGINX_SERVER_ROOT}/html/users.conf:2 requires "users_redis" in the http block})



=== TEST 17: users_redis without any users_list is fine (nothing to serve)
--- http_config eval: $::Redis
--- config
    location = /s { return 200 "static\n"; }
--- request
GET /s
--- response_body
static
--- no_error_log
[error]
[emerg]



=== TEST 18: users_list without users_workspace
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc('users_list;', 'users_field id int;')
--- must_die
--- error_log eval
::emerg(qq{ "users_list" in $ENV{TEST_NGINX_SERVER_ROOT}/html/users.conf:2 requires "users_workspace"})



=== TEST 19: users_list without users_field
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc('users_list;', 'users_workspace t005;')
--- must_die
--- error_log eval
::emerg(qq{ "users_list" in $ENV{TEST_NGINX_SERVER_ROOT}/html/users.conf:2 requires "users_field"})



=== TEST 20: a member before its object
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval
::loc(@::Base, 'users_field invite.id string;', 'users_field invite object;')
--- must_die
--- error_log eval
::emerg(' field "invite.id" needs "users_field invite object" before it ' . ::at(6))



=== TEST 21: a member of a field that is not an object
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval
::loc(@::Base, 'users_field invite string;', 'users_field invite.id string;')
--- must_die
--- error_log eval
::emerg(' field "invite.id" needs "users_field invite object" before it ' . ::at(7))



=== TEST 22: the same field twice
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_field email string nullable;')
--- must_die
--- error_log eval
::emerg(' "users_field" directive is duplicate ' . ::at(6))



=== TEST 23: a field name that is not a name
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_field invite..id string;')
--- must_die
--- error_log eval
::emerg(' invalid field name "invite..id" ' . ::at(6))



=== TEST 24: an unknown field option
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_field name string optional;')
--- must_die
--- error_log eval
::emerg(' invalid parameter "optional" ' . ::at(6))



=== TEST 25: an envelope member of an unknown kind
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_envelope count:totl results:items;')
--- must_die
--- error_log eval
::emerg(' invalid envelope member "count:totl", it must be "name:kind" with a kind of items, total, count, offset, limit, page, page_size, next_url, prev_url, next_page, prev_page or last_page ' . ::at(6))



=== TEST 26: an envelope member without a name
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_envelope :total results:items;')
--- must_die
--- error_log eval
::emerg(' invalid envelope member ":total", it must be "name:kind" with a kind of ' . 'items, total, count, offset, limit, page, page_size, next_url, prev_url, next_page, prev_page or last_page ' . ::at(6))



=== TEST 27: an envelope without items
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_envelope count:total next:next_url;')
--- must_die
--- error_log eval
::emerg(' the envelope must hold "items" exactly once ' . ::at(6))



=== TEST 28: an envelope with items twice
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_envelope a:items b:items;')
--- must_die
--- error_log eval
::emerg(' the envelope must hold "items" exactly once ' . ::at(6))



=== TEST 29: a pagination style that does not exist
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_pagination cursor;')
--- must_die
--- error_log eval
::emerg(' invalid pagination style "cursor", it must be "offset" or "page" ' . ::at(6))



=== TEST 30: a default page size above the maximum
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_pagination offset default=50 max=10;')
--- must_die
--- error_log eval
::emerg(' "default" must be from 1 to "max" (10) ' . ::at(6))



=== TEST 31: a default page size above the largest of sizes=
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_pagination page sizes=10,25 default=30;')
--- must_die
--- error_log eval
::emerg(' "default" must be from 1 to "max" (25) ' . ::at(6))



=== TEST 32: a page size of zero in sizes=
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_pagination page sizes=10,0;')
--- must_die
--- error_log eval
::emerg(' invalid page size in "sizes=10,0" ' . ::at(6))



=== TEST 33: a pagination option that is not a number
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_pagination offset max=lots;')
--- must_die
--- error_log eval
::emerg(' invalid parameter "max=lots" ' . ::at(6))



=== TEST 34: users_sort with an option it does not know
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_sort last_name up;')
--- must_die
--- error_log eval
::emerg(' invalid parameter "up" ' . ::at(6))



=== TEST 35: users_sort on a name that is not a name
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_sort last:name;')
--- must_die
--- error_log eval
::emerg(' invalid sort name "last:name" ' . ::at(6))



=== TEST 36: users_list twice in one location
--- http_config eval: $::Redis
--- config eval: $::Include
--- user_files eval: ::loc(@::Base, 'users_list;')
--- must_die
--- error_log eval
::emerg(' "users_list" directive is duplicate ' . ::at(6))
