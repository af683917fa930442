# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# procscope: BPF objects -> skeleton -> binary.  `make V=1` shows commands.
# `make SAN=1` builds the user side with ASan+UBSan into build-san/.

# The kernel's name for the machine: selects vmlinux/$(ARCH)/vmlinux.h and
# libbpf's register names (-D__TARGET_ARCH_$(ARCH)). `make ARCH=arm64` cross-builds the probes.
ARCH      ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/i.86/x86/' -e 's/aarch64.*/arm64/' \
		-e 's/s390x/s390/')
VMLINUX_H := vmlinux/$(ARCH)/vmlinux.h
CLANG     ?= clang
BPFTOOL   ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
CC        ?= cc
ifeq ($(SAN),1)
OUTPUT    ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
OUTPUT    ?= build
endif
CFLAGS    ?= -g -O2
WARN      := -Wall -Wextra -Werror
INCLUDES  := -D_GNU_SOURCE -Iinclude -I$(OUTPUT)
LDLIBS    := -lbpf -ldw -lelf -lz -lzstd -lm -lsqlite3 -liberty

SRCS      := $(wildcard src/*.c)
OBJS      := $(patsubst src/%.c,$(OUTPUT)/%.o,$(SRCS))
LIB_OBJS  := $(filter-out $(OUTPUT)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(wildcard tests/workloads/*.c))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
BIN       := $(OUTPUT)/procscope

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps demo test unit e2e clean vmlinux bench fuzz

all: $(BIN) $(WORKLOADS)
ifeq ($(OUTPUT),build)
	$(Q)ln -sf build/procscope procscope
endif

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/workloads:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h include/*.h) $(VMLINUX_H) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-parameter \
		-Ivmlinux/$(ARCH) -Iinclude -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/%.o: src/%.c $(wildcard src/*.h include/*.h) $(SKELS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(WARN) $(INCLUDES) -c $< -o $@

$(BIN): $(OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(WARN) $(INCLUDES) -Isrc -Itests/unit $< $(LIB_OBJS) $(LDLIBS) -o $@

# Workloads are plain programs the e2e tests trace; no sanitizers.
WL_CFLAGS := -g -O1
# the stack tests' workload: optimized and without frame pointers, like Debian's userland
$(OUTPUT)/workloads/stacks_work: WL_CFLAGS := -g -O2 -fomit-frame-pointer
$(OUTPUT)/workloads/%: tests/workloads/%.c | $(OUTPUT)/workloads
	$(call msg,WORKLOAD,$@)
	$(Q)$(CC) $(WL_CFLAGS) $(WARN) $< -o $@ -lpthread -ldl

# libFuzzer harnesses (tests/fuzz/): the user side rebuilt with clang under
# -fsanitize=fuzzer,address,undefined into $(OUTPUT)/fuzz/; tests/fuzz/run.sh
# runs them, bench/fuzz.sh for a long campaign.
FUZZ_DIR   := $(OUTPUT)/fuzz
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJS  := $(patsubst src/%.c,$(FUZZ_DIR)/%.o,$(filter-out src/main.c,$(SRCS)))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: $(FUZZ_BINS)

$(FUZZ_DIR):
	$(Q)mkdir -p $@

$(FUZZ_DIR)/%.o: src/%.c $(wildcard src/*.h) include/records.h $(SKELS) | $(FUZZ_DIR)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(WARN) $(INCLUDES) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJS)
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(WARN) $(INCLUDES) -Isrc $< $(FUZZ_OBJS) $(LDLIBS) -o $@

# The page of `export --format html` (assets/viewer/: HTML, CSS, JS) goes
# into the binary as byte arrays, html_<file>[] in $(OUTPUT)/html_assets.h.
HTML_ASSETS := $(sort $(wildcard assets/viewer/*.html assets/viewer/*.css assets/viewer/*.js))

$(OUTPUT)/html_assets.h: $(HTML_ASSETS) | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)for f in $(HTML_ASSETS); do \
		echo "static const unsigned char html_$$(basename $$f | tr -c 'a-zA-Z0-9\n' _)[] = {"; \
		od -An -v -tx1 $$f | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
		echo "};"; \
	done > $@

$(OUTPUT)/export_html.o $(FUZZ_DIR)/export_html.o: $(OUTPUT)/html_assets.h

# vmlinux.h holds the kernel's types for CO-RE; any kernel of the same
# architecture with BTF will do, the probes relocate at load time.
$(VMLINUX_H):
	@echo "procscope: $@ is missing: there are no kernel types for ARCH=$(ARCH)." >&2; \
	 echo "  On an $(ARCH) machine whose kernel has BTF (/sys/kernel/btf/vmlinux), run 'make vmlinux'" >&2; \
	 echo "  (bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@)," >&2; \
	 echo "  or copy the vmlinux/$(ARCH)/vmlinux.h of libbpf-bootstrap, then run make again." >&2; \
	 exit 1

vmlinux:
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_H).tmp
	$(Q)mv $(VMLINUX_H).tmp $(VMLINUX_H)

# Installs what building and testing need (Debian bookworm, as root).
deps:
	$(Q)bash tests/install-deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SAN=1 build-san/procscope $(patsubst $(OUTPUT)/%,build-san/%,$(UNIT_BINS))
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)tests/run.sh

bench: all
	$(Q)bench/run.sh

clean:
	$(Q)rm -rf build build-san procscope
