# bounceguard — build, test and install.
#
#   make                 build the library, the three programs and the unit tests
#   make test            unit tests + integration tests (real Postfix, Sendmail, DNS)
#   make test-unit       unit tests only
#   make run             start the milter in the foreground with conf/demo.conf
#   make demo            a scripted tour through a private Postfix on loopback
#   make bench           benchmarks, writes docs/BENCHMARKS.md
#   make install         PREFIX=/usr/local DESTDIR= (UNITDIR, TMPFILESDIR, ...)
#   make uninstall       the same variables: removes what install put there
#   make asan            the same tests built with AddressSanitizer + UBSan
#   make valgrind        the unit tests under valgrind memcheck (tests/valgrind.supp)
#   make deb             the Debian package (debian/), into build-deb/
#
# Every object goes under $(BUILD) (default build/), so several builds (plain,
# ASan) can live side by side.  Sources are found by wildcard: a new module is a
# new lib/NAME.c + include/bounceguard/NAME.h, a new unit test tests/unit/test_NAME.c.

PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# systemd's units and tmpfiles.d: where the distribution's own go for
# PREFIX=/usr, else under PREFIX (systemd also reads /usr/local/lib/...).
ifeq ($(PREFIX),/usr)
UNITDIR     ?= /lib/systemd/system
TMPFILESDIR ?= /usr/lib/tmpfiles.d
else
UNITDIR     ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
endif
DESTDIR   ?=
BUILD     ?= build

CC        ?= cc
# -O3: the DSN parser's byte loops gain about 3 % over -O2 (callgrind, bench/dsn_parse).
OPT       ?= -O3 -g
WARN       = -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wshadow \
             -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
             -Wvla -Wno-unused-parameter
HARDEN     = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
             -fstack-clash-protection
SANITIZE  ?=
CPPFLAGS  += -Iinclude -D_GNU_SOURCE
CFLAGS    += -std=c11 $(OPT) $(WARN) $(HARDEN) $(SANITIZE) -MMD -MP \
             $(shell pkg-config --cflags libpsl libidn2 jansson libcares hiredis libmicrohttpd)
LDFLAGS   += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANITIZE)
LIBS       = $(shell pkg-config --libs libpsl libidn2 jansson libcares hiredis) \
             -ldb -lspf2 -lresolv -lnettle -lpthread
MILTERLIBS = $(shell pkg-config --libs milter)
# the milter's /metrics (metrics_listen): an HTTP server from Debian, not one of ours
HTTPLIBS   = $(shell pkg-config --libs libmicrohttpd)
CHECKLIBS  = $(shell pkg-config --libs check)

LIB_SRC    = $(wildcard lib/*.c)
LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA       = $(BUILD)/libbounceguard.a

MILTER_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard milter/*.c))
DSN_OBJ    = $(patsubst %.c,$(BUILD)/%.o,$(wildcard dsn/*.c))
CLI_OBJ    = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))

# A program is built once its folder has sources.
PROGS      = $(if $(MILTER_OBJ),$(BUILD)/bounceguard-milter) \
             $(if $(DSN_OBJ),$(BUILD)/bounceguard-dsn) \
             $(if $(CLI_OBJ),$(BUILD)/bounceguard)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC   = $(wildcard tests/tools/*.c)
TOOL_BIN   = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC  = $(wildcard bench/*.c)
BENCH_BIN  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test test-unit test-integration test-long run demo bench install uninstall asan \
        clean format lint fuzz tidy deb valgrind

MAN_GEN    = $(BUILD)/man/bounceguard.conf.5

all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN) $(MAN_GEN)

# bounceguard.conf(5) takes its KEYS section from the key table of lib/config.c.
$(BUILD)/man/bounceguard.conf.5: man/bounceguard.conf.5.in $(BUILD)/tools/conf_man
	@mkdir -p $(dir $@)
	$(BUILD)/tools/conf_man < $< > $@

# Unit tests find their data (conf/, tests/data/) from the source tree.
$(BUILD)/tests/unit/%.o: CPPFLAGS += -DSRCDIR=\"$(CURDIR)\"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bounceguard-milter: $(MILTER_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(MILTERLIBS) $(HTTPLIBS) $(LIBS)

$(BUILD)/bounceguard-dsn: $(DSN_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bounceguard: $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The store-backed tests' temporary store (tests/unit/store_fixture.h).
UNIT_FIXTURE = $(BUILD)/tests/unit/store_fixture.o

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_FIXTURE) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECKLIBS) $(LIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MILTERLIBS) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MILTERLIBS) $(LIBS)

test: all
	BUILD=$(BUILD) tests/run-all

test-unit: all
	BUILD=$(BUILD) tests/run-all --unit

test-integration: all
	BUILD=$(BUILD) tests/run-all --integration

test-long: all
	BUILD=$(BUILD) tests/run-all --long

# the unit tests under valgrind's memcheck (tests/valgrind.sh)
valgrind: all
	BUILD=$(BUILD) tests/valgrind.sh

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all" test

run: all
	scripts/run-demo

demo: all
	BUILD=$(BUILD) DEMO_SMTPD_PORT=$(DEMO_SMTPD_PORT) DEMO_SINK_PORT=$(DEMO_SINK_PORT) \
	    DEMO_REFUSER_PORT=$(DEMO_REFUSER_PORT) DEMO_MILTER_PORT=$(DEMO_MILTER_PORT) \
	    DEMO_DIR=$(DEMO_DIR) scripts/demo

bench: all $(BENCH_BIN)
	BUILD=$(BUILD) bench/run

# The units name the programs where this install puts them (SBINDIR) and the
# config it installs (SYSCONFDIR): substituted here, not at build time, so
# that `make && make install PREFIX=/usr` cannot install units of another
# PREFIX.  The files of $(SYSCONFDIR) are the operator's (Debian's
# conffiles): one already there is kept, one that differs from ours is kept
# by uninstall (install-conffile / uninstall-conffile below).
UNITS      = bounceguard-milter.service bounceguard-dsn-log.service
CONFFILES  = bounceguard/bounceguard.conf:conf/bounceguard.conf \
             logrotate.d/bounceguard:conf/logrotate
MAN8       = $(notdir $(wildcard man/*.8))

install: $(PROGS) $(MAN_GEN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/bounceguard $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(BUILD)/bounceguard-milter $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BUILD)/bounceguard-dsn $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BUILD)/bounceguard $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN_GEN) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	for u in $(UNITS); do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        conf/$$u.in > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 conf/tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/bounceguard.conf
	for cf in $(CONFFILES); do \
	    dst=$(DESTDIR)$(SYSCONFDIR)/$${cf%%:*} src=$${cf#*:}; \
	    if [ ! -e "$$dst" ]; then install -m 644 "$$src" "$$dst" || exit 1; \
	    elif ! cmp -s "$$src" "$$dst"; then \
	        echo "make install: kept $$dst, which differs from $$src"; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/bounceguard-milter $(DESTDIR)$(SBINDIR)/bounceguard-dsn \
	    $(DESTDIR)$(BINDIR)/bounceguard $(DESTDIR)$(MANDIR)/man5/bounceguard.conf.5 \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(MAN8)) \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(DESTDIR)$(TMPFILESDIR)/bounceguard.conf
	for cf in $(CONFFILES); do \
	    dst=$(DESTDIR)$(SYSCONFDIR)/$${cf%%:*} src=$${cf#*:}; \
	    if [ ! -e "$$dst" ] || cmp -s "$$src" "$$dst"; then rm -f "$$dst"; \
	    else echo "make uninstall: kept $$dst, which differs from $$src"; fi; \
	done
	rmdir $(DESTDIR)$(SYSCONFDIR)/bounceguard 2>/dev/null || true

# Built by dpkg-buildpackage in a copy of the tree under /tmp: build/ is
# left alone.  scripts/install-deps-deb installs the packaging tools.
deb:
	scripts/build-deb

format:
	clang-format -i include/bounceguard/*.h lib/*.c milter/*.c dsn/*.c cli/*.c \
	    tests/unit/*.c

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -Iinclude lib milter dsn cli

# clang-tidy with the checks of .clang-tidy (bugprone, CERT, the analyzer), two at once.
tidy:
	ls lib/*.c milter/*.c dsn/*.c cli/*.c | xargs -P2 -n8 sh -c 'clang-tidy --quiet "$$@" \
	    -- -std=c11 -Iinclude -D_GNU_SOURCE $(shell pkg-config --cflags libpsl libidn2 \
	    jansson libcares milter hiredis libmicrohttpd)' clang-tidy

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
