#!/usr/bin/env bash
# The project's test command: installs what it needs, builds, runs the default suite (everything
# but the "slow" label) with CTest, then the Node checks (official OpenAI SDK against the real
# server, transformers.js tokenizer comparison). Prints one closing line "N passed, N failed".
#   scripts/test.sh            default suite
#   scripts/test.sh --slow     only the slow, real-shape parity tests
#   scripts/test.sh --sanitize unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-default}"
bash scripts/install-deps.sh || exit 1
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || exit 1
JOBS="$(nproc)"
pass=0; fail=0
run_ctest() {  # build_dir, ctest args...
  local dir="$1"; shift
  local log; log="$(mktemp)"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "$@") 2>&1 | tee "$log"
  local total failed
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  if [ -z "$total" ]; then fail=$((fail + 1)); else pass=$((pass + total - failed)); fail=$((fail + failed)); fi
  rm -f "$log"
}
case "$MODE" in
  --sanitize)
    bash scripts/build.sh build-asan -DGS_SANITIZE=ON || exit 1
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
    run_ctest build-asan -L unit -E "Slow|Bench" --timeout 300
    ;;
  --slow)
    bash scripts/build.sh build || exit 1
    run_ctest build -L slow --timeout 3600
    ;;
  *)
    bash scripts/build.sh build || exit 1
    bash scripts/make-demo-model.sh build/bin || exit 1
    run_ctest build -LE slow --timeout 600
    nlog="$(mktemp)"
    (cd tests/node && GS_BIN_DIR="$PWD/../../build/bin" node --test --test-reporter=tap 2>&1) | tee "$nlog"
    np=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$nlog" | tail -1); nf=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$nlog" | tail -1)
    if [ -z "$np" ]; then fail=$((fail + 1)); else pass=$((pass + np)); fail=$((fail + ${nf:-0})); fi
    rm -f "$nlog"
    ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
