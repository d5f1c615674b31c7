#!/usr/bin/env bash
# How long `keyswap serve` takes from process spawn to its first `200` on /healthz, pinned to one
# CPU as in the load harness. Each run gets a fresh directory and config; "fresh" runs start on
# no database at all (serve creates it and runs every migration), "reused" runs start on a
# database that `keys create` made and migrated before. Prints each run and the medians.
#
#   proxy-bench/startup.sh                          # 7 fresh and 7 reused runs of ./keyswap serve
#   N=11 proxy-bench/startup.sh                     # more runs
#   KEYSWAP_CDS=off proxy-bench/startup.sh          # without the class-data archive
#   LAUNCH=jar proxy-bench/startup.sh               # plain `java -jar keyswap.jar serve` instead
#   KEYSWAP=/elsewhere/keyswap proxy-bench/startup.sh     # another checkout's launcher (and jar)
#   KEYSWAP_JAVA_OPTS=-Xlog:class+load:file=/tmp/cl.txt proxy-bench/startup.sh  # JVM options, as ./keyswap takes
#
# Builds nothing: run `./keyswap help` once first, so the jar and its class-data archive exist.
# The server is pinned to CPU 0 (CPU=1 for another), the poller (curl, every 10 ms) elsewhere.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=${N:-7}; LAUNCH=${LAUNCH:-launcher}; CPU=${CPU:-0}
KEYSWAP=${KEYSWAP:-$ROOT/keyswap}
JAR="$(dirname "$KEYSWAP")/proxy-server/target/keyswap.jar"
[[ -f "$JAR" ]] || { echo "no $JAR: run ./keyswap help once to build it" >&2; exit 1; }
POLL_CPU=$(( CPU == 0 ? $(nproc --all) - 1 : 0 ))
WORK="$(mktemp -d /tmp/keyswap-startup-XXXXXX)"
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

case "$LAUNCH" in
  launcher) RUN=("$KEYSWAP") ;;
  # shellcheck disable=SC2086 # KEYSWAP_JAVA_OPTS is a list of options, as for ./keyswap
  jar) RUN=(java ${KEYSWAP_JAVA_OPTS:-} -jar "$JAR") ;;
  *) echo "LAUNCH is launcher or jar, not $LAUNCH" >&2; exit 1 ;;
esac
free_port() { java "$ROOT/proxy-bench/harness/FreePort.java"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
HZ=$(getconf CLK_TCK)

one() { # fresh|reused -> wall and CPU ms to the first 200
  local dir="$WORK/$1-$2" port; mkdir -p "$dir"
  port=$(free_port)
  # The config the load harness uses (upstream port 9: nothing is proxied here).
  java "$ROOT/proxy-bench/src/main/java/dev/keyswap/bench/load/BenchConfigs.java" keyswap "$dir" "$port" 9 auto \
    > "$dir/keyswap.yaml"
  if [[ "$1" == reused ]]; then
    "${RUN[@]}" keys create --name startup --config "$dir/keyswap.yaml" > /dev/null 2> "$dir/create.err"
  fi
  local t0; t0=$(now_ms)
  taskset -c "$CPU" "${RUN[@]}" serve --config "$dir/keyswap.yaml" > "$dir/serve.log" 2>&1 &
  SERVER=$!
  until taskset -c "$POLL_CPU" curl -s -o /dev/null -f "http://127.0.0.1:$port/healthz"; do
    kill -0 "$SERVER" 2>/dev/null || { echo "serve exited:" >&2; cat "$dir/serve.log" >&2; exit 1; }
    (( $(now_ms) - t0 < 30000 )) || { echo "no /healthz within 30 s" >&2; exit 1; }
    sleep 0.01
  done
  local wall=$(( $(now_ms) - t0 ))
  # CPU time the server (and the launcher's own helpers) used until then: on a shared machine
  # this varies far less than the wall time.
  local cpu; cpu=$(awk -v hz="$HZ" '{ print int(($14 + $15 + $16 + $17) * 1000 / hz) }' "/proc/$SERVER/stat")
  echo "$wall $cpu"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for kind in fresh reused; do
  : > "$WORK/$kind.ms"
  for i in $(seq 1 "$N"); do
    one "$kind" "$i" >> "$WORK/$kind.ms"
  done
  printf '%-6s /healthz after median %5d ms (CPU %5d ms)   runs: %s\n' "$kind" \
    "$(cut -d' ' -f1 "$WORK/$kind.ms" | median)" "$(cut -d' ' -f2 "$WORK/$kind.ms" | median)" \
    "$(cut -d' ' -f1 "$WORK/$kind.ms" | tr '\n' ' ')"
done
