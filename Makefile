# The two commands of the README: `make run` and `make test`. Everything else is a step of them.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
ARGS ?=
# ccache cannot reuse objects built with precompiled headers without this.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: deps test-deps browser-deps configure test-configure build run test clean fuzz fuzz-build fuzz-ci \
	bench format

# What sluiced and the CLI need to build and run, Node.js and npm included: the build runs npm
# to make the web console it embeds (console/, src/console). The tests need more (GoogleTest,
# redis-server, nats-server, PostgreSQL, ffmpeg, Chromium, …): test-deps, which `make test` runs.
deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory browser-deps; \
	else echo "test-deps: no node/npm, so no browser test packages (tests/browser)"; fi

# The browser test's npm packages (playwright-core, hls.js) as tests/browser/package-lock.json
# pins them, again only when the lock file changes. playwright-core downloads no browser: the test
# drives Debian's /usr/bin/chromium (scripts/install-deps.sh --test).
BROWSER_DEPS = tests/browser/node_modules/.package-lock.json
browser-deps: $(BROWSER_DEPS)
	@:
$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@

# The tests are configured when GoogleTest is installed (SLUICE_BUILD_TESTS=AUTO): a build
# directory made by `make run` has none, until `make test` configures it again with them.
$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

# Serial on purpose (also under make -j): one apt-get at a time.
test-configure: test-deps
	@$(MAKE) --no-print-directory configure
	@[ -f $(BUILD_DIR)/tests/CTestTestfile.cmake ] || \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSLUICE_BUILD_TESTS=ON

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# `make run` is for the machine in front of you: its loopback clients are admin (so `sluice keys
# create` works without a token). Production runs sluiced without it (docs/security.md).
run: build
	./$(BUILD_DIR)/bin/sluiced --loopback-admin true $(ARGS)

# ctest, then a short libFuzzer pass (fuzz-ci); `make test FUZZ_CI_SECONDS=0` skips the latter.
test: test-configure
	cmake --build $(BUILD_DIR) -j $(JOBS)
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 300
	@$(MAKE) --no-print-directory fuzz-ci

# libFuzzer needs clang >= 16 for C++23's <expected>; Debian 12 ships clang-16. The fuzz build
# ($(FUZZ_DIR), ccache'd) compiles only the fuzz targets and the libraries they link
# (core, hub, registry, http, wire), instrumented with ASan and UBSan; the integration tests are
# not even configured. Each target runs over the checked-in seeds (tests/fuzz/corpus) plus what
# earlier runs found ($(FUZZ_DIR)/corpus/TARGET); a crash, leak, UB report or an input running
# longer than FUZZ_TIMEOUT seconds fails the run and leaves the input in $(FUZZ_DIR)/artifacts.
#   make fuzz       FUZZ_SECONDS per target (default 60), for a developer
#   make fuzz-ci    FUZZ_CI_SECONDS per target (default 15), run by `make test`
# fuzz-ci wall time on the 2-core dev VM, 80 s of it fuzzing (measured 2026-11-21, load 4-6 from
# other builds): 4 min 31 s from no build-fuzz and no ccache, 1 min 26 s from no build-fuzz and a
# warm ccache, 1 min 22 s when build-fuzz is up to date (docs/operations.md, "Fuzzing").
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 15
FUZZ_TIMEOUT ?= 10
FUZZ_TARGETS = fuzz_request_bodies fuzz_ws_frames fuzz_text_parsers fuzz_wire_frames fuzz_wire_session fuzz_rtmp_amf0 fuzz_rtmp_chunks fuzz_rtmp_session fuzz_flv fuzz_redis_hash fuzz_stream_key fuzz_hls_muxer fuzz_auth fuzz_rtsp fuzz_sdp fuzz_rtp fuzz_mpegts fuzz_stun fuzz_soap fuzz_mdns fuzz_osc fuzz_mqtt

fuzz-build: test-deps
	@./scripts/install-deps.sh --test clang-16 libclang-rt-16-dev
	@[ -f $(FUZZ_DIR)/build.ninja ] || CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=ON \
	  -DSLUICE_INTEGRATION_TESTS=OFF \
	  -DCMAKE_CXX_FLAGS=-Wno-macro-redefined
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_TARGETS)

# fuzz-run SECONDS: every target for SECONDS; one summary line each, the log's tail on failure.
define fuzz-run
	@mkdir -p $(FUZZ_DIR)/logs $(FUZZ_DIR)/artifacts
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  if $(FUZZ_DIR)/bin/$$t -max_total_time=$(1) -timeout=$(FUZZ_TIMEOUT) -max_len=65536 \
	       -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus \
	       > $(FUZZ_DIR)/logs/$$t.log 2>&1; then \
	    echo "fuzz: $$t: $$(grep -ao 'Done [0-9]* runs in [0-9]* second(s)' $(FUZZ_DIR)/logs/$$t.log)"; \
	  else \
	    tail -n 60 $(FUZZ_DIR)/logs/$$t.log; \
	    echo "fuzz: $$t FAILED (log: $(FUZZ_DIR)/logs/$$t.log, input: $(FUZZ_DIR)/artifacts/)"; \
	    exit 1; \
	  fi; \
	done
endef

fuzz: fuzz-build
	$(call fuzz-run,$(FUZZ_SECONDS))

ifeq ($(FUZZ_CI_SECONDS),0)
fuzz-ci:
	@echo "fuzz-ci: skipped (FUZZ_CI_SECONDS=0)"
else
fuzz-ci: fuzz-build
	$(call fuzz-run,$(FUZZ_CI_SECONDS))
endif

bench: test-deps build
	./bench/registry_bench.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
