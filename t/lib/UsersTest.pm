package UsersTest;

# Helpers shared by the project's test suites.  Core Perl only.
#
# In a Test::Nginx file, load it AFTER Test::Nginx::Socket so that the real
# Test::Nginx (when installed) is the one picked up:
#
#   use Test::Nginx::Socket 'no_plan';
#   use FindBin; use lib "$FindBin::Bin/lib";
#   use UsersTest qw(redis_cmd);
#   BEGIN { ... } / or plain code before run_tests(): redis_cmd('FLUSHALL'); ...
#
# See the POD at the end for each function.

use strict;
use warnings;
use v5.10.1;

use Exporter 'import';
use IO::Socket::INET ();
use IO::Select ();
use POSIX qw(WNOHANG EAGAIN EINTR);
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use Cwd ();
use Scalar::Util ();

our @EXPORT_OK = qw(redis_cmd redis_cmd_port redis_start free_port
                    nginx_start nginx_stop http_get http_request wait_port
                    nginx_version nginx_at_least nginx_built_with
                    h2_get h3_get);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $Timeout = 5;         # seconds, for Redis replies and HTTP requests
our $HttpError;           # why the last http_get/http_request failed
our @Live;                # weak refs to started redis/nginx objects

# The repository root: t/lib/UsersTest.pm -> ../..
our $Root = Cwd::abs_path(File::Spec->catdir(
    (File::Spec->splitpath(File::Spec->rel2abs(__FILE__)))[1], '..', '..'));

# ------------------------------------------------------------------ ports

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "free_port: cannot bind a loopback socket: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# wait_port($port, $seconds): true once something accepts on 127.0.0.1:$port
sub wait_port {
    my ($port, $secs) = @_;
    my $deadline = time + ($secs // $Timeout);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp', Timeout => 1);
        if ($s) { close $s; return 1 }
        sleep 0.02;
    }
    return 0;
}

# ------------------------------------------------------------------ Redis

sub _resp_encode {
    my $out = '*' . scalar(@_) . "\r\n";
    for my $a (@_) {
        my $v = defined $a ? "$a" : '';
        utf8::encode($v) if utf8::is_utf8($v);
        $out .= '$' . length($v) . "\r\n$v\r\n";
    }
    return $out;
}

# Reads exactly what is needed from a blocking socket, with a timeout.
sub _fill {
    my ($sock, $buf, $need) = @_;
    my $sel = IO::Select->new($sock);
    while (length($$buf) < $need) {
        $sel->can_read($Timeout) or die "redis: timeout waiting for a reply\n";
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        next if !defined $n && ($! == EINTR || $! == EAGAIN);
        die "redis: read error: $!\n" unless defined $n;
        die "redis: connection closed by server\n" if $n == 0;
    }
}

sub _read_line {
    my ($sock, $buf) = @_;
    while ((my $i = index($$buf, "\r\n")) < 0) {
        _fill($sock, $buf, length($$buf) + 1);
    }
    my $i = index($$buf, "\r\n");
    my $line = substr($$buf, 0, $i);
    substr($$buf, 0, $i + 2, '');
    return $line;
}

sub _read_reply {
    my ($sock, $buf) = @_;
    my $line = _read_line($sock, $buf);
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+';
    die "$rest\n" if $t eq '-';
    return 0 + $rest if $t eq ':';
    if ($t eq '$') {
        return undef if $rest < 0;
        _fill($sock, $buf, $rest + 2);
        my $v = substr($$buf, 0, $rest);
        substr($$buf, 0, $rest + 2, '');
        return $v;
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [ map { _read_reply($sock, $buf) } 1 .. $rest ];
    }
    die "redis: unexpected reply type '$t'\n";
}

# A Redis Cluster node's MOVED and ASK are followed (at most 5 times), so
# the same calls work against one Redis and a cluster.  $port may be a
# cluster spec as t/090 passes TEST_NGINX_REDIS_PORT ("7000 127.0.0.1:7001
# ... cluster"): its first port is used.
sub redis_cmd_port {
    my ($port, @args) = @_;
    die "redis_cmd: no port (TEST_NGINX_REDIS_PORT unset?)\n" unless $port;
    ($port) = "$port" =~ /^(\d+)/ or die "redis_cmd: bad port \"$port\"\n";
    my ($host, $asking) = ('127.0.0.1', 0);
    for my $try (1 .. 5) {
        my $reply = eval { _redis_exchange($host, $port, $asking, @args) };
        return $reply unless $@;
        die $@ unless $@ =~ /^(MOVED|ASK) \d+ (\S+):(\d+)$/;
        ($asking, $host, $port) = ($1 eq 'ASK', $2, $3);
    }
    die "redis_cmd: too many redirections\n";
}

sub _redis_exchange {
    my ($host, $port, $asking, @args) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => $Timeout)
        or die "redis_cmd: cannot connect to $host:$port: $!\n";
    my $req = ($asking ? _resp_encode('ASKING') : '') . _resp_encode(@args);
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($sock, $req, length($req) - $off, $off);
        die "redis_cmd: write error: $!\n" unless defined $n;
        $off += $n;
    }
    my $buf = '';
    _read_reply($sock, \$buf) if $asking;
    my $reply = _read_reply($sock, \$buf);
    close $sock;
    return $reply;
}

sub redis_cmd { redis_cmd_port($ENV{TEST_NGINX_REDIS_PORT}, @_) }

# ----------------------------------------------------- private redis-server

sub redis_start {
    my (%o) = @_;
    my $self = bless {
        port      => $o{port} // free_port(),
        bin       => $o{bin} // $ENV{TEST_REDIS_SERVER} // '/usr/bin/redis-server',
        args      => $o{args} // [],
        functions => exists $o{functions} ? $o{functions} : "$Root/redis/users.lua",
        config    => $o{config},
    }, 'UsersTest::Redis';
    $self->{dir} = $o{dir} // "$Root/build/test-redis/extra-$self->{port}";
    $self->start;
    push @Live, $self;
    Scalar::Util::weaken($Live[-1]);
    return $self;
}

# whatever is still running when the test file ends (die, exit, signal
# handler calling exit) is stopped
END {
    local ($?, $@);
    for my $obj (grep { defined } @Live) { eval { $obj->stop } }
}

package UsersTest::Redis {
    use POSIX qw(WNOHANG);
    use Time::HiRes qw(time sleep);

    sub port { $_[0]{port} }
    sub pid  { $_[0]{pid} }
    sub cmd  { my $self = shift; UsersTest::redis_cmd_port($self->{port}, @_) }

    sub start {
        my $self = shift;
        File::Path::make_path($self->{dir});
        my @cmd = ($self->{bin}, ($self->{config} ? $self->{config} : ()),
                   '--port', $self->{port}, '--bind', '127.0.0.1',
                   '--save', '', '--appendonly', 'no', '--dir', $self->{dir},
                   '--daemonize', 'no', @{ $self->{args} });
        my $pid = fork // die "redis_start: fork: $!\n";
        if ($pid == 0) {
            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', "$self->{dir}/redis.log";
            open STDERR, '>&', \*STDOUT;
            exec @cmd or POSIX::_exit(127);
        }
        $self->{pid} = $pid;
        my $deadline = time + 5;
        while (time < $deadline) {
            my $pong = eval { $self->cmd('PING') };
            last if defined $pong && $pong eq 'PONG';
            if (waitpid($pid, WNOHANG) == $pid) {
                delete $self->{pid};
                die "redis_start: redis-server exited; see $self->{dir}/redis.log\n";
            }
            sleep 0.02;
        }
        my $pong = eval { $self->cmd('PING') } // '';
        die "redis_start: no PONG from port $self->{port}\n" unless $pong eq 'PONG';
        if ($self->{functions} && -f $self->{functions}) {
            open my $fh, '<', $self->{functions} or die "$self->{functions}: $!\n";
            my $code = do { local $/; <$fh> };
            $self->cmd('FUNCTION', 'LOAD', 'REPLACE', $code);
        }
        return $self;
    }

    # SIGTERM and wait (up to 5 s, then SIGKILL)
    sub stop {
        my $self = shift;
        my $pid = delete $self->{pid} or return;
        kill 'CONT', $pid;
        kill 'TERM', $pid;
        my $deadline = time + 5;
        while (time < $deadline) {
            return 1 if waitpid($pid, WNOHANG) == $pid;
            sleep 0.02;
        }
        kill 'KILL', $pid;
        waitpid($pid, 0);
        return 1;
    }

    # SIGKILL (a crash: no clean shutdown)
    sub kill {
        my $self = shift;
        my $pid = delete $self->{pid} or return;
        CORE::kill('KILL', $pid);
        waitpid($pid, 0);
        return 1;
    }

    sub pause  { my $s = shift; CORE::kill('STOP', $s->{pid}) if $s->{pid}; $s }
    sub resume { my $s = shift; CORE::kill('CONT', $s->{pid}) if $s->{pid}; $s }

    # same port, same dir; data is gone (no persistence), functions reloaded
    sub restart { my $s = shift; $s->stop; $s->start }

    sub DESTROY { local ($?, $@); $_[0]->stop if $_[0]{pid} }
}

# ---------------------------------------------------------- nginx version

# What `$TEST_NGINX_BINARY -V` says (the binary both runners start; "nginx"
# on PATH when unset, as the real Test::Nginx does), read once.
my $NginxV;

sub _nginx_v {
    return $NginxV if defined $NginxV;
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    $NginxV = `$bin -V 2>&1`;
    die "UsersTest: cannot run $bin -V\n" if $? || $NginxV !~ m{nginx/\d};
    return $NginxV;
}

sub nginx_version { (_nginx_v() =~ m{nginx/(\d+\.\d+\.\d+)})[0] }

sub nginx_at_least {
    my @have = split /\./, nginx_version();
    my @want = split /\./, shift;
    for my $i (0 .. 2) {
        return $have[$i] > $want[$i] if $have[$i] != $want[$i];
    }
    return 1;
}

sub nginx_built_with {
    my $what = shift;
    return _nginx_v() =~ /--with-\Q$what\E(?:\s|=|$)/m ? 1 : 0;
}

# ------------------------------------------------------------------ nginx

sub nginx_start {
    my (%o) = @_;
    my $port = $o{port} // free_port();
    my $name = $o{name} // 'fault';
    my $root = $o{root} // "$Root/t/servroot-$name-$$";
    my $bin  = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $workers = $o{workers} // 1;
    my $master  = $o{master} ? 'on' : 'off';
    my $level   = $o{log_level} // 'info';

    remove_tree($root);
    make_path("$root/conf", "$root/logs", "$root/html");

    my $loads = join "\n", map { "load_module $_;" } grep { length }
        split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    my $user = $> == 0 ? 'user root;' : '';
    my $conf = $o{conf} // <<"_EOC_";
$loads
worker_processes $workers;
daemon on;
master_process $master;
error_log $root/logs/error.log $level;
pid $root/logs/nginx.pid;
$user
@{[ $o{main_config} // '' ]}

events { worker_connections 1024; }

http {
    access_log $root/logs/access.log;
    client_body_temp_path $root/client_body_temp;
    proxy_temp_path $root/proxy_temp;
    fastcgi_temp_path $root/fastcgi_temp;
    scgi_temp_path $root/scgi_temp;
    uwsgi_temp_path $root/uwsgi_temp;
    default_type text/plain;
@{[ $o{http_config} // '' ]}
    server {
        listen 127.0.0.1:$port@{[ $o{listen} // '' ]};
        server_name localhost;
@{[ $o{config} // '' ]}
    }
}
_EOC_
    $conf =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/$ENV{$1} \/\/ die "nginx_start: \$$1 is not set\n"/eg;

    open my $fh, '>', "$root/conf/nginx.conf" or die "nginx_start: $root: $!\n";
    print $fh $conf;
    close $fh;

    my $out = `$bin -p $root/ -c $root/conf/nginx.conf -e $root/logs/error.log 2>&1`;
    die "nginx_start: nginx failed to start: $out\n" if $?;
    # daemon on: the listening socket exists once the command returns; the
    # pid file appears when the daemon is up (no probe connection in the log)
    my $deadline = time + 5;
    sleep 0.01 while !-s "$root/logs/nginx.pid" && time < $deadline;
    die "nginx_start: no pid file in $root/logs\n" unless -s "$root/logs/nginx.pid";
    my $ngx = bless { port => $port, root => $root, name => $name }, 'UsersTest::Nginx';
    push @Live, $ngx;
    Scalar::Util::weaken($Live[-1]);
    return $ngx;
}

sub nginx_stop { $_[0]->stop if $_[0] }

package UsersTest::Nginx {
    use Time::HiRes qw(time sleep);

    sub port { $_[0]{port} }
    sub root { $_[0]{root} }
    sub error_log_file { "$_[0]{root}/logs/error.log" }

    sub pid {
        my $self = shift;
        open my $fh, '<', "$self->{root}/logs/nginx.pid" or return undef;
        my $pid = <$fh>;
        chomp $pid if defined $pid;
        return $pid;
    }

    # whole error log, or from byte offset $from; in list context also the
    # new end offset:  my ($text, $pos) = $ngx->error_log($pos);
    sub error_log {
        my ($self, $from) = @_;
        open my $fh, '<', $self->error_log_file or return wantarray ? ('', 0) : '';
        seek $fh, $from, 0 if $from;
        my $text = do { local $/; <$fh> } // '';
        my $pos = tell $fh;
        return wantarray ? ($text, $pos) : $text;
    }

    sub _alive {
        my $pid = shift;
        return 0 unless CORE::kill(0, $pid);
        if (open my $fh, '<', "/proc/$pid/stat") {
            return 0 if (<$fh> // '') =~ /^\d+ \(.*\) Z/s;
        }
        return 1;
    }

    sub stop {
        my $self = shift;
        return if $self->{stopped}++;
        my $pid = $self->pid or return;
        CORE::kill('QUIT', $pid);
        my $deadline = time + 5;
        while (time < $deadline && _alive($pid)) { sleep 0.02 }
        CORE::kill('KILL', $pid) if _alive($pid);
        File::Path::remove_tree($self->{root}) unless $ENV{TEST_NGINX_NO_CLEAN};
        return 1;
    }

    sub DESTROY { local ($?, $@); $_[0]->stop }
}

# ------------------------------------------------------------------- HTTP

sub http_get {
    my ($port, $path, %headers) = @_;
    return http_request($port, 'GET', $path, undef, %headers);
}

sub http_request {
    my ($port, $method, $path, $body, %headers) = @_;
    my $timeout = delete $headers{-timeout} // $Timeout;
    undef $HttpError;
    my $t0 = time;
    my $fail = sub { $HttpError = shift; return (undef, {}, undef, time - $t0) };

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => $timeout)
        or return $fail->("connect: $!");
    my $req = "$method $path HTTP/1.1\r\n";
    $headers{Host} //= 'localhost' unless grep { lc eq 'host' } keys %headers;
    $req .= "Connection: close\r\n" unless grep { lc eq 'connection' } keys %headers;
    if (defined $body && !grep { lc eq 'content-length' } keys %headers) {
        $headers{'Content-Length'} = length $body;
    }
    $req .= "$_: $headers{$_}\r\n" for sort keys %headers;
    $req .= "\r\n" . ($body // '');

    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($off, $resp) = (0, '');
    my $deadline = $t0 + $timeout;
    while (1) {
        my $left = $deadline - time;
        return $fail->('timeout') if $left <= 0;
        my ($r, $w) = IO::Select->select($sel, $off < length $req ? $sel : undef,
                                         undef, $left);
        next unless $r || $w;
        if ($w && @$w) {
            my $n = syswrite($sock, $req, length($req) - $off, $off);
            return $fail->("write: $!") if !defined $n && $! != EAGAIN;
            $off += $n // 0;
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            next if !defined $n && $! == EAGAIN;
            return $fail->("read: $!") unless defined $n;
            last if $n == 0;
            $resp .= $buf;
        }
    }
    close $sock;
    my $elapsed = time - $t0;

    $resp =~ /\A(.*?)\r\n\r\n(.*)\z/s or return $fail->('malformed response');
    my ($head, $rest) = ($1, $2);
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($status) = $status_line =~ m{^HTTP/\S+\s+(\d+)}
        or return $fail->("bad status line: $status_line");
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my $content = $rest;
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $content = '';
        while ($rest =~ s/\A([0-9A-Fa-f]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $content .= substr($rest, 0, $n);
            substr($rest, 0, $n + 2, '');
        }
    }
    return ($status, \%h, $content, $elapsed);
}

# ------------------------------------------------------- HTTP/2 and HTTP/3

# h2_get($port, $url): one HTTP/2 request with curl's prior knowledge
# (cleartext) to 127.0.0.1:$port; the URL's authority is what the request
# carries as :authority.  Returns ($status, \%headers, $body), or () when
# curl is missing or lacks HTTP/2 ($HttpError says which).
sub h2_get {
    my ($port, $url) = @_;
    undef $HttpError;
    my $v = `curl --version 2>/dev/null`;
    if ($v !~ /^Features:.*\bHTTP2\b/m) {
        $HttpError = 'curl with HTTP/2 not found';
        return;
    }
    my ($auth) = $url =~ m{^\w+://([^/?]+)};
    my ($host, $p) = $auth =~ /^(.*?)(?::(\d+))?$/;
    my @cmd = ('curl', '-s', '-S', '-D', '-', '--http2-prior-knowledge',
               '--max-time', $Timeout,
               '--connect-to', "$host:" . ($p // 80) . ":127.0.0.1:$port",
               $url);
    open my $fh, '-|', @cmd or do { $HttpError = "curl: $!"; return };
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return _h_parse($out);
}

# h3_get($port, $url): one HTTP/3 request with ngtcp2's client (Debian's
# ngtcp2-client, gtlsclient) to UDP 127.0.0.1:$port; the URL's authority
# is the request's :authority.  Returns ($status, \%headers, $body), or ()
# when the client is missing.
sub h3_get {
    my ($port, $url) = @_;
    undef $HttpError;
    my ($client) = grep { -x } map { "$_/gtlsclient" } split /:/, $ENV{PATH};
    if (!$client) {
        $HttpError = 'no HTTP/3 client (apt-get install ngtcp2-client)';
        return;
    }
    my @cmd = ('timeout', $Timeout, $client, '--no-quic-dump',
               '--exit-on-all-streams-close', '--timeout=' . $Timeout . 's',
               '127.0.0.1', $port, $url);
    # the client writes what it received to stderr
    open my $fh, '-|', 'sh', '-c', 'exec "$@" 2>&1', 'sh', @cmd
        or do { $HttpError = "gtlsclient: $!"; return };
    my ($status, %h, $body);
    $body = '';
    while (my $line = <$fh>) {
        if ($line =~ /^http: stream 0x0 \[([^:]+|:status): (.*)\]$/) {
            if ($1 eq ':status') { $status = $2 } else { $h{lc $1} = $2 }
        } elsif ($line =~ /^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2})+)/) {
            $body .= pack 'H*', join '', split ' ', $1;
        }
    }
    close $fh;
    $HttpError = 'no response' unless defined $status;
    return ($status, \%h, $body);
}

sub _h_parse {
    my $out = shift;
    $out =~ /\A(.*?)\r?\n\r?\n(.*)\z/s or do {
        $HttpError = 'malformed response';
        return;
    };
    my ($head, $body) = ($1, $2);
    my ($status_line, @lines) = split /\r?\n/, $head;
    my ($status) = $status_line =~ m{^HTTP/\S+\s+(\d+)};
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $k} = $v;
    }
    return ($status, \%h, $body);
}

1;

__END__

=head1 NAME

UsersTest - helpers for the ngx_http_users_module test suites

=head1 FUNCTIONS (all exportable, C<:all> for everything)

=over

=item redis_cmd(@args)

Sends one command to the run's Redis (127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT},
started by t/run.sh) over RESP and returns the reply: a scalar for
status/integer/bulk replies (undef for nil), an array ref (nested) for
arrays.  Dies with the server's message on an error reply.
C<redis_cmd_port($port, @args)> does the same against another port.  Both
follow a Redis Cluster's MOVED and ASK, and take the first port of a
cluster spec ("7000 127.0.0.1:7001 cluster", as t/090 sets
TEST_NGINX_REDIS_PORT).

=item redis_start(%opts)

Starts a private extra C<redis-server> for fault tests, on C<port> (default:
free_port()) with data under build/test-redis/extra-PORT, waits for PING and
loads redis/users.lua when it exists (C<< functions => undef >> to skip,
C<< args => [...] >> for more server arguments, C<< config => $file >> for a
configuration file, as a sentinel needs).  Returns an object with
C<port>, C<pid>, C<cmd(@args)>, C<stop> (TERM + wait), C<kill> (KILL),
C<pause> (SIGSTOP: accepts connections, never answers), C<resume> (SIGCONT),
C<restart> (same port; data lost, functions reloaded).  Stopped when the
object goes away.

=item free_port()

A loopback TCP port that was free a moment ago.

=item wait_port($port, $seconds)

True once 127.0.0.1:$port accepts a connection.

=item nginx_start(%opts) / nginx_stop($ngx)

For plain Test::More files that need concurrency or to keep nginx running
across their own steps.  Writes t/servroot-NAME-PID/conf/nginx.conf (C<name>
default "fault") with C<load_module> lines from TEST_NGINX_LOAD_MODULES,
C<main_config>, C<http_config> and C<config> (inside the server{} on
127.0.0.1:C<port>, default a free port; C<listen> adds parameters to its
C<listen>, e.g. C<" http2">); C<workers>, C<master>, C<log_level>
(info); C<conf> replaces the whole file.  C<$TEST_NGINX_*> are substituted.
Starts $TEST_NGINX_BINARY (default /usr/sbin/nginx) as a daemon and waits
for the port.  The object has C<port>, C<root>, C<pid>, C<error_log($from)>
(text, and new offset in list context), C<stop> (QUIT, then KILL after 5 s;
the directory is removed unless TEST_NGINX_NO_CLEAN).  Stopped when the
object goes away.

=item nginx_version() / nginx_at_least($version) / nginx_built_with($what)

The version of $TEST_NGINX_BINARY ("1.28.3", from C<nginx -V>, run once;
C<nginx> on PATH when the variable is unset, as the real Test::Nginx does),
whether it is at least C<$version>, and whether it was configured
C<--with-$what> (e.g. C<http_v3_module>).  Both runners start that binary,
so a suite can compute what a block expects from the version under test
(C<--- error_code eval>, C<--- response_body eval>).

=item h2_get($port, $url) / h3_get($port, $url)

One GET over HTTP/2 (curl, cleartext with prior knowledge) or HTTP/3
(Debian's ngtcp2-client, C<gtlsclient>, over UDP) to 127.0.0.1:C<$port>,
with the URL's authority as C<:authority>.  Return C<($status, \%headers,
$body)>, header names lower-cased; an empty list when the client is missing
(curl without HTTP/2, no gtlsclient), with $UsersTest::HttpError saying so.

=item http_get($port, $path, %headers)

=item http_request($port, $method, $path, $body, %headers)

One HTTP/1.1 request to 127.0.0.1:$port with C<Host: localhost> and
C<Connection: close>.  Returns C<($status, \%headers, $body, $elapsed)>;
header names are lower-cased, chunked bodies decoded.  The pseudo-header
C<< -timeout => $secs >> overrides $UsersTest::Timeout (5).  On a timeout or
socket error, status and body are undef and $UsersTest::HttpError says why.

=back

=cut
