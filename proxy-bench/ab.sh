#!/usr/bin/env bash
# Two builds of Keyswap measured at once: this tree's and another's, both pinned to CPU 0 and
# loaded alike (one wrk each, on the other CPU with the one upstream), in rounds. On a shared
# machine whose speed drifts by more than the change being measured, runs of one build after the
# other disagree by ±10 % from one pair to the next; two builds side by side see the same host, and
# the ratio of their CPU per request holds to a few percent. `proxy-bench/ab.sh HEAD` (this tree's
# build against its own commit's) shows how far from 1.000 the median strays with no change.
#
#   proxy-bench/ab.sh HEAD~1                       # this tree against an earlier commit
#   OTHER=/elsewhere/checkout proxy-bench/ab.sh    # against another checkout (built there if needed)
#   MODE=sse C=8 proxy-bench/ab.sh main            # 20-event SSE streams instead of chat
#   OTHER=. OTHER_OPTS=-XX:+UseTransparentHugePages proxy-bench/ab.sh   # one build, two JVM settings
#
# A commit is checked out in a temporary git worktree and built there (./keyswap builds its jar on
# first use); the worktree is removed on exit. Knobs: C (connections per build, default 32: the
# two together load CPU 0 as c=64 does), MODE (chat or sse), WARM (seconds of warm-up, default 60,
# in runs of 10 s on new connections, as cpu-profile.sh does), D (seconds per round, 10), ROUNDS (8),
# TRANSPORT (server.transport), SKIP_BUILD=1 (this tree's jars as they are), THIS_OPTS and OTHER_OPTS
# (KEYSWAP_JAVA_OPTS for this tree's server and the other's; OTHER=. compares settings of one build).
# Both builds get this tree's bench config (BenchConfigs): a build too old to read it fails to
# start, and says so.
#
# Prints each round (CPU µs per request of each build, from /proc, and this/other), then the median
# of the ratios. Everything listens on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
C=${C:-32}; MODE=${MODE:-chat}; WARM=${WARM:-60}; D=${D:-10}; ROUNDS=${ROUNDS:-8}; TRANSPORT=${TRANSPORT:-auto}
(( $(nproc --all) >= 2 )) || { echo "ab.sh needs 2 CPUs (the builds on one, load on another)" >&2; exit 1; }
[[ $# -le 1 && ( $# -eq 1 || -n "${OTHER:-}" ) ]] || { echo "usage: proxy-bench/ab.sh COMMIT, or OTHER=DIR proxy-bench/ab.sh" >&2; exit 1; }
WORK="$(mktemp -d /tmp/keyswap-ab-XXXXXX)"
PIDS=()
WORKTREE=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$WORKTREE" ]] && git -C "$ROOT" worktree remove --force "$WORKTREE" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# shellcheck source=harness/prepare.sh
source "$ROOT/proxy-bench/harness/prepare.sh"
if [[ $# -eq 1 ]]; then
  WORKTREE="$WORK/other"
  git -C "$ROOT" worktree add --detach --quiet "$WORKTREE" "$1"
  OTHER="$WORKTREE"
fi
LABEL=${1:-$OTHER}
echo "[proxy-bench] building $LABEL" >&2
(cd "$OTHER" && ./keyswap help > /dev/null)
(cd "$ROOT" && ./keyswap help > /dev/null)
LUA="$ROOT/proxy-bench/harness/bench.lua"
HZ=$(getconf CLK_TCK)

UP=$(free_port)
taskset -c 1 java -Xms256m -Xmx256m -XX:+UseParallelGC -cp "$BENCH_CP" dev.keyswap.bench.load.BenchUpstream "$UP" 1 \
  > "$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_port "$UP"

# One Keyswap per build, each with its own directory, database, port and token.
DIRS=("$ROOT" "$OTHER"); OPTS=("${THIS_OPTS:-}" "${OTHER_OPTS:-}"); PORTS=(); TOKENS=(); SERVERS=(); RESULTS=()
for i in 0 1; do
  mkdir -p "$WORK/$i"
  PORTS[i]=$(free_port)
  java -cp "$BENCH_CP" dev.keyswap.bench.load.BenchConfigs keyswap "$WORK/$i" "${PORTS[i]}" "$UP" "$TRANSPORT" > "$WORK/$i/keyswap.yaml"
  TOKENS[i]=$(KEYSWAP_JAVA_OPTS= "${DIRS[i]}/keyswap" keys create --name ab --config "$WORK/$i/keyswap.yaml" 2>/dev/null)
  # ./keyswap execs java, so this is the server's own pid (its /proc counters).
  KEYSWAP_JAVA_OPTS="${OPTS[i]}" taskset -c 0 "${DIRS[i]}/keyswap" serve --config "$WORK/$i/keyswap.yaml" > "$WORK/$i/serve.log" 2>&1 &
  SERVERS[i]=$!
  PIDS+=($!)
done
for i in 0 1; do
  wait_port "${PORTS[i]}" || { echo "the build in ${DIRS[i]} did not start:" >&2; cat "$WORK/$i/serve.log" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Loads both at once for $1 seconds, the wrk of build $2 started first; each wrk's KSRESULT line in
# RESULTS[i].
both() {
  local loads=()
  for i in "$2" $(( 1 - $2 )); do
    KS_MODE="$MODE" KS_AUTH="Bearer ${TOKENS[i]}" taskset -c 1 wrk -t1 -c"$C" -d"$1"s -s "$LUA" \
      "http://127.0.0.1:${PORTS[i]}/openai/v1/chat/completions" | grep KSRESULT > "$WORK/$i.result" &
    loads+=($!)
  done
  wait "${loads[@]}"
  for i in 0 1; do RESULTS[i]=$(cat "$WORK/$i.result"); done
}

echo "This tree ($ROOT${THIS_OPTS:+, $THIS_OPTS}) and $LABEL${OTHER_OPTS:+ ($OTHER_OPTS)} side by side on CPU 0, each under wrk -t1 -c$C (MODE=$MODE), the upstream and"
echo "both wrk on CPU 1; warmed up for ${WARM}s, then $ROUNDS rounds of ${D}s. CPU per request from /proc."
for (( left = WARM; left > 0; left -= 10 )); do both $(( left < 10 ? left : 10 )) 0; done
RATIOS=()
for (( r = 1; r <= ROUNDS; r++ )); do
  t0=(); t1=()
  for i in 0 1; do t0[i]=$(cpu_ticks "${SERVERS[i]}"); done
  both "$D" $(( r % 2 ))
  for i in 0 1; do t1[i]=$(cpu_ticks "${SERVERS[i]}"); done
  for i in 0 1; do
    errors=$(wrk_errors "${RESULTS[i]}")
    (( errors == 0 )) || echo "WARNING: round $r: ${DIRS[i]} answered $errors requests with an error or not at all" >&2
  done
  line=$(awk -v a=$(( t1[0] - t0[0] )) -v b=$(( t1[1] - t0[1] )) -v na="$(field "${RESULTS[0]}" requests)" -v nb="$(field "${RESULTS[1]}" requests)" \
      -v hz="$HZ" -v r="$r" 'BEGIN {
    if (na == 0 || nb == 0) { print "round " r ": no requests"; exit }
    ua = a * 1e6 / hz / na; ub = b * 1e6 / hz / nb
    printf "round %d: this tree %6.1f us/req (%d requests), other %6.1f us/req (%d), this/other %.3f\n", r, ua, na, ub, nb, ua / ub }')
  echo "$line"
  [[ "$line" == *this/other* ]] && RATIOS+=("${line##* }")
done
printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{v[NR] = $1} END {
  if (NR == 0) { print "no round measured"; exit 1 }
  printf "median this/other over %d rounds: %.3f (lowest %.3f, highest %.3f)\n", NR, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
