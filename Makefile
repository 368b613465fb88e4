# nbnet: run shell commands sent over TCP port 9079, output streamed back.
# `make run` and `make check` do all the set-up on a fresh Debian/Ubuntu machine.

VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/nbnet
# Where bash-completion and Ansible look with no setting: completions by
# command name, connection plugins by file name.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ANSIBLEPLUGINDIR ?= $(PREFIX)/share/ansible/plugins/connection
# /etc for PREFIX=/usr (packages), PREFIX/etc otherwise (/usr/local/etc).
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
SYSUSERSDIR ?= $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
# -Werror for our own builds (make check, lint); distribution builds set
# WERROR= (debian/rules, nbnet.spec): a newer compiler's new warning must not
# fail a package build.
WERROR ?= -Werror
WARNINGS := -Wall -Wextra $(WERROR) -Wshadow -Wconversion -Wsign-conversion -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla -Wundef
# SANITIZE=address,undefined builds instrumented binaries under build/san/.
SANITIZE ?=

ifeq ($(SANITIZE),)
OUT := .
OBJ := build/obj
SANFLAGS :=
else
OUT := build/san
OBJ := build/san/obj
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# BUILDDIR=build/clang (with CC=clang) puts a whole build there, apart from the default one.
BUILDDIR ?=
ifneq ($(BUILDDIR),)
OUT := $(BUILDDIR)
OBJ := $(BUILDDIR)/obj
endif

SYSTEMD_CFLAGS = $(shell pkg-config --cflags libsystemd 2>/dev/null)
SYSTEMD_LIBS = $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
# libmunge: the servers decode MUNGE credentials, the clients make them.
MUNGE_LIBS = $(shell pkg-config --libs munge 2>/dev/null || echo -lmunge)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DNBNET_VERSION='"$(VERSION)"' $(WARNINGS) $(SYSTEMD_CFLAGS) \
	$(CPPFLAGS) $(SANFLAGS) $(CFLAGS)
# CFLAGS on the link line too: packagers' -flto or -fsanitize need it there.
ALL_LDFLAGS = $(SANFLAGS) $(CFLAGS) $(LDFLAGS)

COMMON := frame spawn launchpad direct shsyntax shenv sock log args policy cmdtable options proc request auth \
	runas userdb readfile conffile
HANDLER_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(COMMON) orphans cgroup authq tmpdir listen rendezvous pairing notices conn handler))
NBNETD_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(COMMON) orphans cgroup listen metrics notices authq tmpdir pairs server conn nbnetd))
# What the client and the load generator share: target (where to connect),
# frame (the wire format: building the request, the trailer), response (held-back tail),
# sock (sending a request whole), token (the stderr channel's).
CLIENT_COMMON := frame args target response auth credential sock token
CLIENT_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(CLIENT_COMMON) session cmdline config \
	serverline client))
LOAD_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(CLIENT_COMMON) histogram report load))
CHECK_OBJS := $(addprefix $(OBJ)/,$(addsuffix .o,$(CLIENT_COMMON) session check_nbnet))
PROGRAMS := $(OUT)/bin/nbnet-handler $(OUT)/bin/nbnetd $(OUT)/bin/nbnet $(OUT)/bin/nbnet-load \
	$(OUT)/bin/check_nbnet
UNIT_TEST_NAMES := test-frame test-spawn test-log test-policy test-cmdtable \
	test-response test-target test-histogram test-report \
	test-shsyntax test-shenv test-conn test-tmpdir test-args test-client test-conffile
UNIT_TESTS := $(addprefix $(OUT)/bin/,$(UNIT_TEST_NAMES))
MAN_PAGES := $(wildcard man/*.[0-9])
# The documentation that ships (DOCDIR, flat): for the users, not the developers
# (doc/HACKING.md, doc/testing.md). tests/packaging/rpm-files.expected lists them.
DOCS := README.md doc/protocol.md doc/security.md doc/servers.md doc/many-hosts.md \
	doc/monitoring.md doc/direct-exec.md doc/configuration.md
# SYSCONFDIR/nbnet: each server's configuration file and an example command table.
CONF_FILES := etc/nbnetd.conf etc/handler.conf etc/commands.conf
# Example drop-ins, under DOCDIR/examples/ in the folders systemd reads them from.
EXAMPLE_DIRS := nbnetd.socket.d nbnetd.service.d nbnet@.service.d
# bench/: the machine's limits that `make bench` measures nbnet against.
# Built under build/bench/ (not ./bench, the sources, nor the `bench` target).
BENCH_DIR := $(if $(filter .,$(OUT)),build,$(OUT))/bench
BENCH_PROGRAMS := $(BENCH_DIR)/spawn-limit $(BENCH_DIR)/sock-source $(BENCH_DIR)/rtt \
	$(BENCH_DIR)/sock-sink $(BENCH_DIR)/null-server

.PHONY: all deps build-deps run check test unit bats verify-units check-man install uninstall clean distclean
.PHONY: clang-build fuzz fuzz-frame fuzz-commands deb rpm bench bench-deps bench-programs bench-fanout

all: $(PROGRAMS)

# Everything make check uses (as root or with sudo; apt-get on Debian/Ubuntu).
deps:
	@sh tools/deps

# What compiling needs, no more: gcc, make, pkg-config, libsystemd's headers.
build-deps:
	@sh tools/deps build

# src/common: the shared core (wire format, request, spawn, policy, log...);
# src/server: nbnet-handler and nbnetd; src/client: nbnet and nbnet-load.
# Each folder sees its own headers and the core's, so the core cannot lean
# on a server or a client, nor a server on the client.
HEADERS := $(wildcard src/*/*.h)
SRC_INCLUDES := -Isrc/common -Isrc/server -Isrc/client

$(OBJ)/%.o: src/common/%.c $(HEADERS) | $(OBJ)
	$(CC) $(ALL_CFLAGS) -Isrc/common -c -o $@ $<

$(OBJ)/%.o: src/server/%.c $(HEADERS) | $(OBJ)
	$(CC) $(ALL_CFLAGS) -Isrc/common -Isrc/server -c -o $@ $<

$(OBJ)/%.o: src/client/%.c $(HEADERS) | $(OBJ)
	$(CC) $(ALL_CFLAGS) -Isrc/common -Isrc/client -c -o $@ $<

$(OBJ)/test-%.o: tests/unit/test-%.c $(HEADERS) | $(OBJ)
	$(CC) $(ALL_CFLAGS) $(SRC_INCLUDES) -c -o $@ $<

# A pristine machine lacks libsystemd's headers: say what to run, not "sd-journal.h: No such file".
$(OBJ) $(OUT)/bin: | have-build-deps
	mkdir -p $@

.PHONY: have-build-deps
have-build-deps:
	@pkg-config --exists libsystemd 2>/dev/null || { \
		echo "nbnet: the build dependencies are missing (pkg-config, libsystemd-dev):" \
			"run 'make build-deps' first (as root or with sudo; make run does it itself)" >&2; exit 1; }

$(OUT)/bin/nbnet-handler: $(HANDLER_OBJS) | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SYSTEMD_LIBS) $(MUNGE_LIBS)

# -pthread: nbnetd decodes MUNGE credentials on a thread of their own (authq.c).
$(OUT)/bin/nbnetd: $(NBNETD_OBJS) | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(SYSTEMD_LIBS) $(MUNGE_LIBS)

$(OUT)/bin/nbnet: $(CLIENT_OBJS) | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MUNGE_LIBS)

$(OUT)/bin/nbnet-load: $(LOAD_OBJS) | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MUNGE_LIBS) -lm

$(OUT)/bin/check_nbnet: $(CHECK_OBJS) | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MUNGE_LIBS)

$(OUT)/bin/test-frame: $(OBJ)/test-frame.o $(OBJ)/frame.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-spawn: $(OBJ)/test-spawn.o $(OBJ)/spawn.o $(OBJ)/launchpad.o $(OBJ)/direct.o $(OBJ)/shsyntax.o $(OBJ)/shenv.o $(OBJ)/sock.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-log: $(OBJ)/test-log.o $(OBJ)/log.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(SYSTEMD_LIBS)

$(OUT)/bin/test-policy: $(OBJ)/test-policy.o $(OBJ)/policy.o $(OBJ)/args.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-cmdtable: $(OBJ)/test-cmdtable.o $(OBJ)/cmdtable.o $(OBJ)/readfile.o $(OBJ)/policy.o \
		$(OBJ)/args.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-conffile: $(OBJ)/test-conffile.o $(OBJ)/conffile.o $(OBJ)/readfile.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-args: $(OBJ)/test-args.o $(OBJ)/args.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-response: $(OBJ)/test-response.o $(OBJ)/response.o $(OBJ)/frame.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-client: $(OBJ)/test-client.o $(OBJ)/frame.o $(OBJ)/serverline.o $(OBJ)/config.o \
		$(OBJ)/args.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-target: $(OBJ)/test-target.o $(OBJ)/target.o $(OBJ)/args.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-histogram: $(OBJ)/test-histogram.o $(OBJ)/histogram.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) -lm

$(OUT)/bin/test-report: $(OBJ)/test-report.o $(OBJ)/report.o $(OBJ)/histogram.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) -lm

# The direct path: which lines need no shell, the environment dash exports.
$(OUT)/bin/test-shsyntax: $(OBJ)/test-shsyntax.o $(OBJ)/shsyntax.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(OUT)/bin/test-shenv: $(OBJ)/test-shenv.o $(OBJ)/shenv.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

# The commands' TMPDIRs: tmpdir.c's worker on a real loop, and the spawn child's side.
$(OUT)/bin/test-tmpdir: $(OBJ)/test-tmpdir.o $(OBJ)/tmpdir.o $(OBJ)/spawn.o $(OBJ)/launchpad.o \
		$(OBJ)/direct.o $(OBJ)/shsyntax.o $(OBJ)/shenv.o $(OBJ)/sock.o | $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(CMOCKA_LIBS) $(SYSTEMD_LIBS)

# nbnetd's connection state machine alone: a real loop, spawn, orphans and
# decoding thread, a fake owner; and a fake munged and NSS: the test's own
# auth_decode (no auth.o, no libmunge) and userdb_lookup answer when the test says.
$(OUT)/bin/test-conn: $(OBJ)/test-conn.o $(OBJ)/conn.o $(OBJ)/notices.o $(OBJ)/authq.o $(OBJ)/orphans.o $(OBJ)/tmpdir.o \
		$(OBJ)/cgroup.o $(addprefix $(OBJ)/,$(addsuffix .o,$(filter-out auth userdb,$(COMMON)))) \
		| $(OUT)/bin
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(CMOCKA_LIBS) $(SYSTEMD_LIBS)

$(BENCH_DIR):
	mkdir -p $@

$(BENCH_DIR)/spawn-limit: bench/spawn-limit.c $(OBJ)/spawn.o $(OBJ)/launchpad.o $(OBJ)/direct.o \
		$(OBJ)/shsyntax.o $(OBJ)/shenv.o $(OBJ)/sock.o $(OBJ)/tmpdir.o $(OBJ)/cgroup.o | $(BENCH_DIR)
	$(CC) $(ALL_CFLAGS) $(SRC_INCLUDES) $(ALL_LDFLAGS) -pthread -o $@ $^ $(SYSTEMD_LIBS)

$(BENCH_DIR)/sock-source: bench/sock-source.c | $(BENCH_DIR)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^

$(BENCH_DIR)/rtt: bench/rtt.c | $(BENCH_DIR)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^

$(BENCH_DIR)/sock-sink: bench/sock-sink.c | $(BENCH_DIR)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^

$(BENCH_DIR)/null-server: bench/null-server.c | $(BENCH_DIR)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^

bench-programs: $(PROGRAMS) $(BENCH_PROGRAMS)

# nbnet against the machine's limits and its peers, in one run (bench/run):
# a few minutes; the peers are installed first.
bench-deps:
	@sh tools/deps bench

bench: bench-deps
	$(MAKE) SANITIZE= bench-programs
	bash bench/run

# Only the fan-out part of bench/run (bench/fanout): uname -r on 1,000 loopback
# addresses of a network namespace of its own, through pdsh, clush and
# Ansible, over nbnet and ssh; root. About half an hour on a 2-core machine.
bench-fanout: bench-deps
	$(MAKE) SANITIZE= bench-programs
	bash bench/fanout

# SOAK_SECONDS (default 60) of mixed and misbehaving load on nbnetd (SOAK_MODES="nbnetd
# accept" adds the handler); then descriptors, children and RSS must be back (tests/soak).
# Not part of make check.
.PHONY: soak
soak: all
	bash tests/soak

# Installs the missing build dependencies only (make build-deps), builds, and
# runs nbnetd in the foreground on both loopback addresses; no systemd needed.
# As root, commands run as nobody, in / (which nobody may list, unlike a
# checkout in a home of mode 0750); otherwise as the invoking user, who is
# warned that they can then signal and trace the server. make run PORT=N
# serves port N instead of 9079.
RUN_PORT = $(if $(PORT),$(PORT),9079)
RUN_LISTEN = --listen 127.0.0.1:$(RUN_PORT) --listen [::1]:$(RUN_PORT)
RUN_TRY = try: echo -n 0000000002ls | nc -N 127.0.0.1 $(RUN_PORT)
run: build-deps
	$(MAKE) all
	@if [ "$$(id -u)" -eq 0 ]; then \
		echo "nbnet: serving on 127.0.0.1:$(RUN_PORT) and [::1]:$(RUN_PORT) (Ctrl-C stops); commands run as nobody (--run-as nobody), in /; $(RUN_TRY)"; \
		cd / && exec "$(CURDIR)/bin/nbnetd" $(RUN_LISTEN) --run-as nobody; \
	else \
		echo "nbnet: serving on 127.0.0.1:$(RUN_PORT) and [::1]:$(RUN_PORT) (Ctrl-C stops); commands run as you, $$(id -un), and can signal and trace the server (make run as root runs them as nobody); $(RUN_TRY)"; \
		exec bin/nbnetd $(RUN_LISTEN); \
	fi

# Unit tests, the bats suite in every mode, the suite again under sanitizers,
# and the units through systemd-analyze: one "N passed, N failed" line at the end.
check: deps
	$(MAKE) SANITIZE= all $(addprefix bin/,$(UNIT_TEST_NAMES)) bench-programs
	$(MAKE) SANITIZE=address,undefined all $(addprefix build/san/bin/,$(UNIT_TEST_NAMES))
	bash tests/run-all

test: check

# The cmocka unit tests alone: what a package build runs (%check, dh_auto_test).
unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t || exit 1; done

# What man -l would warn about, as errors: groff prints warnings but exits 0.
check-man:
	@fail=0; for page in $(MAN_PAGES); do \
		out=$$(groff -man -ww -z "$$page" 2>&1); \
		if [ -n "$$out" ]; then echo "$$page:"; echo "$$out"; fail=1; fi; \
	done; exit $$fail

# The whole project once more with clang and the same -Werror warnings, under build/clang/.
clang-build:
	$(MAKE) CC=clang BUILDDIR=build/clang all $(addprefix build/clang/bin/,$(UNIT_TEST_NAMES)) \
		bench-programs

# Static analysis, every finding an error (`make -k lint` reports all four):
# cppcheck on all the C; clang-tidy (.clang-tidy) on src/, two files at a time;
# shellcheck on every shell script git knows (by shebang, the sourced *.bash,
# the bash completion, the .bats files); clang-format (.clang-format, clang-format 14) --dry-run on all the C.
CPPCHECK ?= cppcheck
CLANG_TIDY ?= clang-tidy
CLANG_FORMAT ?= clang-format
SHELLCHECK ?= shellcheck
LINT_C = $(wildcard src/*/*.c tests/unit/*.c tests/fuzz/*.c bench/*.c)
LINT_H = $(wildcard src/*/*.h tests/unit/*.h tests/fuzz/*.h bench/*.h)
LINT_DEFS := -D_GNU_SOURCE -DNBNET_VERSION='"$(VERSION)"' $(SRC_INCLUDES)
SHELL_SCRIPTS = $(shell git ls-files | xargs awk 'FNR == 1 && /^\#!(\/usr)?\/bin\/(env )?(ba|da)?sh( |$$)/ \
	{ print FILENAME } { nextfile }') $(wildcard tests/*.bash tests/lib/*.bash tests/systemd/*.bash bench/*.bash) \
	contrib/bash-completion/nbnet
# The .bats files' idioms, which shellcheck reads as mistakes: each @test runs
# in a subshell of its own (SC2030, SC2031); PORT, SERVER_PID, NBCLIENT come
# from helpers.bash through bats' `load`, stderr from `run --separate-stderr`,
# neither of which shellcheck follows (SC2034, SC2153, SC2154); single-quoted
# commands are for the server's shell to expand (SC2016); $NBCLIENT is
# "python3 .../nbclient.py", split into words on purpose (SC2086).
SHELLCHECK_BATS_EXCLUDE := SC2016,SC2030,SC2031,SC2034,SC2086,SC2153,SC2154

.PHONY: lint lint-cppcheck lint-clang-tidy lint-shellcheck lint-clang-format
lint: lint-cppcheck lint-clang-tidy lint-shellcheck lint-clang-format

lint-cppcheck:
	$(CPPCHECK) --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr --std=c11 \
		$(LINT_DEFS) $(LINT_C)

# stderr only says "N warnings generated." (those of system headers, not shown)
# or "Error while processing", which the findings on stdout explain.
lint-clang-tidy:
	printf '%s\n' $(wildcard src/*/*.c) | xargs -P2 -I{} $(CLANG_TIDY) --quiet {} -- -std=gnu11 \
		$(LINT_DEFS) $(SYSTEMD_CFLAGS) 2>/dev/null

lint-shellcheck:
	@test -n "$(SHELL_SCRIPTS)" || { echo "lint-shellcheck: git ls-files found no shell script" >&2; exit 1; }
	$(SHELLCHECK) $(SHELL_SCRIPTS)
	$(SHELLCHECK) --exclude=$(SHELLCHECK_BATS_EXCLUDE) $(wildcard tests/*.bats)

lint-clang-format:
	$(CLANG_FORMAT) --dry-run --Werror $(LINT_C) $(LINT_H)

# libFuzzer targets (tests/fuzz/README.md): the frame parser and the --commands table.
# `make fuzz` runs each for FUZZ_SECONDS over a copy of its seed corpus in build/fuzz/,
# failing on any crash; `make -j2 fuzz` runs them side by side.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

build/fuzz/frame_fuzz: tests/fuzz/frame_fuzz.c tests/fuzz/fuzz.h src/common/frame.c src/common/frame.h
	mkdir -p build/fuzz
	clang -std=gnu11 -D_GNU_SOURCE $(WARNINGS) $(FUZZ_FLAGS) -O1 -g -Isrc/common -o $@ \
		tests/fuzz/frame_fuzz.c src/common/frame.c

fuzz: fuzz-frame fuzz-commands

fuzz-frame: build/fuzz/frame_fuzz
	rm -rf build/fuzz/corpus build/fuzz/crash-*
	mkdir -p build/fuzz/corpus
	cp tests/fuzz/corpus/* build/fuzz/corpus/
	build/fuzz/frame_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus

build/fuzz/commands_fuzz: tests/fuzz/commands_fuzz.c tests/fuzz/fuzz.h src/common/cmdtable.c \
		src/common/cmdtable.h src/common/frame.h src/common/policy.c src/common/policy.h \
		src/common/args.c src/common/readfile.c src/common/readfile.h
	mkdir -p build/fuzz
	clang -std=gnu11 -D_GNU_SOURCE $(WARNINGS) $(FUZZ_FLAGS) -O1 -g -Isrc/common -o $@ \
		tests/fuzz/commands_fuzz.c src/common/cmdtable.c src/common/policy.c src/common/args.c \
		src/common/readfile.c

# -max_len 4096: a table of 1024 entries would do an O(n^2) name check per run, 100 times slower.
fuzz-commands: build/fuzz/commands_fuzz
	rm -rf build/fuzz/corpus-commands build/fuzz/commands-crash-*
	mkdir -p build/fuzz/corpus-commands
	cp tests/fuzz/corpus-commands/* build/fuzz/corpus-commands/
	build/fuzz/commands_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/commands- build/fuzz/corpus-commands

install: all
	install -d $(DESTDIR)$(LIBEXECDIR)/nbnet $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ANSIBLEPLUGINDIR)
	install -m 0755 bin/nbnet-handler $(DESTDIR)$(LIBEXECDIR)/nbnet/nbnet-handler
	install -m 0755 bin/nbnetd $(DESTDIR)$(LIBEXECDIR)/nbnet/nbnetd
	install -m 0755 bin/nbnet bin/nbnet-load bin/check_nbnet $(DESTDIR)$(BINDIR)/
	install -m 0644 man/nbnet-handler.8 man/nbnetd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/nbnet.1 man/nbnet-load.1 man/check_nbnet.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 units/nbnet.socket units/nbnetd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/
	for u in nbnet@.service nbnetd.service; do \
		sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
			units/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -m 0644 units/nbnet.sysusers $(DESTDIR)$(SYSUSERSDIR)/nbnet.conf
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 contrib/bash-completion/nbnet $(DESTDIR)$(BASHCOMPDIR)/nbnet
	ln -sf nbnet $(DESTDIR)$(BASHCOMPDIR)/nbnet-load
	ln -sf nbnet $(DESTDIR)$(BASHCOMPDIR)/check_nbnet
	install -m 0644 contrib/ansible/nbnet.py $(DESTDIR)$(ANSIBLEPLUGINDIR)/nbnet.py
	for d in $(EXAMPLE_DIRS); do \
		install -d "$(DESTDIR)$(DOCDIR)/examples/$$d" && \
		install -m 0644 doc/examples/$$d/*.conf "$(DESTDIR)$(DOCDIR)/examples/$$d/" || exit 1; \
	done
	@# An edited configuration is kept: a package's files are conffiles, and
	@# make install over an older install must not undo an administrator's edits.
	install -d $(DESTDIR)$(SYSCONFDIR)/nbnet
	for f in $(CONF_FILES); do \
		dest=$(DESTDIR)$(SYSCONFDIR)/nbnet/$${f#etc/}; \
		if [ -e "$$dest" ]; then echo "install: $$dest kept (it exists)"; \
		else install -m 0644 "$$f" "$$dest" || exit 1; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(LIBEXECDIR)/nbnet/nbnet-handler $(DESTDIR)$(LIBEXECDIR)/nbnet/nbnetd \
		$(DESTDIR)$(MANDIR)/man8/nbnet-handler.8 $(DESTDIR)$(MANDIR)/man8/nbnetd.8 \
		$(DESTDIR)$(BINDIR)/nbnet $(DESTDIR)$(BINDIR)/nbnet-load $(DESTDIR)$(BINDIR)/check_nbnet \
		$(DESTDIR)$(MANDIR)/man1/nbnet.1 $(DESTDIR)$(MANDIR)/man1/nbnet-load.1 \
		$(DESTDIR)$(MANDIR)/man1/check_nbnet.1 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/nbnet.socket $(DESTDIR)$(SYSTEMDUNITDIR)/nbnet@.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/nbnetd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/nbnetd.service \
		$(DESTDIR)$(SYSUSERSDIR)/nbnet.conf \
		$(DESTDIR)$(BASHCOMPDIR)/nbnet $(DESTDIR)$(BASHCOMPDIR)/nbnet-load $(DESTDIR)$(BASHCOMPDIR)/check_nbnet \
		$(DESTDIR)$(ANSIBLEPLUGINDIR)/nbnet.py
	@# The configuration in SYSCONFDIR/nbnet stays: it may hold an administrator's edits.
	-rmdir $(DESTDIR)$(LIBEXECDIR)/nbnet

# Packages from a git archive of HEAD (committed work only), into dist/.
# Each installs what its build needs first (tools/deps deb, tools/deps rpm).
deb:
	@sh tools/deps deb
	sh tools/build-deb

rpm:
	@sh tools/deps rpm
	sh tools/build-rpm

clean:
	rm -rf build bin dist

# The systemd tests' Debian rootfs (minutes to rebuild) lives in
# ~/.cache/nbnet-tests, shared by every checkout (tests/systemd/rootfs);
# distclean removes it. --one-file-system: never follow a mount left inside.
distclean: clean
	rm -rf --one-file-system .cache "$${NBNET_ROOTFS_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/nbnet-tests}"
