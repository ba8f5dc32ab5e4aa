#!/usr/bin/env bash
# postbook beside pandoc and calibre on the same synthetic archive, with the deflate floor as a
# yardstick that does not depend on the machine: wall time and peak memory per format, and the
# ratios the scale targets are written in.
#
#   bench/compare.sh [POSTS] [--no-peers] [--jobs N]
#
# POSTS defaults to 1000. The peers read the posts as one HTML file (pandoc) and as per-post
# HTML files linked from an index (calibre's ebook-convert, its fastest way); pandoc's PDF goes
# through weasyprint. Peers that are not installed are left out with a note (Debian: pandoc,
# calibre, weasyprint); --no-peers leaves them out on purpose (they take minutes). A peer
# gets PEER_LIMIT seconds (default 300) per format.
# The floor is zlib at level 6 on each post's HTML alone, one core, in the same run.
# Prints a Markdown table (BENCHMARKS.md keeps one run's).
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000
peers=true
jobs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-peers) peers=false ;;
    --jobs) jobs=(--jobs "$2"); shift ;;
    *) n="$1" ;;
  esac
  shift
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 bench/corpus.py "$n" > "$work/posts.json"
cargo build --release -q
bin="$PWD/target/release/postbook"
version="$(git describe --always --dirty)"

# one HTML file for pandoc, per-post files and an index for calibre
python3 - "$work" <<'PY'
import html, json, os, sys
work = sys.argv[1]
posts = json.load(open(os.path.join(work, "posts.json"), encoding="utf-8"))
os.makedirs(os.path.join(work, "html"), exist_ok=True)
with open(os.path.join(work, "all.html"), "w", encoding="utf-8") as all_, \
     open(os.path.join(work, "html", "index.html"), "w", encoding="utf-8") as index:
    all_.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Posts</title></head><body>\n")
    index.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Posts</title></head><body>\n")
    for i, p in enumerate(posts):
        title = p["title"]["rendered"]
        body = p["content"]["rendered"]
        all_.write(f"<h1>{title}</h1>\n{body}\n")
        name = f"post-{i:05d}.html"
        with open(os.path.join(work, "html", name), "w", encoding="utf-8") as f:
            f.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>\n{body}\n</body></html>")
        index.write(f"<p><a href='{name}'>{html.escape(title)}</a></p>\n")
    all_.write("</body></html>\n")
    index.write("</body></html>\n")
PY

# seconds and peak KB of a command, into the globals secs and kb; a peer gets at most
# $limit seconds (then secs is "> limit")
limit="${PEER_LIMIT:-300}"
run() {
  local out="$work/time.txt" start end status=0
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>"$work/stderr.txt" || status=$?
  end=$(date +%s.%N)
  if [ "$status" -eq 0 ]; then
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    read -r kb < "$out"
  elif [ "$status" -eq 124 ]; then
    secs="> $limit"; kb=0
  else
    secs="failed"; kb=0
    echo "note: $* failed: $(tail -1 "$work/stderr.txt")" >&2
  fi
}

# every tool runs in the scratch folder: pandoc leaves its weasyprint files where it runs
cd "$work"

floor=$(python3 - "$work/posts.json" <<'PY'
import json, sys, time, zlib
posts = json.load(open(sys.argv[1], encoding="utf-8"))
bodies = [p["content"]["rendered"].encode("utf-8") for p in posts]
best = None
for _ in range(3):
    start = time.perf_counter()
    for b in bodies:
        zlib.compress(b, 6)
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
print(f"{best:.3f}")
PY
)

mb() { awk -v kb="$1" 'BEGIN { printf "%.0f MB", kb / 1024 }'; }
ratio() {
  case "$1$2" in
    *failed*) echo "–" ;;
    ">"*) echo "> $(awk -v a="${1#> }" -v b="$2" 'BEGIN { printf "%.0f×", a / b }')" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "–"; else printf "%.2f×", a / b }' ;;
  esac
}
shown() { case "$1" in failed) echo "–" ;; ">"*) echo "$1 s" ;; *) echo "$1 s, $(mb "$2")" ;; esac; }

echo "| $n posts ($(du -m "$work/posts.json" | cut -f1) MB of JSON) | postbook | ÷ floor | pandoc | calibre | pandoc ÷ postbook | calibre ÷ postbook |"
echo "|---|---|---|---|---|---|---|"
for format in txt epub pdf; do
  run "$bin" convert "$work/posts.json" -q -f "$format" "${jobs[@]}" -o "$work/book.$format"
  p_secs=$secs; p_kb=$kb
  pan="–"; cal="–"; pan_secs=failed; cal_secs=failed
  if $peers && command -v pandoc >/dev/null; then
    case "$format" in
      txt) run timeout "$limit" pandoc "$work/all.html" -t plain -o "$work/pandoc.txt" ;;
      epub) run timeout "$limit" pandoc "$work/all.html" -o "$work/pandoc.epub" ;;
      pdf)
        if command -v weasyprint >/dev/null; then
          run timeout "$limit" pandoc "$work/all.html" --pdf-engine=weasyprint -o "$work/pandoc.pdf"
        else secs=failed; echo "note: no weasyprint for pandoc's PDF" >&2; fi ;;
    esac
    pan_secs=$secs; pan=$(shown "$secs" "$kb")
  fi
  if $peers && command -v ebook-convert >/dev/null; then
    # calibre renders PDF with QtWebEngine, whose sandbox refuses to run as root
    QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox run timeout "$limit" ebook-convert "$work/html/index.html" "$work/calibre.$format"
    cal_secs=$secs; cal=$(shown "$secs" "$kb")
  fi
  echo "| $format | $(shown "$p_secs" "$p_kb") | $(ratio "$p_secs" "$floor") | $pan | $cal | $(ratio "$pan_secs" "$p_secs") | $(ratio "$cal_secs" "$p_secs") |"
done
echo
echo "Floor: zlib level 6 on each post's HTML alone, one core: $floor s. $(nproc) cores; postbook $version."
