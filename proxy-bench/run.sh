#!/usr/bin/env bash
# Keyswap end-to-end load harness: direct vs nginx (header swap only) vs Keyswap (every governance
# step on), interleaved, repeated; one table on stdout, JSON under proxy-bench/results/.
#
#   proxy-bench/run.sh            # full matrix, ~18 minutes
#   QUICK=1 proxy-bench/run.sh    # smoke version, ~3 minutes
#   SCENARIOS="chat c=64,paced" REPS=5 proxy-bench/run.sh   # measure only these (after the same warm-up and pass of every shape)
#
# Knobs (environment): DURATION (s per measured run), WARMUP (s), JIT_WARMUP (s), SHAPE_PASS (1: one
# unrecorded pass of the whole matrix before the first repetition; 0 skips it), REPS, RATE (paced req/s),
# STREAMS, STREAM_INTERVAL_MS, SCENARIOS (comma-separated scenario names or their first words: "chat c=1", "chat", "sse20", "paced",
# "sse1000", "upload", "download"; default all), BULK_BYTES, BULK_REPS, BULK_WARMUP_BYTES, PROXY_CPUS / LOAD_CPUS (taskset CPU lists;
# default on >=2 CPUs: proxies on CPU 0, wrk + clients + upstream on the rest; set both empty to
# disable pinning), SKIP_BUILD=1, KEEP_WORK=1 (keep the run's work directory, with Keyswap's database and
# the servers' logs, which is otherwise removed after a run that finished; a failed run keeps it).
# Everything listens on and talks to 127.0.0.1 only. Every process started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BENCH="$ROOT/proxy-bench"
RUN_DIR="$(mktemp -d /tmp/keyswap-run-XXXXXX)"
PIDFILE="$RUN_DIR/pids"
: > "$PIDFILE"
HARNESS_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$HARNESS_PID" ]] && kill -0 "$HARNESS_PID" 2>/dev/null; then
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$HARNESS_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # The harness stops its children itself; this catches any it could not (e.g. it was SIGKILLed).
  while read -r pid; do
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
  done < "$PIDFILE"
  sleep 0.5
  while read -r pid; do
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done < "$PIDFILE"
  rm -rf "$RUN_DIR"
  exit $rc
}
trap cleanup EXIT INT TERM

HARNESS_TOOLS="jcmd jstat"
# shellcheck source=harness/prepare.sh
source "$BENCH/harness/prepare.sh"
CP="$BENCH_CP"

# Pinning: proxies (nginx, Keyswap) on PROXY_CPUS; wrk, the Java clients, the upstream and the
# harness itself on LOAD_CPUS. Decided here, before the harness is itself pinned (a pinned JVM
# sees only its own CPUs).
PIN=()
NCPU=$(nproc --all)
if [[ -z "${PROXY_CPUS+x}" ]]; then
  if (( NCPU >= 2 )); then PROXY_CPUS="0"; else PROXY_CPUS=""; fi
fi
if [[ -z "${LOAD_CPUS+x}" ]]; then
  if (( NCPU >= 2 )); then LOAD_CPUS="1-$(( NCPU - 1 ))"; else LOAD_CPUS=""; fi
fi
[[ -n "$LOAD_CPUS" && -n "$PROXY_CPUS" ]] && PIN=(taskset -c "$LOAD_CPUS")
echo "[run.sh] proxies on CPU(s) [${PROXY_CPUS}], load generator + upstream on CPU(s) [${LOAD_CPUS}] of $NCPU"
export LOAD_CPUS PROXY_CPUS
export KS_LAUNCHER="$ROOT/keyswap" KS_RESULTS="$BENCH/results" KS_HARNESS="$BENCH/harness" KS_PIDFILE="$PIDFILE"

"${PIN[@]}" java -Xms512m -Xmx1g -cp "$CP" dev.keyswap.bench.load.LoadHarness &
HARNESS_PID=$!
echo "$HARNESS_PID" >> "$PIDFILE"
wait "$HARNESS_PID"
