# glide — build, test, run, install.
#
# `make` configures on first use (./configure writes $(B)/config.mk) and builds into $(B)/,
# in parallel (JOBS, default: the number of cores).
#
# The tree is the architecture: one folder per layer under src/, and each folder's README.md
# says which other layers it may include, in one line ("Includes: common codec"). That line is
# the single source of the layering: tests/tools/layering_test.sh fails when a file includes a
# layer its folder does not name (or the names form a cycle), and the build links each
# program and test with the archives of exactly the layers it reaches through those lines.
# Every layer's objects but its program's main() go into $(B)/lib/libglide-<layer>.a (a layer's
# subfolders belong to it: src/host/store, src/host/admin are glided's).
#
# The module/host boundary (design.md §3): libglide.so is the layers of MODULE_LAYERS, named
# below one by one (the build fails if src/abi's Includes lines reach any other), linked with
# the libraries the module needs and no others (no SQLite, libpq or jansson: those are glided's).
# glided is src/host (with its store and admin API) on the public headers include/glide/ and
# one utility library, $(B)/lib/libglide-util.a (UTIL_SRCS: logging and string helpers, the
# configuration language, listen addresses and a listening socket), none of the module's
# internals; tests/tools/boundary_test.sh checks both sides. glidectl is src/glidectl,
# glide-bench src/bench, gen-docs src/tools, each with what it reaches.
#
# Tests mirror src/ (tests/host/store/ for src/host/store/). tests/<layer>/test_*.cc are cmocka
# programs, compiled to objects and linked with the layers their includes name (and what those
# reach); tests/<layer>/test_*.c are C programs that see only the public headers (they are what
# a host author writes); tests/<layer>/helper_*.cc are programs the scripts start;
# tests/<layer>/*_test.{sh,py} are end-to-end scripts. tests/support/*.cc (the tests' fake host
# store) go into an archive every C++ test links.
# `make check TESTS="hub codec"` builds and runs only those folders' tests. New files need no
# Makefile change; a new layer needs its README.md with an "Includes:" line.

B ?= build
CONFIG := $(B)/config.mk
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

ifneq ($(wildcard $(CONFIG)),)
include $(CONFIG)
endif

# --- layers ----------------------------------------------------------------------------------

LAYERS := $(patsubst src/%/,%,$(sort $(dir $(wildcard src/*/*.cc src/*/*.h))))
# What a layer's README names after "Includes:" (only names of layers count).
$(foreach l,$(LAYERS),$(eval INCLUDES_$(l) := $(filter $(LAYERS),\
	$(shell sed -n 's/^Includes://p' src/$(l)/README.md 2>/dev/null | tr -c 'a-z_\n' ' '))))
# Layers reached from a list of layers (itself included); 12 steps cover any acyclic chain of
# this tree (the layering test refuses cycles).
reach1 = $(sort $(1) $(foreach l,$(1),$(INCLUDES_$(l))))
reach = $(call reach1,$(call reach1,$(call reach1,$(call reach1,$(call reach1,$(call reach1,\
	$(call reach1,$(call reach1,$(call reach1,$(call reach1,$(call reach1,$(call reach1,$(1)))))))))))))

# The files with a program's main(): not in their layer's archive.
MAINS := src/host/main.cc src/glidectl/main.cc src/bench/main.cc src/tools/gen_docs.cc
layer_srcs = $(filter-out $(MAINS),$(wildcard src/$(1)/*.cc src/$(1)/*/*.cc))
LIB_LAYERS := $(foreach l,$(LAYERS),$(if $(call layer_srcs,$(l)),$(l)))
lib = $(B)/lib/libglide-$(1).a
# The archives of what `layers` reach, as link arguments (a group: order does not matter).
libs_of = $(foreach l,$(filter $(LIB_LAYERS),$(call reach,$(1))),$(call lib,$(l)))
link_group = -Wl,--start-group $(1) -Wl,--end-group

# The module: these layers and no other (the boundary above).
MODULE_LAYERS := abi module dispatch actions hub session port cluster net frame codec conf common
ifneq ($(filter-out $(MODULE_LAYERS),$(call reach,abi)),)
$(error src/abi reaches $(filter-out $(MODULE_LAYERS),$(call reach,abi)) through the Includes \
	lines, which are not the module's: see MODULE_LAYERS in the Makefile)
endif
MODULE_ARCHIVES := $(foreach l,$(filter-out abi,$(MODULE_LAYERS)),$(call lib,$(l)))
# glided's utility library: helpers of the layers below the module that know nothing of the
# protocol (tests/tools/boundary_test.sh allows glided exactly their headers).
UTIL_SRCS := src/common/log.cc src/common/strings.cc $(wildcard src/conf/*.cc) \
	src/net/address.cc src/net/listener.cc
UTIL_LIB := $(B)/lib/libglide-util.a
# tests/support/*.cc: the tests' fake host (support/memory_store.h).
SUPPORT_LIB := $(B)/lib/libglide-test-support.a

PROTOS := $(wildcard proto/*.proto)
GEN_C := $(PROTOS:proto/%.proto=$(B)/gen/%.pb-c.c)
GEN_H := $(PROTOS:proto/%.proto=$(B)/gen/%.pb-c.h)
# protobuf-c's code for proto/glide.proto: only the tests link it, as the oracle the codec's
# output and results are compared with (src/codec reads and writes the wire format itself).
GEN_OBJS := $(GEN_C:$(B)/gen/%.c=$(B)/obj/gen/%.o)

obj = $(patsubst %.cc,$(B)/obj/%.o,$(1))

# --- programs --------------------------------------------------------------------------------

# The module's file is versioned by the plugin ABI: libglide.so.MAJOR.MINOR.0 with the soname
# libglide.so.MAJOR, and the links libglide.so.MAJOR and libglide.so to it.
version_h = $(shell sed -n 's/^\#define GLIDE_$(1) \(.*\)/\1/p' include/glide/version.h | tr -d '"')
VERSION := $(call version_h,VERSION_STRING)
ABI_MAJOR := $(call version_h,ABI_MAJOR)
SO_VERSION := $(ABI_MAJOR).$(call version_h,ABI_MINOR).0
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c)) \
	$(B)/examples/http-server
PROGRAMS := $(B)/libglide.so $(B)/glided $(B)/glidectl $(B)/glide-bench $(B)/gen-docs \
	$(EXAMPLES)
BENCH_SRCS := $(wildcard bench/*.cc)
BENCH_BINS := $(BENCH_SRCS:%.cc=$(B)/%)

# --- tests -----------------------------------------------------------------------------------

TEST_DIRS := $(filter-out fuzz support data,$(patsubst tests/%/,%,$(sort $(dir \
	$(wildcard tests/*/test_* tests/*/helper_* tests/*/*_test.sh tests/*/*_test.py \
	tests/*/*/test_* tests/*/*/*_test.sh tests/*/*/*_test.py)))))
# The layers a test folder's sources include, and those of the tests/support files they
# include (only those: redis_server.h reaches no layer, proto_fakes.h most of them), two levels
# deep, each header with its .cc (support/memory_store.h: the fake host on glided's
# memory backend).
test_incs = $(filter $(LAYERS),$(shell sed -n 's|^\#include "\([a-z_]*\)/.*|\1|p' \
	$(wildcard tests/$(1)/*.cc tests/$(1)/*.h) /dev/null | sort -u))
support_of = $(sort $(shell sed -n 's|^\#include "support/\([a-z_]*\.h\)".*|tests/support/\1|p' \
	$(1) /dev/null))
support_files = $(foreach h,$(call support_of,$(1)) $(call support_of,$(call support_of,$(1))),\
	$(h) $(wildcard $(h:.h=.cc)))
support_incs = $(filter $(LAYERS),$(shell sed -n 's|^\#include "\([a-z_]*\)/.*|\1|p' /dev/null \
	$(sort $(call support_files,$(wildcard tests/$(1)/*.cc tests/$(1)/*.h))) | sort -u))
test_layers = $(filter $(LAYERS),$(1) $(call test_incs,$(1)) $(call support_incs,$(1)))
# A test that reaches the module may drive it through its C face (src/abi) as a host does.
$(foreach d,$(TEST_DIRS),$(eval TEST_LAYERS_$(d) := $(call test_layers,$(d)) \
	$(if $(filter module,$(call reach,$(call test_layers,$(d)))),abi)))
tests_cc = $(patsubst tests/%.cc,$(B)/tests/%,$(wildcard tests/$(1)/test_*.cc tests/$(1)/helper_*.cc))
tests_c = $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/$(1)/test_*.c))
# The folders whose scripts or C tests run the built programs.
PROGRAM_TEST_DIRS := abi host tools examples
CHECK_DIRS := $(if $(TESTS),$(filter $(TESTS) $(addsuffix /%,$(TESTS)),$(TEST_DIRS)),$(TEST_DIRS))
CHECK_DEPS := $(foreach d,$(CHECK_DIRS),$(call tests_cc,$(d)) $(call tests_c,$(d))) \
	$(if $(filter $(PROGRAM_TEST_DIRS) $(addsuffix /%,$(PROGRAM_TEST_DIRS)),$(CHECK_DIRS)),\
	$(PROGRAMS))

DEPS_CFLAGS = $(EVENT_CFLAGS) $(JANSSON_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) \
	$(SQLITE3_CFLAGS) $(HIREDIS_CFLAGS) $(PQ_CFLAGS)
DEPS_LIBS = $(EVENT_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(SQLITE3_LIBS) $(HIREDIS_LIBS) \
	$(PQ_LIBS) \
	-ldl -lpthread
# What each side of the boundary links: the module never storage or JSON libraries.
MODULE_LIBS = $(EVENT_LIBS) $(OPENSSL_LIBS) $(HIREDIS_LIBS) -ldl -lpthread
HOST_LIBS = $(EVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(SQLITE3_LIBS) $(PQ_LIBS) -ldl -lpthread

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS := -Iinclude -Isrc -I$(B)/gen -D_GNU_SOURCE
CFLAGS_ALL = $(OPT) $(SAN) -fPIC -fvisibility=hidden $(WARN) $(DEPS_CFLAGS) $(EXTRA_CFLAGS)
CXXFLAGS_ALL = -std=c++20 $(OPT) $(SAN) -fPIC -fvisibility=hidden -fvisibility-inlines-hidden \
	$(WARN) $(DEPS_CFLAGS) $(EXTRA_CXXFLAGS)
LDFLAGS_ALL = $(SAN) $(EXTRA_LDFLAGS)

.PHONY: all run check test bench soak install uninstall clean distclean docs fuzz programs \
	check-build
.DEFAULT_GOAL := all

# Each goal configures when needed, then runs the real work in a parallel sub-make (which reads
# the configuration that the first make may just have written).
SUBMAKE = $(MAKE) --no-print-directory -j$(JOBS) B=$(B)

## all: configure when needed and build glided, libglide.so, glidectl, glide-bench, gen-docs
all: $(CONFIG)
	@$(SUBMAKE) programs

$(CONFIG): configure
	@if [ -f $(B)/config.args ]; then ./configure $$(cat $(B)/config.args); \
	else ./configure --builddir=$(B); fi

programs: $(PROGRAMS)

## run: build glided, the module and glidectl only, and start glided on conf/glided.conf
run: $(CONFIG)
	@$(SUBMAKE) $(B)/glided $(B)/libglide.so $(B)/glidectl
	exec $(B)/glided -c conf/glided.conf

## check: build and run every test (TESTS="hub codec": only those folders and their subfolders;
## JOBS: parallel build)
check: $(CONFIG)
	@$(SUBMAKE) check-build TESTS="$(TESTS)"
	@B=$(B) PYTHON=$(PYTHON) TESTS="$(TESTS)" sh tests/run.sh

check-build: $(CHECK_DEPS)

test: check

## fuzz: build the libFuzzer targets with clang and run each FUZZ_SECONDS (default 60)
fuzz: $(CONFIG)
	@B=$(B) sh tests/fuzz/run.sh

## docs: regenerate the directive sections of man/glided.conf.5 and conf/glided.conf
docs: all
	$(B)/gen-docs man > man/glided.conf.5.new && mv man/glided.conf.5.new man/glided.conf.5
	$(B)/gen-docs conf > conf/glided.conf.new && mv conf/glided.conf.new conf/glided.conf

# Where install puts glided.service: systemd reads $(PREFIX)/lib/systemd/system for the prefixes
# /usr and /usr/local; under another one, `systemctl link` the unit or set SYSTEMD_UNIT_DIR.
SYSTEMD_UNIT_DIR = $(PREFIX)/lib/systemd/system

## install: install glided, glidectl, glide-bench, libglide.so, headers, glide.pc, the examples
## sources, man pages, the systemd unit and the Grafana dashboard (DESTDIR, PREFIX,
## SYSTEMD_UNIT_DIR)
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/glide \
		$(DESTDIR)$(PREFIX)/include/glide $(DESTDIR)$(PREFIX)/etc/glide \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/glided $(DESTDIR)$(PREFIX)/sbin/glided
	install -m 755 $(B)/glidectl $(B)/glide-bench $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(B)/libglide.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/glide/
	ln -sf libglide.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/glide/libglide.so.$(ABI_MAJOR)
	ln -sf libglide.so.$(ABI_MAJOR) $(DESTDIR)$(PREFIX)/lib/glide/libglide.so
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/doc/glide/examples
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@ABI_MAJOR@|$(ABI_MAJOR)|' glide.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/glide.pc
	install -m 644 examples/*.c $(DESTDIR)$(PREFIX)/share/doc/glide/examples/
	install -m 644 include/glide/*.h $(DESTDIR)$(PREFIX)/include/glide/
	sed 's|^load_module .*;|load_module $(PREFIX)/lib/glide/libglide.so;|' conf/glided.conf \
		> $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default
	test -f $(DESTDIR)$(PREFIX)/etc/glide/glided.conf || \
		cp $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default \
		$(DESTDIR)$(PREFIX)/etc/glide/glided.conf
	for m in man/*.[1-8]; do s=$${m##*.}; \
		install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(PREFIX)/share/glide/grafana
	sed 's|@PREFIX@|$(PREFIX)|g' contrib/systemd/glided.service.in \
		>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/glided.service
	install -m 644 contrib/grafana/glide.json $(DESTDIR)$(PREFIX)/share/glide/grafana/

## uninstall: remove what install put in place (keeps an edited glided.conf)
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/glided $(DESTDIR)$(PREFIX)/lib/glide/libglide.so* \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/glide.pc \
		$(DESTDIR)$(PREFIX)/bin/glidectl $(DESTDIR)$(PREFIX)/bin/glide-bench
	rm -rf $(DESTDIR)$(PREFIX)/include/glide $(DESTDIR)$(PREFIX)/share/doc/glide
	rm -f $(DESTDIR)$(PREFIX)/etc/glide/glided.conf.default
	for m in man/*.[1-8]; do s=$${m##*.}; \
		rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}; done
	rm -f $(DESTDIR)$(SYSTEMD_UNIT_DIR)/glided.service \
		$(DESTDIR)$(PREFIX)/share/glide/grafana/glide.json
	-rmdir $(DESTDIR)$(PREFIX)/lib/glide $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/glide/grafana $(DESTDIR)$(PREFIX)/share/glide 2>/dev/null

## bench: the standard benchmark suite (< 12 min): glided on CPU 0, load on CPU 1; writes
## bench/results/<date>-<commit>.md and prints a summary (BENCH_ONLY=flood: fairness only)
bench: $(CONFIG)
	@$(SUBMAKE) programs $(BENCH_BINS)
	@B=$(B) sh bench/run.sh

## soak: 30 minutes (SOAK_DURATION) of mixed chat, group and connection churn at half capacity
## on one glided (store sqlite); RSS, fds and p99 every minute, a verdict "flat" or not, and
## bench/results/soak-<date>-<commit>.md. Not part of check or CI.
soak: $(CONFIG)
	@$(SUBMAKE) programs
	@B=$(B) sh bench/soak.sh

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

# Every C++ object, of src/ and of tests/ (which may include tests/ headers). The generated
# header is order-only: the .d files name the objects that really include it.
$(B)/obj/%.o: %.cc | $(GEN_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(if $(filter tests/%,$<),-Itests $(CMOCKA_CFLAGS)) $(CXXFLAGS_ALL) \
		-MMD -MP -c $< -o $@

# One archive per layer.
define layer_lib
$(call lib,$(1)): $(call obj,$(call layer_srcs,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach l,$(LIB_LAYERS),$(eval $(call layer_lib,$(l))))

# A program: its main (if any) and the archives of what its layer reaches.
define program
$(1): $(call obj,$(2)) $(call libs_of,$(3))
	@mkdir -p $$(@D)
	$$(CXX) -o $$@ $(call obj,$(2)) $(call link_group,$(call libs_of,$(3))) $$(LDFLAGS_ALL) \
		$$(DEPS_LIBS)
endef
# glided: its own layer and the utility library, never the module's archives.
$(UTIL_LIB): $(call obj,$(UTIL_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

$(B)/glided: $(call obj,src/host/main.cc) $(call lib,host) $(UTIL_LIB)
	@mkdir -p $(@D)
	$(CXX) -o $@ $(call obj,src/host/main.cc) $(call link_group,$(call lib,host) $(UTIL_LIB)) \
		$(LDFLAGS_ALL) $(HOST_LIBS)
$(eval $(call program,$(B)/glidectl,src/glidectl/main.cc,glidectl))
$(eval $(call program,$(B)/glide-bench,src/bench/main.cc,bench))
$(eval $(call program,$(B)/gen-docs,src/tools/gen_docs.cc,tools))

# The module: src/abi and the other MODULE_LAYERS; one exported entry point (the version script).
$(B)/libglide.so.$(SO_VERSION): $(call lib,abi) $(MODULE_ARCHIVES) src/abi/libglide.map \
		include/glide/version.h
	$(CXX) -shared -o $@ -Wl,--whole-archive $(call lib,abi) -Wl,--no-whole-archive \
		$(call link_group,$(MODULE_ARCHIVES)) $(LDFLAGS_ALL) \
		-Wl,--version-script=src/abi/libglide.map -Wl,-z,defs \
		-Wl,-soname,libglide.so.$(ABI_MAJOR) $(MODULE_LIBS)

$(B)/libglide.so.$(ABI_MAJOR): $(B)/libglide.so.$(SO_VERSION)
	ln -sf $(<F) $@

$(B)/libglide.so: $(B)/libglide.so.$(ABI_MAJOR)
	ln -sf $(<F) $@

# Examples: hosts written from the public headers only, as a host author would.
$(B)/examples/%: examples/%.c $(wildcard include/glide/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c99 -Iinclude $(OPT) $(SAN) $(WARN) $(EVENT_CFLAGS) -o $@ $< $(LDFLAGS_ALL) \
		$(EVENT_LIBS) -ldl

# An example of several files: its folder's .c files make one program.
$(B)/examples/http-server: $(wildcard examples/http-server/*.[ch]) $(wildcard include/glide/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c99 -Iinclude $(OPT) $(SAN) $(WARN) $(EVENT_CFLAGS) -o $@ \
		$(wildcard examples/http-server/*.c) $(LDFLAGS_ALL) $(EVENT_LIBS) -ldl

$(SUPPORT_LIB): $(call obj,$(wildcard tests/support/*.cc))
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

# C++ tests and helpers of one folder: each links the archives of what its folder includes.
define test_dir
$(call tests_cc,$(1)): $(B)/tests/$(1)/%: $(B)/obj/tests/$(1)/%.o \
		$(call libs_of,$(TEST_LAYERS_$(1))) $(SUPPORT_LIB) $(GEN_OBJS)
	@mkdir -p $$(@D)
	$$(CXX) -o $$@ $$< $(call link_group,$(SUPPORT_LIB) $(call libs_of,$(TEST_LAYERS_$(1)))) \
		$(GEN_OBJS) $$(LDFLAGS_ALL) $$(CMOCKA_LIBS) $$(DEPS_LIBS) $$(PROTOBUF_C_LIBS)
endef
$(foreach d,$(TEST_DIRS),$(eval $(call test_dir,$(d))))

# C tests see only the public headers: they are what a host author writes.
$(B)/tests/%: tests/%.c
	@mkdir -p $(@D)
	$(CC) -std=c99 $(CPPFLAGS) -Itests $(OPT) $(SAN) $(WARN) $(EVENT_CFLAGS) $(CMOCKA_CFLAGS) \
		-o $@ $< $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(EVENT_LIBS) -ldl

# Micro-benchmarks: internal code, like the unit tests.
$(B)/bench/%: $(B)/obj/bench/%.o $(call libs_of,$(LAYERS))
	@mkdir -p $(@D)
	$(CXX) -o $@ $< $(call link_group,$(call libs_of,$(LAYERS))) $(LDFLAGS_ALL) $(DEPS_LIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
