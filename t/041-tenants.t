# Tenant isolation: the shipped confs (accounts, users-v1, workspace-users,
# project-users, identity-users) behind users_auth at server level, the
# workspace only ever from the token ($users_workspace). Two workspaces with
# the same user, group and project ids; every filter, id, path, scope and
# OData filter that could name the other workspace's data answers from the
# caller's workspace only. Crafted token records whose ws is not a valid
# workspace name (hash tag breakers, empty) are refused or 404, never read.

use Test::Nginx::Socket 'no_plan';
use FindBin;
use lib "$FindBin::Bin/lib";
use UsersTest qw(redis_cmd);
use Digest::SHA qw(sha256_hex);

repeat_each(1);
no_shuffle();
no_long_string();
log_level('info');

# alpha (t041a): users 1..4, groups/projects 1 and 2
# bravo (t041b): users 1..3 and 5, groups/projects 1, 2 and 3
# Every string of alpha says "alpha", every string of bravo "bravo".
my %ids = (t041a => [1, 2, 3, 4], t041b => [1, 2, 3, 5]);
my %word = (t041a => 'alpha', t041b => 'bravo');

for my $ws (sort keys %ids) {
    my $key = "users:{$ws}";
    my $w = $word{$ws};
    redis_cmd('FCALL', 'users_schema', 1, $key,
              'last_name:str,first_name:str,status:str,name:str,'
              . 'created_at:time,id:int', 'status,type',
              'groups:group,projects:project');
    redis_cmd('FCALL', 'users_delete', 1, $key, $_) for 1 .. 9;
    for my $i (@{ $ids{$ws} }) {
        my $g = $ws eq 't041b' && $i == 5 ? '3' : '1,2';
        redis_cmd('FCALL', 'users_upsert', 1, $key, $i,
            name => "$w user $i", email => "$w$i\@$w.example",
            first_name => "$w-first", last_name => "$w-last-$i",
            status => 'active', type => 'user', groups => $g,
            projects => $g, user_type => 'saas_user',
            identifier => "$w-ident-$i",
            created_at => "2023-01-0${i}T00:00:00Z",
            updated_at => "2023-02-0${i}T00:00:00Z",
            created_by => "$w-creator", updated_by => "$w-updater",
            description => "$w description", role => 'ADMIN',
            device_type => 'PSD', legacy_id => $i, legacy_view_all => 1,
            workspace_name => "$w-ws", pub_key => "$w-pk-$i",
            is_suspended => 0, username => "$w-u$i",
            user_status => 'ACTIVE', last_login => '2024-01-01T00:00:00Z');
    }
}

our %Tok = (
    a     => 'uk_t041-alpha-admin',
    b     => 'uk_t041-bravo-admin',
    brace => 'uk_t041-brace',
    open  => 'uk_t041-open-brace',
    tag   => 'uk_t041-tag',
    colon => 'uk_t041-colon',
    space => 'uk_t041-space',
    empty => 'uk_t041-empty',
);

my %ws = (a => 't041a', b => 't041b', brace => 'a}:x',
          open => '{t041b}', tag => 't041a}:u:1:{t041b', colon => 't041b:x',
          space => 't041b ', empty => '');

for my $n (sort keys %Tok) {
    my $key = 'users:token:' . sha256_hex($Tok{$n});
    redis_cmd('DEL', $key);
    redis_cmd('HSET', $key, user => 1, ws => $ws{$n}, role => 'admin',
              perms => 'metadata,view_all', exp => 0);
}

# a key a broken hash tag could reach: it must never be read
redis_cmd('HSET', 'users:{a}:x:u:1', id => 1, name => 'bravo trap');

our $HttpConfig = qq{
    users_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} timeout=2s;
};

my $conf = "$FindBin::Bin/../conf";

sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }

# project-users.conf includes its common part by a relative name
(our $Project = slurp("$conf/project-users.conf"))
    =~ s{include project-users-common\.conf;}
        {include $conf/project-users-common.conf;}g;

our $Config = qq{
    users_auth "t";
    include $conf/accounts.conf;
    include $conf/identity-users.conf;
    $Project
};

our $ConfigV1 = qq{
    users_auth "t";
    include $conf/users-v1.conf;
};

our $ConfigWs = qq{
    users_auth "t";
    include $conf/workspace-users.conf;
};

# [request, status] pairs naming bravo's data, asked with alpha's token
our @Main = (
    ['/accounts/users', 200],
    ['/accounts/users?limit=100&status=active,inactive,invited', 200],
    ['/accounts/users?groups=1,2,3', 200],
    ['/accounts/users?groups=3', 200],
    ['/accounts/users?type=user,guest&ordering=-last_name', 200],
    ['/accounts/users?workspace=t041b&ws=t041b&users_workspace=t041b', 200],
    ['/accounts/users?groups=%7Bt041b%7D', 400],   # not an integer
    ['/api/v1/users', 200],
    ['/api/v1/users?per_page=100&page=1', 200],
    ['/api/v1/users/1', 200],
    ['/api/v1/users/5', 404],
    ['/api/v1/users/%7Bt041b%7D:u:1', 404],
    ['/api/v1/users/1%00', 400],       # nginx refuses a NUL
    ['/api/v1/projects/1/users', 200],
    ['/api/v1/projects/3/users', 404],
    ['/api/v1/projects/3,1/users', 404],
    ['/api/v1/projects/%7Bt041b%7D:m:project:1/users', 404],
    ['/api/v1/projects/*/users', 404],
    ['/identity/v1/users', 200],
    ["/identity/v1/users?filter=id%20eq%20'5'", 200],
    ["/identity/v1/users?filter=username%20eq%20'bravo-u1'", 200],
    ["/identity/v1/users?filter=id%20eq%20'1'%20or%20id%20eq%20'5'", 200],
    ["/identity/v1/users?filter=userStatus%20ne%20'x'&limit=600", 200],
    ["/identity/v1/users?filter=createdAt%20gt%20'2000-01-01T00:00:00'", 200],
);

our @V1 = (
    ['/users', 200],
    ['/users?search=bravo', 200],
    ['/users?search=1', 200],
    ['/users?id=5', 200],
    ['/users?created_by=bravo-creator', 200],
    ['/users?page_size=100&status=active&user_type=saas_user', 200],
    ['/users?created_at_from=2000-01-01T00:00:00Z&sort_by=created_at&sort_order=desc', 200],
);

our @Ws = (
    ['/users', 200],
    ['/users?ids=1&ids=5', 200],
    ['/users?ids[]=5', 200],
    ['/users?ids=5', 200],
    ['/users?role=ADMIN&status=ACTIVE&deviceType=PSD&pageSize=30', 200],
    ['/users?sortBy=createdAt&sortOrder=desc', 200],
);

sub ::reqs  { [map { "GET $_->[0]" } @{ $_[0] }] }
sub ::codes { [map { $_->[1] } @{ $_[0] }] }
sub ::heads { my ($t, $l) = @_; [("Authorization: Bearer $t") x @$l] }
sub ::never { my ($re, $l) = @_; [($re) x @$l] }

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $::Config) unless defined $block->config;
    $block->set_value('no_error_log',
                      [qr/\[(?:error|crit|alert)\]/, sort values %::Tok])
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: alpha's token: no request of the three confs ever shows bravo's data
--- request eval: ::reqs(\@::Main)
--- more_headers eval: ::heads($::Tok{a}, \@::Main)
--- error_code eval: ::codes(\@::Main)
--- response_body_unlike eval: ::never(qr/bravo/, \@::Main)



=== TEST 2: bravo's token, the same requests: never alpha's data
--- request eval: ::reqs(\@::Main)
--- more_headers eval: ::heads($::Tok{b}, \@::Main)
--- error_code eval
[map { $_->[0] =~ m{^/api/v1/(?:users/5|projects/3/users)$} ? 200 : $_->[1] } @::Main]
--- response_body_unlike eval: ::never(qr/alpha/, \@::Main)



=== TEST 3: the lists that match show the caller's own users (not just nothing)
--- request eval
["GET /accounts/users?limit=100", "GET /api/v1/users",
 "GET /identity/v1/users", "GET /api/v1/projects/1/users",
 "GET /accounts/users?groups=3", "GET /api/v1/projects/3/users",
 "GET /api/v1/users/1", "GET /api/v1/users/5"]
--- more_headers eval
[("Authorization: Bearer $::Tok{a}") x 4, ("Authorization: Bearer $::Tok{b}") x 4]
--- response_body_like eval
[qr/^\{"count":4,.*"alpha-last-1".*"alpha-last-4"/,
 qr/"total":4,.*"alpha user 1".*"alpha user 4"/,
 qr/"total":4,.*"alpha-u1".*"alpha-u4"/,
 qr/"total":4,.*"alpha user 1"/,
 qr/^\{"count":1,.*"bravo5\@bravo\.example"/,
 qr/"total":1,.*"bravo user 5"/,
 qr/^\{"id":1,"name":"bravo user 1"/,
 qr/^\{"id":5,"name":"bravo user 5"/]



=== TEST 4: users-v1.conf: alpha's token never sees bravo
--- config eval: $::ConfigV1
--- request eval: ::reqs(\@::V1)
--- more_headers eval: ::heads($::Tok{a}, \@::V1)
--- error_code eval: ::codes(\@::V1)
--- response_body_unlike eval: ::never(qr/bravo/, \@::V1)



=== TEST 5: users-v1.conf: alpha's own users are there; bravo's search term finds none
--- config eval: $::ConfigV1
--- request eval
["GET /users?page_size=100", "GET /users?search=bravo", "GET /users?id=5"]
--- more_headers eval: ::heads($::Tok{a}, [1, 2, 3])
--- response_body_like eval
[qr/^\[.*"alpha user 1".*\]$/s, qr/^\[\]$/, qr/^\[\]$/]



=== TEST 6: workspace-users.conf: alpha's token never sees bravo
--- config eval: $::ConfigWs
--- request eval: ::reqs(\@::Ws)
--- more_headers eval: ::heads($::Tok{a}, \@::Ws)
--- error_code eval: ::codes(\@::Ws)
--- response_body_unlike eval: ::never(qr/bravo/, \@::Ws)



=== TEST 7: workspace-users.conf: ids=1&ids=5 gives alpha's 1 only
--- config eval: $::ConfigWs
--- request
GET /users?ids=1&ids=5
--- more_headers eval
"Authorization: Bearer $::Tok{a}"
--- response_body_like: ^\{"page":1,"next":null,"prev":null,"pageSize":30,"total":1,"results":\[\{"id":"1",.*"workspaceName":"alpha-ws","name":"alpha user 1"



=== TEST 8: a token whose ws breaks the hash tag: 404 on every conf, nothing read
--- request eval
[map { ("GET /accounts/users", "GET /api/v1/users", "GET /api/v1/users/1",
        "GET /api/v1/projects/1/users", "GET /identity/v1/users") }
     qw(brace open tag colon space)]
--- more_headers eval
[map { my $t = $_; ("Authorization: Bearer $t") x 5 }
     @::Tok{qw(brace open tag colon space)}]
--- error_code eval
[(404) x 25]
--- response_body_like eval
[(qr/^\{"error":"not_found","message":"no such (?:workspace|user)"\}$/) x 25]



=== TEST 9: the same on users-v1.conf and workspace-users.conf
--- config eval: $::ConfigV1
--- request eval
[map { "GET /users" } 1 .. 5]
--- more_headers eval
[map { "Authorization: Bearer $_" } @::Tok{qw(brace open tag colon space)}]
--- error_code eval
[(404) x 5]
--- response_body_unlike eval
[(qr/bravo|alpha/) x 5]



=== TEST 10: workspace-users.conf too
--- config eval: $::ConfigWs
--- request eval
[map { "GET /users" } 1 .. 5]
--- more_headers eval
[map { "Authorization: Bearer $_" } @::Tok{qw(brace open tag colon space)}]
--- error_code eval
[(404) x 5]
--- response_body_unlike eval
[(qr/bravo|alpha/) x 5]



=== TEST 11: an empty ws in the record: the token is refused (401)
--- request eval
["GET /accounts/users", "GET /api/v1/users/1"]
--- more_headers eval
[("Authorization: Bearer $::Tok{empty}") x 2]
--- error_code eval
[401, 401]
--- response_body eval
[('{"error":"invalid_token","message":"the token is unknown, revoked or expired"}') x 2]



=== TEST 12: no token: 401 on every shipped location, before any data
--- request eval
["GET /accounts/users", "GET /api/v1/users", "GET /api/v1/users/1",
 "GET /api/v1/projects/1/users", "GET /identity/v1/users"]
--- error_code eval
[(401) x 5]
--- response_body eval
[('{"error":"unauthorized","message":"a bearer token is required"}') x 5]
