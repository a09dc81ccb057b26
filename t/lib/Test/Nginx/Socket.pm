package Test::Nginx::Socket;

# The project's own runner for the Test::Nginx::Socket subset described in
# docs / /work/shared/TEST-NGINX.md.  It is used only when the real
# openresty/test-nginx is not installed (t/run.sh decides); the same t/*.t
# files must pass under both, so this module tries to behave like the real
# one (same generated nginx.conf layout, same request bytes, same checks,
# same test names) and refuses sections it does not implement instead of
# silently ignoring them.
#
# Plain Perl core modules only (no Test::Base, no HTTP::Response).
#
# Environment: TEST_NGINX_BINARY, TEST_NGINX_SERVER_PORT (1984),
# TEST_NGINX_LOAD_MODULES, TEST_NGINX_LOG_LEVEL (debug), TEST_NGINX_TIMEOUT
# (3), TEST_NGINX_NO_SHUFFLE, TEST_NGINX_MASTER_PROCESS, TEST_NGINX_SERVROOT,
# TEST_NGINX_FORCE_RESTART_ON_TEST (1), TEST_NGINX_NO_CLEAN, TEST_NGINX_VERBOSE,
# TEST_NGINX_USE_VALGRIND (see below).
#
# TEST_NGINX_USE_VALGRIND=1 runs nginx under valgrind memcheck (a string
# that is not a number is used as valgrind's options instead of ours), with
# t/valgrind.suppress when it exists, every process's report in
# t/servroot/logs/valgrind.<pid>.log.  nginx is stopped after every block
# and the block fails when a report is not empty (the report is shown).
# Set TEST_NGINX_TIMEOUT higher too (t/valgrind.sh does).  Blocks whose
# name ("t/NNN-x.t TEST n: title") matches the regex TEST_NGINX_VALGRIND_SKIP
# are skipped under valgrind (timing-sensitive ones).

use strict;
use warnings;
use v5.10.1;

our $VERSION = '0.33_users';

use Test::More ();
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(sleep time);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use List::Util qw(shuffle min);
use POSIX qw(SIGQUIT SIGTERM SIGKILL WNOHANG EAGAIN EINTR);

# ---------------------------------------------------------------- settings

our $NginxBinary   = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $ServerPort    = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $ServerAddr    = '127.0.0.1';
our $ServerName    = 'localhost';
our $LoadModules   = $ENV{TEST_NGINX_LOAD_MODULES};
our $LogLevel      = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $Timeout       = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $NoShuffle     = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled = 'on';
our $Workers       = 1;
our $WorkerConnections = 64;
our $RepeatEach    = 1;
our $NoRootLocation = 0;
our $NoLongString  = 0;
our $Verbose       = $ENV{TEST_NGINX_VERBOSE};
our $Sleep         = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $UseValgrind   = $ENV{TEST_NGINX_USE_VALGRIND};
our $ConfigPreamble = '';
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $CacheDir   = "$ServRoot/cache";

our ($PrevConfig, $ErrLogFilePos, $RandPorts, $Blocks, $NginxStarted);
our $InSubprocess = 0;
our $TotalConnectingTimeouts = 0;

# Sections this runner understands; anything else makes the block bail out
# (better than passing silently on a check that never ran).
my %Known = map { $_ => 1 } qw(
    main_config http_config config request more_headers pipelined_requests
    raw_request error_code response_body response_body_like
    response_body_unlike response_headers response_headers_like error_log
    no_error_log timeout user_files must_die ONLY SKIP LAST log_level wait
    abort
);

# ---------------------------------------------------------------- exports

my @TestMoreExports = qw(
    ok isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set plan can_ok isa_ok diag use_ok
);

our @EXPORT = (@TestMoreExports, qw(
    is no_diff blocks
    env_to_nginx is_str run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout check_accum_error_log add_block_preprocessor bail_out
    add_test_cleanup_handler add_cleanup_handler
));

sub import {
    my $class = shift;
    my $caller = caller;

    # Test::Base turns strict and warnings on in the test file: do the same
    # so a file that passes here does not break under the real one.
    strict->import;
    warnings->import;

    no strict 'refs';
    for my $name (@EXPORT) {
        my $src = defined &{"Test::Nginx::Socket::$name"}
            ? \&{"Test::Nginx::Socket::$name"} : \&{"Test::More::$name"};
        *{"${caller}::$name"} = $src;
    }
    *{"${caller}::TODO"} = \$Test::More::TODO;

    Test::More::plan(@_) if @_;
}

# --------------------------------------------------------- small settings

sub is { goto &Test::More::is }
sub is_str { goto &Test::More::is }
sub no_diff () { }
sub repeat_each (@) { $RepeatEach = shift if @_; $RepeatEach }
sub no_long_string () { $NoLongString = 1 }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = $_[0] ? 'on' : 'off' }
    $MasterProcessEnabled;
}
sub workers (@) { if (@_) { $Workers = shift } else { return $Workers } }
sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift } else { return $WorkerConnections }
}
sub log_level (@) { if (@_) { $LogLevel = shift } else { return $LogLevel } }
sub timeout (@) { if (@_) { $Timeout = shift } else { return $Timeout } }
sub config_preamble ($) { $ConfigPreamble = shift }
sub server_name (@) { $ServerName = shift if @_; $ServerName }
sub server_addr (@) { $ServerAddr = shift if @_; $ServerAddr }
sub server_root () { $ServRoot }
sub html_dir () { $HtmlDir }
sub server_port (@) { $ServerPort = shift if @_; $ServerPort }
sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_; $ServerPortForClient
}
sub check_accum_error_log () {
    die "check_accum_error_log() is not supported by the project's runner\n";
}
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub env_to_nginx (@) {
    die "env_to_nginx: no arguments specified\n" unless @_;
    for my $v (@_) {
        die "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub run_test ($) { run_block(shift) }

# ---------------------------------------------------------------- blocks

package Test::Nginx::Socket::Block {
    our $AUTOLOAD;

    sub new { my ($class, %v) = @_; bless { %v }, $class }

    sub set_value {
        my ($self, $key, @values) = @_;
        $self->{$key} = [@values];
    }

    sub has { exists $_[0]{$_[1]} }

    sub sections { my $self = shift; @{ $self->{_order} || [] } }

    sub AUTOLOAD {
        my $self = shift;
        (my $name = $AUTOLOAD) =~ s/.*:://;
        return if $name eq 'DESTROY';
        my $v = $self->{$name};
        return wantarray ? () : undef unless $v;
        return wantarray ? @$v : $v->[0];
    }
}

# Evaluated under strict (like Test::Base's eval filter): refer to the test
# file's variables as $::Name.
package Test::Nginx::Socket::Filter {
    use strict;
    sub run_eval {
        my @r = eval $_[0];
        die $@ if $@;
        @r;
    }
}

package Test::Nginx::Socket;

sub _read_spec {
    require Scalar::Util;
    my $fh = Scalar::Util::openhandle(\*main::DATA) or return '';
    local $/;
    my $spec = <$fh>;
    return defined $spec ? $spec : '';
}

sub _apply_filter {
    my ($name, $filter, @value) = @_;
    if ($filter eq 'norm') {
        my $t = join '', map { defined $_ ? $_ : '' } @value;
        $t =~ s/\015\012/\n/g;
        $t =~ s/\r/\n/g;
        return ($t);
    }
    if ($filter eq 'trim') {
        return map { my $s = $_; $s =~ s/\A([ \t]*\n)+//; $s =~ s/(?<=\n)\s*\z//g; $s } @value;
    }
    if ($filter eq 'chomp') {
        return map { my $s = $_; chomp $s; $s } @value;
    }
    if ($filter eq 'eval') {
        my @r = eval { Test::Nginx::Socket::Filter::run_eval(join '', @value) };
        if ($@) {
            bail_out("$name - eval filter failed: $@");
        }
        return @r;
    }
    bail_out("$name - filter '$filter' is not supported by the project's runner");
}

sub _parse_blocks {
    my $spec = shift;
    my @hunks = ($spec =~ /^(===.*?(?=^===|\z))/msg);
    my @blocks;
    for my $hunk (@hunks) {
        $hunk =~ s/\A===[ \t]*(.*)\s+// or next;
        my $name = $1;
        my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
        shift @parts;    # description
        my $block = Test::Nginx::Socket::Block->new(name => [$name], _order => []);
        my %filters;
        while (@parts) {
            my ($type, $filters, $value) = splice @parts, 0, 3;
            $value = '' unless defined $value;
            $filters = '' unless defined $filters;
            if ($filters =~ /:(\s|\z)/) {
                die "$name: extra lines not allowed in '$type' section\n"
                    if $value =~ /\S/;
                ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
                $value = '' unless defined $value;
                $value =~ s/^\s*(.*?)\s*$/$1/;
            }
            $block->set_value($type, $value);
            push @{ $block->{_order} }, $type;
            $filters{$type} = $filters;
        }
        $block->{_filters} = \%filters;
        push @blocks, $block;
    }

    # ONLY / SKIP / LAST, as Test::Base chooses them
    my @chosen;
    for my $b (@blocks) {
        if ($b->has('ONLY')) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            @chosen = ($b);
            last;
        }
        next if $b->has('SKIP');
        push @chosen, $b;
        last if $b->has('LAST');
    }

    for my $b (@chosen) {
        my $name = $b->name;
        for my $type ($b->sections) {
            my @filters = ('norm', 'trim');
            for my $f (split /\s+/, $b->{_filters}{$type}) {
                next unless length $f;
                if ($f =~ s/^-//) { @filters = grep { $_ ne $f } @filters }
                else { $f =~ s/^\+//; push @filters, $f }
            }
            my @value = @{ $b->{$type} };
            for my $f (@filters) {
                @value = _apply_filter($name, $f, @value);
            }
            $b->set_value($type, @value);
        }
    }
    return \@chosen;
}

sub blocks () {
    $Blocks ||= _parse_blocks(_read_spec());
    return wantarray ? @$Blocks : scalar @$Blocks;
}

# --------------------------------------------------------------- helpers

sub _warn { warn @_ if $Verbose }

sub parse_time {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) { $tm /= 1000 }
    elsif ($tm =~ s/([^_a-zA-Z])s$/$1/) { }
    $tm;
}

sub _free_port {
    my $used = shift;
    for (1 .. 1000) {
        my $p = 1025 + int rand(64000);
        next if $used->{$p};
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 1)
            or next;
        close $s;
        return $p;
    }
    return undef;
}

sub expand_env_in_text {
    my ($text, $name) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $v;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            $RandPorts->{$var} //= do {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$RandPorts);
                _free_port(\%used) // bail_out("$name - no free port for $var");
            };
            $v = $RandPorts->{$var};
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $v = $ENV{$var};
        }
        $v;
    }eg;
    $text;
}

sub is_running {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    # a zombie nobody reaps (no init in a container) is not running
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $st = <$fh> // '';
        return 0 if $st =~ /^\d+ \(.*\) Z/s;
    }
    return 1;
}

sub _pid_from_file {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    return undef unless defined $pid;
    chomp $pid;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub kill_process {
    my ($pid, $name) = @_;
    return unless $pid;
    kill SIGQUIT, $pid;
    my $left = $Timeout;
    while ($left > 0 && is_running($pid)) {
        waitpid($pid, WNOHANG);
        sleep 0.02;
        $left -= 0.02;
    }
    return unless is_running($pid);
    warn "$name - timeout when waiting for nginx $pid to exit; sending TERM\n";
    for (1 .. 20) {
        kill SIGTERM, $pid;
        sleep 0.05;
        return unless is_running($pid);
    }
    warn "$name - killing nginx $pid with force\n";
    kill SIGKILL, $pid;
    sleep 0.05;
}

sub stop_nginx {
    my $name = shift // 'cleanup';
    my $pid = _pid_from_file();
    if ($pid && is_running($pid)) {
        kill_process($pid, $name);
    }
    unlink $PidFile if -f $PidFile;
}

sub cleanup {
    $_->() for @CleanupHandlers;
    @CleanupHandlers = ();
    return if $InSubprocess;
    stop_nginx('cleanup') unless $ENV{TEST_NGINX_NO_CLEAN};
}

END {
    local $?;
    cleanup() unless $InSubprocess;
}

# stop nginx on ^C / kill too; exit() (not re-raising the signal) so END
# blocks and object destructors of the test file run as well
my %SigNum = (HUP => 1, INT => 2, TERM => 15);
for my $sig (keys %SigNum) {
    $SIG{$sig} = sub { cleanup(); exit(128 + $SigNum{$sig}) };
}

# ----------------------------------------------------------- server root

sub setup_server_root {
    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"),
                    $CacheDir, $HtmlDir, $LogDir);
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files {
    my $block = shift;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;
    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type for user_files: ", ref $files);
    }
    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        $body //= '';
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - cannot create directory $1");
        }
        $body = expand_env_in_text($body, $name);
        open my $out, '>', $path or bail_out("$name - cannot open $path: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - touch -t '$date' $path failed");
        }
    }
}

sub write_config_file {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $http_config = expand_env_in_text($block->http_config // '', $name);
    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @m = map { "load_module $_;" } grep { length } split /\s+/, $LoadModules;
        $main_config = join ' ', @m, $main_config if @m;
    }
    $main_config = expand_env_in_text($main_config, $name);
    $config //= '';

    my $temp = join ' ', map { "${_}_temp_path $ServRoot/${_}_temp;" }
        grep { !($_ eq 'proxy' || $_ eq 'client_body') || $http_config !~ /\b${_}_temp_path\b/ }
        qw(client_body proxy fastcgi scgi uwsgi);

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!");
    print $out <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $LogLevel;
pid       $PidFile;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
_EOC_
    for my $v (@EnvToNginx) {
        my $q = $v =~ /\s/ ? "'$v'" : $v;
        print $out "env $q;\n";
    }
    print $out <<_EOC_;

$main_config

http {
    access_log $AccLogFile; $temp

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$ServerName';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_
    if (!$NoRootLocation) {
        print $out <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }
    print $out <<_EOC_;
    }
}

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
env ASAN_OPTIONS;
_EOC_
    if (defined $ENV{TEST_NGINX_WORKER_USER}) {
        print $out "user $ENV{TEST_NGINX_WORKER_USER};\n";
    } elsif ($> == 0) {
        print $out "user root;\n";
    }
    close $out;
}

sub _nginx_cmd {
    my $cmd = "$NginxBinary -e $ErrLogFile -p $ServRoot/ -c $ConfFile";
    return $cmd unless $UseValgrind;
    my $opts = $UseValgrind;
    if ($opts =~ /^\d+$/) {
        # errors only: nginx frees its pools, not every allocation, at exit
        $opts = '--tool=memcheck --leak-check=no --num-callers=50 '
              . '--error-exitcode=99 --track-origins=yes';
        my $supp = File::Spec->rel2abs('t/valgrind.suppress');
        $opts .= " --gen-suppressions=all --suppressions=$supp" if -f $supp;
    }
    return "valgrind -q $opts --log-file=$LogDir/valgrind.%p.log $cmd";
}

# Stops nginx and fails the block when a valgrind report is not empty.
sub check_valgrind {
    my $name = shift;
    return unless $UseValgrind;
    {
        # memcheck is slow to exit: give the QUIT time before TERM/KILL
        local $Timeout = $Timeout < 30 ? 30 : $Timeout;
        stop_nginx($name);
    }
    $PrevConfig = undef;
    my @bad;
    for my $f (sort glob "$LogDir/valgrind.*.log") {
        open my $in, '<', $f or next;
        my $text = do { local $/; <$in> } // '';
        close $in;
        push @bad, "$f:\n$text" if $text =~ /\S/;
        unlink $f;
    }
    if (@bad) {
        Test::More::fail("$name - valgrind reports errors");
        Test::More::diag($_) for @bad;
    } else {
        Test::More::pass("$name - valgrind: no errors");
    }
}

sub _tail_error_log {
    open my $in, '<', $ErrLogFile or return '';
    my @l = <$in>;
    return join '', @l[ ($#l > 20 ? $#l - 20 : 0) .. $#l ];
}

# ------------------------------------------------------------- the loop

sub run_tests () {
    srand($$ + int(time() * 1000000));
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    if (!-x $NginxBinary && $NginxBinary =~ m{/}) {
        bail_out("Cannot find the nginx executable $NginxBinary");
    }

    my @blocks = blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_block($block);
        $_->($block) for @TestCleanupHandlers;
    }
    cleanup();
}

sub run_block {
    my $block = shift;
    return if $block->has('SKIP');
    my $name = $block->name;
    if ($UseValgrind && $ENV{TEST_NGINX_VALGRIND_SKIP}
        && $name =~ /$ENV{TEST_NGINX_VALGRIND_SKIP}/)
    {
        # timing-sensitive blocks (t/valgrind.sh lists them): not weakened,
        # just not run under valgrind's 20-50x slowdown
        Test::More::note("$name - skipped under valgrind");
        return;
    }

    for my $s ($block->sections) {
        next if $Known{$s};
        bail_out("$name - section '--- $s' is not supported by the project's "
                 . "runner (t/lib/Test/Nginx/Socket.pm)");
    }

    $RandPorts = {};
    my $config = expand_env_in_text($block->config, $name);

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    my $must_die = $block->must_die;
    my $should_restart;
    if (!defined $config) {
        bail_out("$name - No '--- config' section specified and could not get previous one.")
            unless defined $PrevConfig;
        $should_restart = 0;
    } else {
        $should_restart = (!defined $PrevConfig || $config ne $PrevConfig
                           || $ForceRestartOnTest || defined $must_die) ? 1 : 0;
    }

    if ($should_restart) {
        $PrevConfig = $config;
        stop_nginx($name);
        setup_server_root();
        write_user_files($block);
        write_config_file($block, $config);

        my $cmd = _nginx_cmd();
        $ErrLogFilePos = 0;

        if (defined $must_die) {
            for my $i (0 .. $RepeatEach - 1) {
                my $status = system("$cmd >/dev/null 2>&1");
                my $code = $status == -1 ? undef : $status >> 8;
                if (!defined $code) {
                    Test::More::fail("$name - failed to execute the nginx command line");
                } elsif ($status & 127) {
                    Test::More::fail("$name - nginx died from signal " . ($status & 127));
                } elsif ($must_die =~ /^\s*\d+\s*$/) {
                    Test::More::is($must_die, $code, "$name - die with the expected exit code");
                } else {
                    Test::More::isnt($status, 0, "$name - die as expected");
                }
                check_error_log($block, $i);
                if ($status == 0) {
                    warn "WARNING: $name - nginx must die but it does not; killing it\n";
                    for (1 .. 15) { last if -f $PidFile; sleep $Sleep }
                    stop_nginx($name);
                }
            }
            check_valgrind($name);
            return;
        }

        my ($status, $waited, $try, $err) = (0, 0, 0, '');
        my $errfile = "$LogDir/nginx-stderr.log";
        while (1) {
            $status = system("$cmd >/dev/null 2>$errfile");
            last if $status == 0;
            if (open my $in, '<', $errfile) { local $/; $err = <$in> // '' }
            # only a busy port is worth waiting for (a previous nginx exiting)
            last if $err !~ /Address already in use/ || $waited >= 10;
            my $delay = min(0.1 * ++$try, 1);
            sleep $delay;
            $waited += $delay;
        }
        unlink $errfile;
        if ($status != 0) {
            $err =~ s/\s+\z//;
            $err =~ s/\s*\n\s*/ | /g;
            bail_out("$name - Cannot start nginx using command \"$cmd\" "
                     . "(status code $status): $err");
        }
        $NginxStarted = 1;
        sleep $Sleep;
        if ($UseValgrind) {
            # the daemon writes its pid file (and listens) a while later
            my $deadline = time + $Timeout;
            sleep 0.05 while !-s $PidFile && time < $deadline;
        }
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block) if $i > 1;
        run_requests($block, $i - 1);
    }
    check_valgrind($name);
}

# ----------------------------------------------------------- requests

sub _parse_more_headers {
    my $in = shift // '';
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v //= '';
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

sub _build_request {
    my ($name, $more, $chunked, $conn, $req) = @_;
    $req //= '';
    $req =~ /\A([^\n]*\n?)(.*)\z/s;
    my ($first, $content) = ($1, $2);
    bail_out("$name - Request line should be non-empty") if $first !~ /\S/;
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid: \"$first\"");
    my ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');

    my $len = '';
    if (!$chunked && $content ne '' && $more !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len = "Content-Length: " . length($content) . "\r\n";
    }
    $more =~ s/(?<!\r)\n/\r\n/gs;
    my $h = '';
    $h .= "Host: $ServerName\r\n" if $more !~ /(?:^|\n)Host:/msi;
    $h .= "Connection: $conn\r\n" if $more !~ /(?:^|\n)Connection/msi;
    return "$meth $url $ver\r\n$h$more$len\r\n$content";
}

# returns a list of raw request strings (one per connection)
sub _requests_of {
    my $block = shift;
    my $name = $block->name;
    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        return (ref $raw eq 'ARRAY' ? join('', @$raw) : $raw);
    }
    my $more = $block->more_headers // '';
    my $hdr_for = sub {
        my $i = shift;
        if (ref $more eq 'ARRAY') {
            my $h = $more->[$i];
            bail_out("$name - --- more_headers lacks data for request $i") unless defined $h;
            return _parse_more_headers($h);
        }
        return _parse_more_headers($more);
    };
    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $r = expand_env_in_text($reqs->[$i], $name);
            my ($h, $c) = $hdr_for->($i);
            $all .= _build_request($name, $h, $c, $i == $#$reqs ? 'close' : 'keep-alive', $r);
        }
        return ($all);
    }
    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }
    if (ref $request eq 'ARRAY') {
        my @out;
        for my $i (0 .. $#$request) {
            my $r = $request->[$i];
            $r = join '', map { ref $_ ? $_->{value} : $_ } @$r if ref $r eq 'ARRAY';
            my ($h, $c) = $hdr_for->($i);
            push @out, _build_request($name, $h, $c, 'close', $r);
        }
        return @out;
    }
    bail_out("$name - invalid --- request: must be a string or an array of requests")
        if ref $request;
    my ($h, $c) = $hdr_for->(0);
    return (_build_request($name, $h, $c, 'close', $request));
}

sub send_request {
    my ($block, $req, $timeout) = @_;
    my $name = $block->name;
    my $sock;
    for my $try (1 .. 50) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $wait = min(($Sleep + $Sleep * $try) * $try / 2, 1);
        warn "$name - Can't connect to $ServerAddr:$ServerPortForClient: $!\n"
            if $wait >= 0.6;
        sleep $wait;
    }
    if (!$sock) {
        my $msg = "$name - Can't connect to $ServerAddr:$ServerPortForClient: $! (aborted)\n";
        bail_out($msg) if ++$TotalConnectingTimeouts >= 3;
        Test::More::fail($msg);
        return '';
    }
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($off, $resp) = (0, '');
    my $writing = 1;
    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            close $sock;
            Test::More::fail("ERROR: client socket timed out - $name\n")
                unless defined $block->abort;
            return $resp;
        }
        if ($w && @$w && $writing) {
            my $n = syswrite($sock, $req, length($req) - $off, $off);
            if (!defined $n) {
                if ($! != EAGAIN) {
                    warn "write failed: $!\n";
                    $writing = 0;
                }
            } else {
                $off += $n;
                $writing = 0 if $off >= length $req;
            }
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            if (!defined $n) {
                next if $! == EAGAIN;
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
            last if $n == 0;
            $resp .= $buf;
        }
    }
    close $sock;
    return $resp;
}

# Parse one response off the front of $raw: returns (res, raw_headers, left)
# where res = { code, headers => [[name, value]...], content }.
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my %res = (code => undef, headers => [], content => '');
    my ($head, $body);
    if ($raw =~ /\A(.*?)\r?\n\r?\n(.*)\z/s) { ($head, $body) = ($1, $2) }
    else { ($head, $body) = ($raw, '') }
    my @lines = split /\r?\n/, $head;
    my $status = shift(@lines) // '';
    if ($status =~ m{^HTTP/\S+\s+(\d+)}) { $res{code} = $1 }
    for my $l (@lines) {
        if ($l =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/) { push @{ $res{headers} }, [$1, $2] }
        elsif ($l =~ /^\s+(.*)$/ && @{ $res{headers} }) { $res{headers}[-1][1] .= " $1" }
    }
    my $left;
    my $code = $res{code} // 0;
    if ($code == 304 || $code == 101) {
        return (\%res, $raw_headers, undef);
    }
    my $enc = header_of(\%res, 'Transfer-Encoding');
    my $len = header_of(\%res, 'Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my $decoded = '';
        pos($body) = 0;
        while (1) {
            if ($body =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[^\r\n]*\r\n/gc) {
                my $n = hex $1;
                if (length($body) - pos($body) < $n) {
                    Test::More::fail("$name - invalid chunked data received (not enough octets for the data section)");
                    last;
                }
                $decoded .= substr($body, pos($body), $n);
                pos($body) = pos($body) + $n;
                if ($body !~ /\G\r\n/gc) {
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    last;
                }
            } elsif ($body =~ /\G(.+)/gcs) {
                Test::More::fail("$name - invalid chunked body received: $1");
                last;
            } else {
                Test::More::fail("$name - no last chunk found - $body");
                last;
            }
        }
        $res{content} = $decoded;
    } else {
        $res{content} = $body;
        if (defined $len && $len =~ /^\d+$/) {
            if (length $body < $len) {
                warn "WARNING: $name - response body truncated: $len expected, but got "
                     . length($body) . "\n" unless $head_req;
            } elsif (length $body > $len) {
                $res{content} = substr $body, 0, $len;
                $left = substr $body, $len;
            }
        }
    }
    $left = undef if defined $left && $left eq '';
    return (\%res, $raw_headers, $left);
}

sub header_of {
    my ($res, $key) = @_;
    return undef unless $res;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $key } @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

sub _indexed {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    return ref $value eq 'ARRAY' ? $value->[0] : $value;
}

sub _parse_headers_spec {
    my $s = shift // '';
    my @h;
    for my $l (split /\n/, $s) {
        $l =~ s/^\s+|\s+$//g;
        next if $l eq '';
        if ($l =~ s/^!\s*//) { push @h, [$l, undef] }
        else { my ($k, $v) = split /\s*:\s*/, $l, 2; push @h, [$k, $v] }
    }
    return @h;
}

sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my @reqs = _requests_of($block);
    my $timeout = parse_time($block->timeout) // $Timeout;
    my $n = $block->pipelined_requests ? scalar @{ $block->pipelined_requests } : 0;
    my $need_array = $n ? 1 : @reqs > 1;
    my $idx = 0;
    for my $ri (0 .. $#reqs) {
        my $req = $reqs[$ri];
        my $head_req = $req =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $raw = send_request($block, $req, $timeout);
        my $remaining = $n;
        while (1) {
            $raw //= '';
            my ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
            if (!$remaining) {
                if (defined $left) {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last chunk in response: \"$l\"\n";
                }
            } else {
                $raw = $left;
                $remaining--;
            }
            check_response($block, $res, $raw_headers, $idx, $rep, $need_array);
            if ($remaining || $ri < $#reqs) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $rep);
            }
            $idx++;
            last unless $remaining;
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
}

sub check_response {
    my ($block, $res, $raw_headers, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';

    # error_code
    my $want = defined $block->error_code
        ? _indexed($name, $block->error_code, $idx, $need_array) : 200;
    Test::More::is($code, $want, "$name - status code ok");

    # response_headers / response_headers_like
    if (defined $block->response_headers) {
        for my $h (_parse_headers_spec(_indexed($name, $block->response_headers, $idx, $need_array))) {
            my ($k, $v) = @$h;
            if (!defined $v) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$k\E\s*:/ms,
                                   "$name - header $k not present in the raw headers");
                next;
            }
            $v =~ s/\$ServerPort\b/$ServerPort/g;
            $v =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            Test::More::is(header_of($res, $k) // '', $v, "$name - header $k ok");
        }
    } elsif (defined $block->response_headers_like) {
        for my $h (_parse_headers_spec(_indexed($name, $block->response_headers_like, $idx, $need_array))) {
            my ($k, $v) = @$h;
            Test::More::like(header_of($res, $k) // '', qr/^$v$/, "$name - header $k like ok");
        }
    }

    # response body
    my $content = $res ? $res->{content} : undef;
    if (defined $block->response_body) {
        my $expected = _indexed($name, $block->response_body, $idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name);
        }
        my $tname = "$name - response_body - response is expected (repeated req $rep, req $idx)";
        if (ref $expected) {
            Test::More::like($content, $expected, "$name - response_body - like (repeated req $rep, req $idx)");
        } elsif (!Test::More::is($content, $expected, $tname)) {
            Test::More::diag(_diff($expected, $content));
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat = _indexed($name, $type eq 'like' ? $block->response_body_like
                                                  : $block->response_body_unlike,
                           $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = $content // '';
        $summary =~ s/^\s+|\s+$//g;
        $summary =~ s/\n/ /g;
        $summary =~ s/\s{2,}/ /g;
        my $cmp = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;
        $cmp->($content, qr/$pat/s, "$name - response_body_$type - response is expected ($summary)");
    }
}

# A small line diff (LCS) for failed body comparisons.
sub _diff {
    my ($exp, $got) = @_;
    return "  (got undef)" unless defined $got;
    return "  (expected undef)" unless defined $exp;
    my @a = split /^/m, $exp;
    my @b = split /^/m, $got;
    return "--- expected\n+++ got\n" . join('', map { "-$_" } @a) . join('', map { "+$_" } @b)
        if @a * @b > 250_000;
    my @L;
    for my $i (reverse 0 .. $#a) {
        for my $j (reverse 0 .. $#b) {
            $L[$i][$j] = $a[$i] eq $b[$j]
                ? 1 + ($L[$i + 1][$j + 1] // 0)
                : (($L[$i + 1][$j] // 0) >= ($L[$i][$j + 1] // 0)
                   ? ($L[$i + 1][$j] // 0) : ($L[$i][$j + 1] // 0));
        }
    }
    my ($i, $j, $out) = (0, 0, "--- expected\n+++ got\n");
    my $show = sub { my ($c, $l) = @_; $l =~ s/\r/\\r/g; $l .= "\\ (no newline)\n" if $l !~ /\n\z/; "$c$l" };
    while ($i < @a || $j < @b) {
        if ($i < @a && $j < @b && $a[$i] eq $b[$j]) { $out .= $show->(' ', $a[$i]); $i++; $j++ }
        elsif ($i < @a && ($j >= @b || ($L[$i + 1][$j] // 0) >= ($L[$i][$j + 1] // 0))) {
            $out .= $show->('-', $a[$i++]);
        } else { $out .= $show->('+', $b[$j++]) }
    }
    return $out;
}

# ------------------------------------------------------------ error log

sub error_log_data {
    # give nginx a moment for log-phase lines written after the response
    sleep $Sleep * 3;
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if $ErrLogFilePos;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in;
    close $in;
    return \@lines;
}

sub _fmt { my $s = shift; chomp $s; $s =~ s/"/\\"/g; $s =~ s/\r/\\r/g; $s =~ s/\n/\\n/g; $s }

sub _patterns {
    my $pats = shift;
    if (!ref $pats) { chomp $pats; return grep { length } split /\n+/, $pats }
    return ($pats) if ref $pats eq 'Regexp';
    return @$pats;
}

sub _contains {
    my ($pats, $needle) = @_;
    for my $p (_patterns($pats)) {
        next unless defined $p;
        return 1 if "$p" =~ /\Q$needle\E/;
    }
    0;
}

sub _match { my ($line, $pat) = @_; ref $pat ? $line =~ /$pat/ : index($line, $pat) >= 0 }

sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    if (defined $block->error_log) {
        my $pats = $block->error_log;
        $warn_on{"[$_]"} = 0 for grep { _contains($pats, "[$_") } qw(alert crit emerg);
        my @pats = _patterns($pats);
        $lines ||= error_log_data();
        for my $pat (@pats) {
            next unless defined $pat;
            if (grep { _match($_, $pat) } @$lines) {
                Test::More::pass("$name - pattern \"$pat\" matches a line in error.log (req $rep)");
            } else {
                Test::More::fail("$name - pattern \"$pat\" should match a line in error.log (req $rep)");
            }
        }
    }

    if (defined $block->no_error_log) {
        my $pats = $block->no_error_log;
        $warn_on{"[$_]"} = 0 for grep { _contains($pats, "[$_") } qw(alert crit emerg);
        my @pats = _patterns($pats);
        $lines ||= error_log_data();
        for my $pat (@pats) {
            next unless defined $pat;
            my ($hit) = grep { _match($_, $pat) } @$lines;
            my $p = _fmt($pat);
            if (defined $hit) {
                Test::More::fail("$name - pattern \"$p\" should not match any line in error.log but matches line \""
                                 . _fmt($hit) . "\" (req $rep)");
            } else {
                Test::More::pass("$name - pattern \"$p\" does not match a line in error.log (req $rep)");
            }
        }
    }

    $lines ||= error_log_data();
    for my $line (@$lines) {
        for my $tag (grep { $warn_on{$_} } keys %warn_on) {
            warn "WARNING: $name - " . _fmt($line) . "\n" if index($line, $tag) >= 0;
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            Test::More::fail("$name - $l\n");
        }
    }
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - the project's fallback runner for Test::Nginx suites

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    repeat_each(2);
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello
    --- no_error_log
    [error]

=head1 DESCRIPTION

Implements the subset of openresty/test-nginx listed in TEST-NGINX.md, with
plain core Perl.  t/run.sh puts it on @INC only when the real Test::Nginx is
not importable.  Differences from the real one: sections outside the subset
make the block bail out; Test::Base filters other than C<eval>, C<chomp>,
C<norm>, C<trim> are refused; a failing C<eval> filter bails out instead of
yielding the error text.

=cut
