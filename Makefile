# ferry build. `make` builds build/ferry and build/libferry.so (the C API of
# src/api/ that the Python package loads, from the same objects); `make asan` and `make tsan` build the
# sanitizer variants under build/asan and build/tsan; `make unit` builds and runs
# the C unit tests; `make test` runs everything (tests/run.sh); `make fuzz` builds
# the libFuzzer targets of tests/fuzz/ into build/fuzz/ (clang), `make fuzz-long`
# runs each for FUZZ_SECONDS (default 3600).
CC      ?= cc
PKGS    := libcurl yaml-0.1 libxml-2.0 sqlite3 libcrypto jansson fuse3 zlib libzstd libmicrohttpd
CFLAGS  ?= -O2 -g
# -fPIC -fno-semantic-interposition: one set of objects serves both build/ferry and
# build/libferry.so. Debian's gcc builds PIE by default, and PIC without semantic
# interposition compiles to the same direct calls as PIE, so the binary pays nothing.
override CFLAGS += -fPIC -fno-semantic-interposition -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -Isrc $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS)) -lsnappy -lpthread -lm

SRCS    := $(sort $(wildcard src/*/*.c))
LIBSRCS := $(filter-out src/main.c,$(SRCS))
B       ?= build

OBJS    := $(patsubst src/%.c,$(B)/obj/%.o,$(SRCS) src/main.c)
LIBOBJS := $(patsubst src/%.c,$(B)/obj/%.o,$(LIBSRCS))
UNITS   := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/*.c))

all: $(B)/ferry $(B)/libferry.so

$(B)/ferry: $(OBJS)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(B)/libferry.so: $(LIBOBJS)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -shared -Wl,-soname,libferry.so -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Objects depend on the flags they were built with: a change of CFLAGS (such as
# -fPIC, which libferry.so needs) rebuilds them instead of linking stale ones.
$(B)/obj/.cflags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' >$@

$(B)/obj/%.o: src/%.c $(B)/obj/.cflags
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

unit: $(UNITS)
	@set -e; for t in $(UNITS); do $$t; done

asan:
	$(MAKE) B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" build/asan/ferry build/asan/libferry.so unit-build
tsan:
	$(MAKE) B=build/tsan CFLAGS="-O1 -g -fsanitize=thread" build/tsan/ferry build/tsan/libferry.so

unit-build: $(UNITS)

# Fuzzing: every tests/fuzz/<t>.c is a libFuzzer target, build/fuzz/<t>, built by
# clang with ASan and UBSan over the whole library (objects in build/fuzz/obj).
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -Wno-unknown-warning-option \
                -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS    := $(addprefix $(B)/,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 3600

fuzz:
	$(MAKE) B=build/fuzz CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" fuzz-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS): $(B)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIBOBJS)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS)

fuzz-long: fuzz
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS)

# Line coverage of each target's corpus (seeds + build/fuzz/work/<t>) over the
# files it fuzzes: targets rebuilt with clang's source-based coverage in
# build/fuzz-cov/, reported by llvm-cov.
fuzz-cov:
	$(MAKE) B=build/fuzz-cov CC=$(FUZZ_CC) fuzz-build \
		CFLAGS="-O1 -g -Wno-unknown-warning-option -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer-no-link"
	tests/fuzz/coverage.sh

test: all
	tests/run.sh

clean:
	rm -rf build

.PHONY: all unit asan tsan test clean unit-build FORCE fuzz fuzz-build fuzz-long fuzz-cov
-include $(OBJS:.o=.d)
