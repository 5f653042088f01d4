# glide — build, test, run, install.
#
# `make` configures on first use (./configure writes $(B)/config.mk) and builds into $(B)/.
# Sources are found by folder: every src/<layer>/ except src/host, src/tools, src/client,
# src/glidectl and src/bench is part of the module; src/client is the tools' client library,
# linked into glidectl, glide-bench and the tests only; tests/<layer>/test_*.c[c] are cmocka programs, tests/<layer>/*_test.{sh,py} are
# end-to-end scripts, tests/<layer>/helper_*.cc programs those scripts start. New files need no
# Makefile change.

B ?= build
CONFIG := $(B)/config.mk

ifneq ($(wildcard $(CONFIG)),)
include $(CONFIG)
endif

# The module's layers (linked into libglide.so and, for unit tests, libglide-core.a).
CORE_DIRS := $(filter-out src/host src/tools src/abi src/client src/glidectl src/bench,\
	$(wildcard src/*))
CORE_SRCS := $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.cc))
ABI_SRCS := $(wildcard src/abi/*.cc)
HOST_SRCS := $(wildcard src/host/*.cc)
CLIENT_SRCS := $(wildcard src/client/*.cc)
GLIDECTL_SRCS := $(wildcard src/glidectl/*.cc)
BENCH_TOOL_SRCS := $(wildcard src/bench/*.cc)
PROTOS := $(wildcard proto/*.proto)
GEN_C := $(PROTOS:proto/%.proto=$(B)/gen/%.pb-c.c)
GEN_H := $(PROTOS:proto/%.proto=$(B)/gen/%.pb-c.h)

CORE_OBJS := $(CORE_SRCS:%.cc=$(B)/obj/%.o)
# protobuf-c's code for proto/glide.proto: only the tests link it, as the oracle the codec's
# output and results are compared with (src/codec reads and writes the wire format itself).
GEN_OBJS := $(GEN_C:$(B)/gen/%.c=$(B)/obj/gen/%.o)
ABI_OBJS := $(ABI_SRCS:%.cc=$(B)/obj/%.o)
HOST_OBJS := $(HOST_SRCS:%.cc=$(B)/obj/%.o)
CLIENT_OBJS := $(CLIENT_SRCS:%.cc=$(B)/obj/%.o)
GLIDECTL_OBJS := $(GLIDECTL_SRCS:%.cc=$(B)/obj/%.o)
BENCH_TOOL_OBJS := $(BENCH_TOOL_SRCS:%.cc=$(B)/obj/%.o)
# What the unit tests link of the tools: the client library and glide-bench without main().
TOOL_LIB_OBJS := $(CLIENT_OBJS) $(filter-out $(B)/obj/src/bench/main.o,$(BENCH_TOOL_OBJS))
# The host without its main(), for gen-docs and the unit tests.
HOST_LIB_OBJS := $(filter-out $(B)/obj/src/host/main.o,$(HOST_OBJS))

TEST_C := $(wildcard tests/*/test_*.c)
TEST_CC := $(wildcard tests/*/test_*.cc)
TEST_BINS := $(TEST_C:%.c=$(B)/%) $(TEST_CC:%.cc=$(B)/%)
TEST_HELPERS := $(filter-out $(TEST_C),$(wildcard tests/*/*.c))
# C++ helper programs that end-to-end scripts start (a test server, a client): tests/*/helper_*.cc
TEST_HELPERS_CC := $(wildcard tests/*/helper_*.cc)
TEST_HELPER_BINS := $(TEST_HELPERS:%.c=$(B)/%) $(TEST_HELPERS_CC:%.cc=$(B)/%)
BENCH_SRCS := $(wildcard bench/*.cc)
BENCH_BINS := $(BENCH_SRCS:%.cc=$(B)/%)

DEPS_CFLAGS = $(EVENT_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) \
	$(SQLITE3_CFLAGS) $(HIREDIS_CFLAGS)
DEPS_LIBS = $(EVENT_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(SQLITE3_LIBS) $(HIREDIS_LIBS) \
	-ldl -lpthread

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS := -Iinclude -Isrc -I$(B)/gen -D_GNU_SOURCE
CFLAGS_ALL = $(OPT) $(SAN) -fPIC -fvisibility=hidden $(WARN) $(DEPS_CFLAGS) $(EXTRA_CFLAGS)
CXXFLAGS_ALL = -std=c++20 $(OPT) $(SAN) -fPIC -fvisibility=hidden -fvisibility-inlines-hidden \
	$(WARN) $(DEPS_CFLAGS) $(EXTRA_CXXFLAGS)
LDFLAGS_ALL = $(SAN) $(EXTRA_LDFLAGS)

.PHONY: all run check test bench install uninstall clean distclean docs fuzz
.DEFAULT_GOAL := all

## all: configure when needed and build glided, libglide.so, glidectl, glide-bench and the tests
all: $(CONFIG)
	@$(MAKE) --no-print-directory B=$(B) build-all

$(CONFIG): configure
	@if [ -f $(B)/config.args ]; then ./configure $$(cat $(B)/config.args); \
	else ./configure --builddir=$(B); fi

.PHONY: build-all
build-all: $(B)/libglide.so $(B)/glided $(B)/glidectl $(B)/glide-bench $(B)/gen-docs $(TEST_BINS) $(TEST_HELPER_BINS) $(BENCH_BINS)

## run: build and start glided on conf/glided.conf in the foreground
run: all
	exec $(B)/glided -c conf/glided.conf

## check: build and run every test (unit, conformance, end-to-end)
check: all
	@B=$(B) PYTHON=$(PYTHON) sh tests/run.sh

test: check

## fuzz: build the libFuzzer targets with clang and run each FUZZ_SECONDS (default 60)
fuzz: $(CONFIG)
	@B=$(B) sh tests/fuzz/run.sh

## docs: regenerate the directive sections of man/glided.conf.5 and conf/glided.conf
docs: all
	$(B)/gen-docs man > man/glided.conf.5.new && mv man/glided.conf.5.new man/glided.conf.5
	$(B)/gen-docs conf > conf/glided.conf.new && mv conf/glided.conf.new conf/glided.conf

## install: install glided, glidectl, glide-bench, libglide.so, headers, man pages (DESTDIR, PREFIX)
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/glide \
		$(DESTDIR)$(PREFIX)/include/glide $(DESTDIR)$(PREFIX)/etc/glide \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/glided $(DESTDIR)$(PREFIX)/sbin/glided
	install -m 755 $(B)/glidectl $(B)/glide-bench $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(B)/libglide.so $(DESTDIR)$(PREFIX)/lib/glide/libglide.so
	install -m 644 include/glide/*.h $(DESTDIR)$(PREFIX)/include/glide/
	sed 's|^load_module .*;|load_module $(PREFIX)/lib/glide/libglide.so;|' conf/glided.conf \
		> $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default
	test -f $(DESTDIR)$(PREFIX)/etc/glide/glided.conf || \
		cp $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default \
		$(DESTDIR)$(PREFIX)/etc/glide/glided.conf
	for m in man/*.[1-8]; do s=$${m##*.}; \
		install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

## uninstall: remove what install put in place (keeps an edited glided.conf)
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/glided $(DESTDIR)$(PREFIX)/lib/glide/libglide.so \
		$(DESTDIR)$(PREFIX)/bin/glidectl $(DESTDIR)$(PREFIX)/bin/glide-bench
	rm -rf $(DESTDIR)$(PREFIX)/include/glide
	rm -f $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default
	for m in man/*.[1-8]; do s=$${m##*.}; \
		rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}; done
	-rmdir $(DESTDIR)$(PREFIX)/lib/glide 2>/dev/null

## bench: the standard benchmark suite (< 10 min): glided on CPU 0, load on CPU 1; writes
## bench/results/<date>-<commit>.md and prints a summary
bench: all
	@B=$(B) sh bench/run.sh

## clean: remove the build directory
clean:
	rm -rf $(B)

distclean: clean

# --- rules -----------------------------------------------------------------------------------

# The generated files are not intermediate: without this, make deletes the header after a fresh
# build (it is reached only through pattern rules until the .d files exist), and the next make
# regenerates it and rebuilds everything.
.SECONDARY: $(GEN_C) $(GEN_H)

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	protoc-c --proto_path=proto --c_out=$(B)/gen $<

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(CPPFLAGS) $(CFLAGS_ALL) -w -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.cc $(GEN_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS_ALL) -MMD -MP -c $< -o $@

$(B)/libglide-core.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libglide.so: $(CORE_OBJS) $(ABI_OBJS) src/abi/libglide.map
	$(CXX) -shared -o $@ $(CORE_OBJS) $(ABI_OBJS) $(LDFLAGS_ALL) \
		-Wl,--version-script=src/abi/libglide.map -Wl,-z,defs -Wl,-soname,libglide.so \
		$(DEPS_LIBS)

# glided shares the configuration language and common helpers with the module: the linker
# takes just those members of the core archive.
$(B)/glided: $(HOST_OBJS) $(B)/libglide-core.a
	$(CXX) -o $@ $(HOST_OBJS) $(B)/libglide-core.a $(LDFLAGS_ALL) $(DEPS_LIBS)

# The tools: the client library and the core's framing and codecs (only the archive members
# they use are linked).
$(B)/glidectl: $(GLIDECTL_OBJS) $(CLIENT_OBJS) $(B)/libglide-core.a
	$(CXX) -o $@ $(GLIDECTL_OBJS) $(CLIENT_OBJS) $(B)/libglide-core.a $(LDFLAGS_ALL) $(DEPS_LIBS)

$(B)/glide-bench: $(BENCH_TOOL_OBJS) $(CLIENT_OBJS) $(B)/libglide-core.a
	$(CXX) -o $@ $(BENCH_TOOL_OBJS) $(CLIENT_OBJS) $(B)/libglide-core.a $(LDFLAGS_ALL) \
		$(DEPS_LIBS)

# gen-docs prints the module's and the host's directive records as man page and example conf.
$(B)/gen-docs: src/tools/gen_docs.cc $(B)/libglide-core.a $(HOST_LIB_OBJS)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS_ALL) -o $@ $< $(HOST_LIB_OBJS) $(B)/libglide-core.a \
		$(LDFLAGS_ALL) $(DEPS_LIBS)

$(B)/tests/%: tests/%.cc $(B)/libglide-core.a $(HOST_LIB_OBJS) $(ABI_OBJS) $(TOOL_LIB_OBJS) \
		$(GEN_OBJS) $(GEN_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -Itests $(CXXFLAGS_ALL) $(CMOCKA_CFLAGS) -MMD -MP -o $@ $< \
		$(HOST_LIB_OBJS) $(ABI_OBJS) $(TOOL_LIB_OBJS) $(GEN_OBJS) $(B)/libglide-core.a \
		$(LDFLAGS_ALL) $(CMOCKA_LIBS) $(DEPS_LIBS) $(PROTOBUF_C_LIBS)

# Micro-benchmarks: internal code, like the unit tests.
$(B)/bench/%: bench/%.cc $(B)/libglide-core.a $(GEN_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS_ALL) -o $@ $< $(B)/libglide-core.a $(LDFLAGS_ALL) $(DEPS_LIBS)

# C tests and helpers see only the public headers: they are what a host author writes.
$(B)/tests/%: tests/%.c
	@mkdir -p $(@D)
	$(CC) -std=c99 $(CPPFLAGS) -Itests $(OPT) $(SAN) $(WARN) $(EVENT_CFLAGS) $(CMOCKA_CFLAGS) \
		-o $@ $< $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(EVENT_LIBS) -ldl

-include $(shell find $(B)/obj $(B)/tests -name '*.d' 2>/dev/null)
