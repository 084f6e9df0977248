# Thin wrapper over Meson for the README's commands.  Run as root on a fresh Debian 12
# machine: missing packages are installed first (tools/install-deps.sh).
BUILD ?= build
ASAN ?= build-asan
MESON_FLAGS ?= -Dwerror=true

FUZZ ?= build-fuzz

.PHONY: all deps build build-asan check unit demo bench deb fuzz fuzz-coverage clean

all: build

deps:
	@./tools/install-deps.sh

# Components are picked up by fs.is_file() at configure time, so a new meson.build anywhere
# must reconfigure.
MESON_FILES := meson.build meson_options.txt $(shell find src tests bench doc dist -name meson.build 2>/dev/null)

$(BUILD)/build.ninja: $(MESON_FILES)
	if [ -f $@ ]; then meson setup --reconfigure $(BUILD) $(MESON_FLAGS); \
	else meson setup $(BUILD) $(MESON_FLAGS); fi

# The sanitizer build: AddressSanitizer + UndefinedBehaviorSanitizer, any report fatal.
ASAN_FLAGS := $(MESON_FLAGS) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
$(ASAN)/build.ninja: $(MESON_FILES)
	if [ -f $@ ]; then meson setup --reconfigure $(ASAN) $(ASAN_FLAGS); \
	else meson setup $(ASAN) $(ASAN_FLAGS); fi

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)

# Every test suite, in the normal build and again under the sanitizers (tools/check.sh: the
# vm suite runs beside the others).
check: build build-asan
	./tools/check.sh $(BUILD) $(ASAN)

# Unit tests only, for a quick loop while editing.
unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

demo: build
	./tools/demo.sh $(BUILD)

# One table + bench/results/*.json (bench/README.md); BENCH_ARGS=--quick for a smoke run.
bench: build
	./bench/run.sh $(BUILD) $(BENCH_ARGS)

# The Debian package of the tree (debian/), lintian-clean: $(BUILD)/deb/softsa_VERSION_ARCH.deb.
deb: deps
	./tools/build-deb.sh $(BUILD)/deb

# libFuzzer: clang, the sanitizers, -Dfuzz=true, in its own build directory; every target for
# FUZZ_SECONDS (default 180) each, new coverage merged into tests/fuzz/corpus, a table at the
# end (tests/fuzz/README.md: FUZZ_SEED, FUZZ_RUNS, FUZZ_TARGETS, ...).  Not -Dwerror: clang
# warns about vprintf-style wrappers (-Wformat-nonliteral) where gcc does not.
FUZZ_FLAGS := -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debugoptimized
$(FUZZ)/build.ninja: $(MESON_FILES)
	if [ -f $@ ]; then meson setup --reconfigure $(FUZZ) $(FUZZ_FLAGS); \
	else CC=clang meson setup $(FUZZ) $(FUZZ_FLAGS); fi

fuzz: deps $(FUZZ)/build.ninja
	ninja -C $(FUZZ)
	ninja -C $(FUZZ) fuzz

# llvm-cov of what the seed corpora reach, per target (tests/fuzz/coverage.sh).
fuzz-coverage: deps
	./tests/fuzz/coverage.sh build-cov

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) build-cov
