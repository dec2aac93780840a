#!/usr/bin/env bash
# `make run` installs only what sluiced needs; `make test` adds what the tests use; a machine
# without GoogleTest (one set up by `make run`) still configures and builds the daemon.
# Usage: install_deps_test.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qx -- "$2" <<<"$1"; }

run_list=$("$src/scripts/install-deps.sh" --list)
test_list=$("$src/scripts/install-deps.sh" --list --test)
# nodejs (and npm, when node brings none) build the web console that sluiced embeds.
for p in libboost1.81-dev libavformat-dev libhiredis-dev libnats-dev libpq-dev cmake nodejs; do
  has "$run_list" "$p" || fail "the run set lacks $p (sluiced links it): $run_list"
  has "$test_list" "$p" || fail "the test set lacks $p"
done
for p in redis-server nats-server postgresql ffmpeg libgtest-dev libgmock-dev chromium wrk curl; do
  has "$run_list" "$p" && fail "make run would install $p, which only the tests use"
  has "$test_list" "$p" || fail "make test would not install $p"
done

# What the Makefile runs (make -n prints the recipes; $(MAKE) lines run, also printing only).
dry_run=$(make -n -C "$src" run BUILD_DIR="$work/build" 2>&1)
grep -q 'scripts/install-deps.sh$' <<<"$dry_run" || fail "make run does not install its deps: $dry_run"
grep -q 'install-deps.sh --test' <<<"$dry_run" && fail "make run installs the test deps: $dry_run"
dry_test=$(make -n -C "$src" test BUILD_DIR="$work/build" 2>&1)
grep -q 'install-deps.sh --test' <<<"$dry_test" || fail "make test does not install the test deps"
# The browser test's npm packages come from tests/browser's lock file (where node and npm are).
if command -v node >/dev/null && command -v npm >/dev/null; then
  dry_browser=$(make -n -C "$src" -W tests/browser/package-lock.json browser-deps 2>&1)
  grep -q 'npm ci --prefix tests/browser' <<<"$dry_browser" ||
    fail "make browser-deps does not run npm ci in tests/browser: $dry_browser"
fi

# Without GoogleTest the project configures, without the tests.
cmake -S "$src" -B "$work/no-gtest" -G Ninja -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON \
  > "$work/configure.log" 2>&1 || fail "configure without GoogleTest failed: $(tail -20 "$work/configure.log")"
grep -q 'GoogleTest not found' "$work/configure.log" || fail "no note that the tests are skipped"
[ ! -e "$work/no-gtest/tests" ] || fail "tests configured without GoogleTest"
# (Into a file first: with pipefail, `grep -q` quitting early would fail the pipeline by SIGPIPE.)
ninja -C "$work/no-gtest" -t targets all > "$work/targets.txt"
grep -q '^sluiced:' "$work/targets.txt" || fail "no sluiced target"
echo "install_deps: ok"
