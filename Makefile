# The two commands of the README: `make run` and `make test`. Everything else is a step of them.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
ARGS ?=
# ccache cannot reuse objects built with precompiled headers without this.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: deps configure build run test clean fuzz bench format

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/bin/sluiced $(ARGS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 300

# libFuzzer needs clang >= 16 for C++23's <expected>; Debian 12 ships clang-16.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = fuzz_request_bodies fuzz_ws_frames fuzz_text_parsers fuzz_wire_frames fuzz_wire_session
fuzz: deps
	@./scripts/install-deps.sh clang-16 libclang-rt-16-dev
	CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSLUICE_FUZZ=ON -DSLUICE_INTEGRATION_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	for t in $(FUZZ_TARGETS); do mkdir -p build-fuzz/corpus/$$t; \
	  ./build-fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build-fuzz/corpus/$$t tests/fuzz/corpus || exit 1; done

bench: build
	./bench/registry_bench.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
