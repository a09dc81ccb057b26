# ngx_http_users_module
#
#   make            build the dynamic module and the users-admin tool
#   make test       install what is missing, build, run the unit tests and
#                   the Test::Nginx suites
#   make NGINX_SRC=dir [test]
#                   the same against another nginx source tree (a release
#                   tarball or a git checkout): a full nginx is built from
#                   it and the suites run against that binary
#   make test-asan  the suites again, the module built with ASan and UBSan
#   make test-valgrind  a representative subset under valgrind
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (default 60)
#   make demo       install what is missing, build, start Redis + nginx with data
#                   (CLUSTER=1: a 3-primary, 3-replica Redis Cluster)
#   make demo-stop  stop what make demo started
#   make bench      benchmark against the static ceiling and OpenResty
#   make bench-cluster  one Redis against a Redis Cluster; failover, reshard
#   make deps       apt-get install what is missing (Debian 12)

DEBIAN_SRC  := /usr/share/nginx/src
NGINX_SRC   ?= $(DEBIAN_SRC)
BUILD       := $(CURDIR)/build
CC          ?= cc
CFLAGS_USER ?=
LDFLAGS_USER ?=

# The version of the tree: "1.28.3" from src/core/nginx.h (empty when the
# tree is missing; the configure step then says so).
NGINX_VER   := $(shell sed -n 's/^\#define NGINX_VERSION *"\([^"]*\)".*/\1/p' \
                 $(NGINX_SRC)/src/core/nginx.h 2>/dev/null)

# Debian's tree builds only the module, for Debian's /usr/sbin/nginx, in
# build/. Any other tree builds a whole nginx and the module in
# build/nginx-VERSION/, so that trees never share objects.
ifeq ($(abspath $(NGINX_SRC)),$(DEBIAN_SRC))
OUT         := $(BUILD)
NGX_BUILD   := $(BUILD)/nginx
NGINX_BIN   := /usr/sbin/nginx
NGINX_DEP   :=
else
OUT         := $(BUILD)/nginx-$(NGINX_VER)
NGX_BUILD   := $(OUT)/nginx
NGINX_BIN   := $(NGX_BUILD)/objs/nginx
NGINX_DEP   := $(NGINX_BIN)
endif

MODULE      := $(OUT)/ngx_http_users_module.so
ADMIN       := $(BUILD)/users-admin

# What the configured tree was made from: the tree's path and version and
# the flags. The stamp is rewritten only when one of them changes, and a
# change reconfigures (another checkout of the same version included).
NGX_STAMP   := $(OUT)/nginx-source
NGX_SOURCE  := $(abspath $(NGINX_SRC)) $(NGINX_VER) \
               $(CFLAGS_USER) $(LDFLAGS_USER)
ifeq ($(filter clean deps demo-stop,$(MAKECMDGOALS)),)
$(shell mkdir -p $(OUT) && { [ "$$(cat $(NGX_STAMP) 2>/dev/null)" = \
          '$(NGX_SOURCE)' ] || echo '$(NGX_SOURCE)' > $(NGX_STAMP); })
endif

# A tree other than Debian's: the modules the suites and the operators'
# builds use; HTTP/3 where the tree has it (1.25 and later).
SRC_FLAGS   := --with-compat --with-debug --with-threads --with-pcre-jit \
               --with-http_ssl_module --with-http_v2_module \
               --with-http_realip_module --with-http_auth_request_module \
               --with-http_stub_status_module \
               $(if $(wildcard $(NGINX_SRC)/src/http/v3),--with-http_v3_module)

MODULE_SRCS := config ngx_http_users_module.c $(wildcard src/*.c src/*.h)

.PHONY: all nginx deps deps-h3 test test-asan test-valgrind demo demo-stop \
        bench bench-scale bench-cluster faults unit fuzz clean

all: $(MODULE) $(ADMIN)

deps:
	@scripts/deps.sh

# t/081's HTTP/3 client (Debian's ngtcp2-client), for an nginx built here;
# without it t/081 skips HTTP/3 and says so
deps-h3:
	@[ -n "$$USERS_NO_DEPS" ] || command -v gtlsclient >/dev/null || \
	    { echo "deps: installing ngtcp2-client"; \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	          --no-install-recommends ngtcp2-client >/dev/null; } || true

# Configure a private copy of the nginx tree. Debian's ships the flags of
# the nginx we load into (conf_flags); another tree gets SRC_FLAGS. A
# release tarball has ./configure, a git checkout auto/configure.
$(NGX_BUILD)/objs/Makefile: config $(NGX_STAMP)
	@[ -n "$(NGINX_VER)" ] || \
	    { echo "NGINX_SRC=$(NGINX_SRC): no src/core/nginx.h there"; exit 1; }
	@rm -rf $(NGX_BUILD) && mkdir -p $(OUT)
	cp -r $(NGINX_SRC) $(NGX_BUILD)
	rm -rf $(NGX_BUILD)/objs $(NGX_BUILD)/Makefile
	cd $(NGX_BUILD) && \
	    if [ -x configure ]; then conf=./configure; \
	    else conf=auto/configure; fi && \
	    if [ -f conf_flags ]; then \
	        bash -c '. ./conf_flags && \
	            exec '$$conf' "$${NGX_CONF_FLAGS[@]}" \
	            --with-cc-opt="-g -O2 -fPIC $(CFLAGS_USER)" \
	            --with-ld-opt="$(LDFLAGS_USER)" \
	            --add-dynamic-module=$(CURDIR)' ; \
	    else \
	        $$conf $(SRC_FLAGS) \
	            --with-cc-opt="-g -O2 -fPIC -Werror $(CFLAGS_USER)" \
	            --with-ld-opt="$(LDFLAGS_USER)" \
	            --add-dynamic-module=$(CURDIR) ; \
	    fi > $(OUT)/configure.log 2>&1 || \
	    { tail -20 $(OUT)/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_users_module.so $@.new
	mv -f $@.new $@    # a new file: a running nginx keeps the old one

# the whole nginx of a tree other than Debian's, for the suites
# (`make nginx NGINX_SRC=dir`; nothing to build for Debian's)
nginx: $(NGINX_DEP)

$(NGX_BUILD)/objs/nginx: $(NGX_BUILD)/objs/Makefile
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile binary

$(ADMIN): tools/users-admin.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -g -Wall -Wextra -o $@ $< -lhiredis -lyajl -lcrypto

# Under CI (CI=true) the suites that assert no timings run once more
# against the module built with ASan and UBSan; `make test-asan` runs all.
ASAN_CI_TESTS := t/010-list.t t/030-accounts.t t/031-users-v1.t \
                 t/032-workspace-users.t t/033-project-users.t \
                 t/034-identity-users.t t/040-auth.t t/041-tenants.t \
                 t/043-auth-compose.t t/091-cluster-reshard.t \
                 t/096-cluster-config.t

test: deps $(if $(NGINX_DEP),deps-h3) all $(NGINX_DEP)
	@NGX_BUILD=$(NGX_BUILD) t/unit/run.sh
	@TEST_NGINX_BINARY=$(NGINX_BIN) TEST_NGINX_LOAD_MODULES=$(MODULE) \
	    t/run.sh
	@if [ "$$CI" = true ]; then \
	    $(MAKE) --no-print-directory test-asan ASAN_TESTS="$(ASAN_CI_TESTS)"; \
	fi
	@if [ "$$CI" = true ] && [ -z "$(NGINX_DEP)" ] \
	    && [ "$$(id -u)" -eq 0 ]; then \
	    $(MAKE) --no-print-directory test-deb; \
	fi

# The whole suite against the module built with AddressSanitizer and
# UndefinedBehaviorSanitizer, loaded into the distribution's nginx with the
# sanitizer runtimes preloaded. Any report fails the run.
ASAN_BUILD := $(CURDIR)/build/asan
ASAN_MODULE := $(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(MODULE))
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined

test-asan: deps
	$(MAKE) BUILD=$(ASAN_BUILD) CFLAGS_USER="$(SAN_FLAGS) -O1" \
	    LDFLAGS_USER="$(SAN_FLAGS)" $(ASAN_MODULE)
	$(MAKE) all $(NGINX_DEP)
	@rm -f $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.*
	@printf '#!/bin/sh\nLD_PRELOAD="%s %s" exec %s "$$@"\n' \
	    "$$($(CC) -print-file-name=libasan.so)" \
	    "$$($(CC) -print-file-name=libubsan.so)" "$(NGINX_BIN)" \
	    > $(ASAN_BUILD)/nginx-asan
	@chmod +x $(ASAN_BUILD)/nginx-asan
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(ASAN_BUILD)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_BUILD)/ubsan \
	TEST_NGINX_LOAD_MODULES=$(ASAN_MODULE) \
	TEST_NGINX_BINARY=$(ASAN_BUILD)/nginx-asan \
	    t/run.sh $(ASAN_TESTS); rc=$$?; \
	if ls $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.* >/dev/null 2>&1; then \
	    cat $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.* 2>/dev/null | head -100; \
	    echo "test-asan: sanitizer reports above"; exit 1; \
	fi; exit $$rc

# CLUSTER=1: the data in a 3-primary, 3-replica Redis Cluster on loopback
demo: deps all
	@USERS_DEMO_CLUSTER=$(CLUSTER) scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

bench: deps all
	@bench/run.sh

bench-scale: deps all
	@bench/scale.sh

# one Redis against a 3+3 cluster; failover and reshard timelines
bench-cluster: deps all
	@bench/cluster.pl $(CLUSTER_PART)

# Redis killed, stalled, restarted, connections dropped, reloads and a
# binary upgrade under load; then a million requests and the worker's RSS
faults: deps all
	@bench/faults.sh $(FAULTS_PART)

# a representative subset under valgrind (TEST_NGINX_USE_VALGRIND)
test-valgrind: deps all
	@t/valgrind.sh

unit: $(NGX_BUILD)/objs/Makefile
	NGX_BUILD=$(NGX_BUILD) t/unit/run.sh

fuzz: $(NGX_BUILD)/objs/Makefile
	NGX_BUILD=$(NGX_BUILD) fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) t/servroot

# ---------------------------------------------------------------- Debian
#
#   make deb       build/deb/libnginx-mod-http-users_<version>_<arch>.deb,
#                  built as Debian builds its nginx modules (debian/,
#                  dh-sequence-nginx), then checked by lintian if installed
#   make test-deb  install that package with dpkg, nginx -t, one request
#                  through a shipped conf file, purge (root; t/deb.sh)
#
# The tree is copied to build/deb/libnginx-mod-http-users/ and built there:
# dpkg-buildpackage writes its results in the parent directory, build/deb/,
# and nothing lands in the checkout or outside it.

DEB_PKG     := libnginx-mod-http-users
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR     := $(BUILD)/deb
DEB_FILE    := $(DEB_DIR)/$(DEB_PKG)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRCS    := $(MODULE_SRCS) tools/users-admin.c redis/users.lua \
               $(wildcard conf/*.conf debian/* debian/source/*) \
               docs/users-admin.1 README.md docs/SCHEMA.md docs/SECURITY.md
LINTIAN     ?= lintian

.PHONY: deb test-deb

deb: $(DEB_FILE)

$(DEB_FILE): $(DEB_SRCS)
	@scripts/deps.sh deb
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/$(DEB_PKG)
	@tar -cf - --exclude=./build --exclude=./.git --exclude=./t/servroot \
	    --exclude=./fuzz/out . | tar -xf - -C $(DEB_DIR)/$(DEB_PKG)
	@echo "deb: dpkg-buildpackage -us -uc -b (log in $(DEB_DIR)/build.log)"
	@cd $(DEB_DIR)/$(DEB_PKG) && \
	    dpkg-buildpackage -us -uc -b -Jauto > $(DEB_DIR)/build.log 2>&1 || \
	    { tail -30 $(DEB_DIR)/build.log; exit 1; }
	@rm -rf $(DEB_DIR)/$(DEB_PKG)
	@if command -v $(LINTIAN) >/dev/null; then \
	    echo "deb: $(LINTIAN)"; \
	    $(LINTIAN) --fail-on error $(DEB_DIR)/*.changes || \
	        { rm -f $(DEB_FILE); exit 1; }; \
	else \
	    echo "deb: lintian not installed, not run"; \
	fi
	@ls -l $(DEB_DIR)/*.deb

test-deb: deps $(DEB_FILE)
	@t/deb.sh $(DEB_FILE)
