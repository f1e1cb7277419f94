#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan; warnings are not errors here, the gcc build
# enforces them) and runs each for a bounded time against the seed corpus in fuzz/corpus/<target>.
# New inputs go to a scratch directory, so the committed corpus stays as it is; a crash leaves its
# input in build-fuzz/crashes/ and fails the run.
#   scripts/fuzz.sh [seconds per target, default 30] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=(fuzz_request_parser fuzz_reply fuzz_topology fuzz_bus_packet fuzz_config)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSLOTGATE_FUZZ=ON -DSLOTGATE_WERROR=OFF "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-$(nproc)}" --target fuzz_all

mkdir -p "$BUILD_DIR/crashes"
failed=()
for target in "${TARGETS[@]}"; do
  scratch=$(mktemp -d)
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory per input.
  if ! "$BUILD_DIR/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/crashes/$target-" "$scratch" "fuzz/corpus/$target" \
      >"$BUILD_DIR/$target.log" 2>&1; then
    failed+=("$target")
    tail -40 "$BUILD_DIR/$target.log"
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$BUILD_DIR/$target.log" | tr '\n' ' '
    echo
  fi
  rm -rf "$scratch"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD_DIR/crashes/)"
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran clean"
