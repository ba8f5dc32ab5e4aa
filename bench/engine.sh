#!/usr/bin/env bash
# The PDF text engine's cost on a Latin book, as instruction counts (valgrind's callgrind, which
# repeat exactly on a noisy machine), and wall time for information: this build of postbook
# against another binary (an earlier commit's), on the same synthetic posts.
#
#   bench/engine.sh [POSTS] [OTHER_BINARY]
#
# POSTS defaults to 1000; OTHER_BINARY to none (then only this build is measured). Needs
# valgrind and python3. Takes about a minute per 100 posts and binary under callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
other="${2:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 bench/corpus.py "$n" > "$work/posts.json"
cargo build --release -q
measure() {
  local bin="$1" name="$2"
  local start end
  start=$(date +%s.%N)
  "$bin" convert "$work/posts.json" -q -f pdf -o "$work/$name.pdf"
  end=$(date +%s.%N)
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$name" \
    "$bin" convert "$work/posts.json" -q -f pdf -o "$work/$name.cg.pdf" 2>/dev/null
  local ir
  ir=$(grep -m1 '^totals:' "$work/cg.$name" | awk '{print $2}')
  printf '%-8s %6d posts  %14s instructions  %6.2f s  %s pages\n' "$name" "$n" "$ir" \
    "$(echo "$end - $start" | bc)" "$(pdfinfo "$work/$name.pdf" 2>/dev/null | awk '/^Pages:/{print $2}')"
  echo "$ir" > "$work/ir.$name"
}
measure target/release/postbook this
if [ -n "$other" ]; then
  measure "$other" other
  python3 -c "import sys; a=int(open(sys.argv[1]).read()); b=int(open(sys.argv[2]).read()); print(f'this / other: {a/b:.3f} (instructions)')" "$work/ir.this" "$work/ir.other"
fi
