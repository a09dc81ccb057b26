# ngx_http_users_module
#
#   make            build the dynamic module and the users-admin tool
#   make test       install what is missing, build, run the Test::Nginx suites
#   make demo       install what is missing, build, start Redis + nginx with data
#   make demo-stop  stop what make demo started
#   make bench      benchmark against the static ceiling and OpenResty
#   make deps       apt-get install what is missing (Debian 12)

NGINX_SRC   ?= /usr/share/nginx/src
BUILD       := $(CURDIR)/build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(BUILD)/ngx_http_users_module.so
ADMIN       := $(BUILD)/users-admin
CC          ?= cc
CFLAGS_USER ?=

MODULE_SRCS := config ngx_http_users_module.c $(wildcard src/*.c src/*.h)

.PHONY: all deps test demo demo-stop bench unit fuzz clean

all: $(MODULE) $(ADMIN)

deps:
	@scripts/deps.sh

# Configure a private copy of the nginx tree with the flags of the nginx
# we load into: Debian ships them in conf_flags; a plain source tree is
# configured with --with-compat only.
$(NGX_BUILD)/objs/Makefile: config
	@rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && \
	    if [ -f conf_flags ]; then \
	        bash -c '. ./conf_flags && \
	            exec ./configure "$${NGX_CONF_FLAGS[@]}" \
	            --with-cc-opt="-g -O2 -fPIC $(CFLAGS_USER)" \
	            --add-dynamic-module=$(CURDIR)' ; \
	    else \
	        ./configure --with-compat --with-http_ssl_module --with-threads \
	            --with-cc-opt="-g -O2 -fPIC $(CFLAGS_USER)" \
	            --add-dynamic-module=$(CURDIR) ; \
	    fi > $(BUILD)/configure.log 2>&1 || \
	    { tail -20 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_users_module.so $@

$(ADMIN): tools/users-admin.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -g -Wall -Wextra -o $@ $< -lhiredis -lyajl -lcrypto

test: deps all
	@t/run.sh

demo: deps all
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

bench: deps all
	@bench/run.sh

unit: $(NGX_BUILD)/objs/Makefile
	t/unit/run.sh

fuzz: $(NGX_BUILD)/objs/Makefile
	fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) t/servroot
