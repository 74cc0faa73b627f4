# ferry build. `make` builds build/ferry; `make asan` and `make tsan` build the
# sanitizer variants under build/asan and build/tsan; `make unit` builds and runs
# the C unit tests; `make test` runs everything (tests/run.sh).
CC      ?= cc
PKGS    := libcurl yaml-0.1 libxml-2.0 sqlite3 libcrypto jansson fuse3
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -Isrc $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

SRCS    := $(sort $(wildcard src/*/*.c))
LIBSRCS := $(filter-out src/main.c,$(SRCS))
B       ?= build

OBJS    := $(patsubst src/%.c,$(B)/obj/%.o,$(SRCS) src/main.c)
LIBOBJS := $(patsubst src/%.c,$(B)/obj/%.o,$(LIBSRCS))
UNITS   := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/*.c))

all: $(B)/ferry

$(B)/ferry: $(OBJS)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(B)/obj/%.o: src/%.c
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
	$(MAKE) B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all unit-build
tsan:
	$(MAKE) B=build/tsan CFLAGS="-O1 -g -fsanitize=thread" all

unit-build: $(UNITS)

test: all
	tests/run.sh

clean:
	rm -rf build

.PHONY: all unit asan tsan test clean unit-build
-include $(OBJS:.o=.d)
