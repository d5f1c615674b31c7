#!/usr/bin/env bash
# Where a proxied request's CPU goes: Keyswap and nginx (header swap only) in front of the same
# bench upstream, each warmed up, then measured under one wrk load, with CPU per request split by
# thread (event loops, usage writer, JIT, GC) and into user and kernel time, with each thread's
# sleeps per request (voluntary context switches: how often it waited for work). PROFILE=1 also
# samples Keyswap with async-profiler (fetched from Maven Central) and prints the hottest frames.
#
#   proxy-bench/cpu-profile.sh                      # c=64, 20 s warm-up, 10 s measured
#   C=1 TRANSPORT=epoll proxy-bench/cpu-profile.sh  # a lone client over epoll
#   PROFILE=1 proxy-bench/cpu-profile.sh            # + collapsed stacks in proxy-bench/results/
#   PROFILE=1 PROFILE_EVENT=alloc proxy-bench/cpu-profile.sh  # bytes allocated, by stack, instead of CPU
#   BARE=1 proxy-bench/cpu-profile.sh               # + Netty's HTTP codecs alone (BareNettyProxy)
#   RELAY=1 proxy-bench/cpu-profile.sh              # + a byte relay on Netty's channels and on its io_uring handles (RelayFloor)
#   SYSCALLS=1 C=1 proxy-bench/cpu-profile.sh       # + syscalls per request of each proxy's busiest thread (perf trace)
#
# Knobs: C (connections), MODE (chat; sse: a 20-event stream per request; streams: rounds of C
# concurrent 20-event streams on new connections, per event, latency = hold-back; paced: chat
# requests sent at RATE per second, default 2000, over C connections, as the full run's paced
# scenario, latency from each request's scheduled send time), SSE_INTERVAL_MS
# (the upstream's pause between those events; default 0 for sse, all in one burst, 50 for streams), WARM, WARM_SSE (seconds of SSE load before the warm-up), D (seconds), TRANSPORT (server.transport), PROFILE, PROFILE_EVENT (cpu or alloc), BARE, RELAY, SYSCALLS, SKIP_BUILD=1,
# WITH_NGINX=0 (Keyswap alone, for A/B runs of its own settings; KEYSWAP_JAVA_OPTS reaches its JVM;
# KEYSWAP_YAML_EXTRA is appended to its config, e.g. 'usage:\n  batch_size: 64').
# (Not NGINX=0: nginx reads NGINX as sockets inherited in a binary upgrade, and then neither
# daemonizes nor listens.)
# Pinning as in run.sh: the proxy on CPU 0, wrk and the upstream on the others (needs 2+ CPUs).
# Everything listens on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE_EVENT=${PROFILE_EVENT:-cpu}; C=${C:-64}; WARM=${WARM:-20}; D=${D:-10}; TRANSPORT=${TRANSPORT:-auto}; PROFILE=${PROFILE:-0}; BARE=${BARE:-0}; MODE=${MODE:-chat}
WORK="$(mktemp -d /tmp/keyswap-cpu-XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

(( $(nproc --all) >= 2 )) || { echo "cpu-profile.sh needs 2 CPUs (proxy on one, load on the other)" >&2; exit 1; }
[[ "${SYSCALLS:-0}" == 1 ]] && HARNESS_PACKAGES="perf:linux-perf"
# shellcheck source=harness/prepare.sh
source "$ROOT/proxy-bench/harness/prepare.sh"
CP="$BENCH_CP"
LUA="$ROOT/proxy-bench/harness/bench.lua"

ticks() { awk '{print $14, $15}' "/proc/$1/stat"; } # utime stime, in clock ticks
threads() { # thread name (spaces squeezed), its utime+stime, its utime and its sleeps (voluntary context switches)
  for t in /proc/"$1"/task/*; do
    # Fields after "pid (comm) ", which may hold spaces ("C2 CompilerThre"): utime is then the 12th, stime the 13th.
    printf '%s %s %s\n' "$(tr ' ' '_' < "$t/comm")" "$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12+$13, $12}' || echo 0 0)" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null || echo 0)"
  done | awk '{a[$1]+=$2; u[$1]+=$3; w[$1]+=$4} END {for (k in a) print k, a[k], u[k], w[k] + 0}' | sort
}
HZ=$(getconf CLK_TCK)
segs() { awk '/^Tcp:/ && ++n == 2 {print $12}' /proc/net/snmp; } # TCP segments sent, machine-wide

UP=$(free_port)
taskset -c 1 java -Xms256m -Xmx256m -XX:+UseParallelGC -cp "$CP" dev.keyswap.bench.load.BenchUpstream "$UP" 1 \
  > "$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_port "$UP"

KS=$(free_port)
java -cp "$CP" dev.keyswap.bench.load.BenchConfigs keyswap "$WORK" "$KS" "$UP" "$TRANSPORT" > "$WORK/keyswap.yaml"
printf '%b\n' "${KEYSWAP_YAML_EXTRA:-}" >> "$WORK/keyswap.yaml"
# As users start it: ./keyswap (which also makes its class-data archive after a build).
# KEYSWAP_JAVA_OPTS is for the server under test: an option that prints (a JFR recording, say)
# would end up in the token.
TOKEN=$(KEYSWAP_JAVA_OPTS= ./keyswap keys create --name cpu-profile --config "$WORK/keyswap.yaml" 2>/dev/null)
# A profile attached later sees only what the JIT recorded: without DebugNonSafepoints, only the
# safepoints of compiled code map back to Java lines, and every sample between two of them is
# charged to the nearest one (a constructor called a few hundred times showed as 0.16 us per
# request). Started with it, the samples land on the code that ran.
PROFILE_OPTS=""
[[ "$PROFILE" == 1 ]] && PROFILE_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints"
KEYSWAP_JAVA_OPTS="${KEYSWAP_JAVA_OPTS:-} $PROFILE_OPTS" taskset -c 0 ./keyswap serve --config "$WORK/keyswap.yaml" \
  > "$WORK/keyswap.log" 2>&1 &
KPID=$!
PIDS+=($KPID)
wait_port "$KS"

NG=$(free_port)
mkdir -p "$WORK/nginx-tmp"
java -cp "$CP" dev.keyswap.bench.load.BenchConfigs nginx "$WORK" "$NG" "$UP" > "$WORK/nginx.conf"
taskset -c 0 nginx -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon on;'
wait_port "$NG"
NGPID=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)

if [[ "${RELAY:-0}" == 1 ]]; then
  # The same byte relay on Netty's channels and on its io_uring handle API: what a transport of
  # Keyswap's own could save per request, at most (RelayFloor's comment).
  RC=$(free_port); RR=$(free_port)
  taskset -c 0 java -Xms256m -Xmx256m -XX:+UseParallelGC $PROFILE_OPTS -cp "$CP" dev.keyswap.bench.load.RelayFloor channel "$RC" "$UP" \
    > "$WORK/relay-channel.log" 2>&1 &
  RCPID=$!
  PIDS+=($RCPID)
  taskset -c 0 java -Xms256m -Xmx256m -XX:+UseParallelGC --add-opens java.base/sun.nio.ch=ALL-UNNAMED $PROFILE_OPTS -cp "$CP" \
    dev.keyswap.bench.load.RelayFloor ring "$RR" "$UP" > "$WORK/relay-ring.log" 2>&1 &
  RRPID=$!
  PIDS+=($RRPID)
  wait_port "$RC"
  wait_port "$RR"
fi

if [[ "$BARE" == 1 ]]; then
  BP=$(free_port)
  taskset -c 0 java -Xms256m -Xmx256m -XX:+UseParallelGC $PROFILE_OPTS -cp "$CP" dev.keyswap.bench.load.BareNettyProxy "$BP" "$UP" \
    > "$WORK/bare.log" 2>&1 &
  BPID=$!
  PIDS+=($BPID)
  wait_port "$BP"
fi

load() { # url auth seconds -> wrk's KSRESULT line
  if [[ "$MODE" == streams || "$MODE" == paced ]]; then
    "$MODE" "$@"
    return
  fi
  KS_MODE="$MODE" KS_SSE_INTERVAL_MS="${SSE_INTERVAL_MS:-0}" KS_AUTH="$2" taskset -c 1 wrk -t1 -c"$C" -d"$3"s -s "$LUA" "$1" | grep KSRESULT
}
# MODE=streams: rounds of C concurrent 20-event SSE streams, each on a connection of its own (as the
# full run's 1,000 streams), for the given seconds; a KSRESULT line counting events as requests.
streams() { # url auth seconds
  local end=$((SECONDS + $3)) events=0 p50=0 p99=0 r
  while (( SECONDS < end )); do
    r=$(taskset -c 1 java -cp "$CP" dev.keyswap.bench.load.SseStreamClient "${1%/v1/chat/completions}" "${2#Bearer }" \
        "$C" 20 "${SSE_INTERVAL_MS:-50}")
    events=$(( events + $(field "$r" events) )); p50=$(field "$r" holdback_p50_us); p99=$(field "$r" holdback_p99_us)
  done
  echo "KSRESULT {\"requests\":$events,\"err_connect\":0,\"err_read\":0,\"err_write\":0,\"err_status\":0,\"err_timeout\":0,\"p50_us\":$p50,\"p99_us\":$p99}"
}
# MODE=paced: PacedClient at RATE req/s for the given seconds after its own second of warm-up
# (a cold client sends late); a KSRESULT line from its JSON, counting the warm-up's requests too,
# since the proxy's CPU is read around the whole client run. Latencies are the measured seconds'.
paced() { # url auth seconds
  local r
  r=$(taskset -c 1 java -cp "$CP" dev.keyswap.bench.load.PacedClient "${1%/v1/chat/completions}" "${2#Bearer }" "${RATE:-2000}" "$3" "$C" | tail -1)
  echo "KSRESULT {\"requests\":$(field "$r" completed_with_warmup),\"err_connect\":0,\"err_read\":0,\"err_write\":0,\"err_status\":$(field "$r" errors),\"err_timeout\":0,\"p50_us\":$(field "$r" p50_us),\"p99_us\":$(field "$r" p99_us)}"
}
requests() { field "$1" requests; }

measure() { # name pid url auth
  local name=$1 pid=$2 url=$3 auth=$4
  # The warm-up in runs of at most 10 s, each on new connections: C2 compiles a long steady run's
  # code without the accept and close paths (class checks on the one channel type it saw), and the
  # next set of connections deoptimizes it. A server with steady churn converges after a few such
  # rounds; with one long warm-up, recompiling cost ~2 us per request of the measured run
  # (-XX:+LogCompilation), which such a server never pays.
  local left
  # WARM_SSE: seconds of the SSE scenario (20 events, c=16) first, as run.sh's warm-up does.
  if (( ${WARM_SSE:-0} > 0 )); then
    KS_MODE=sse KS_AUTH="$auth" taskset -c 1 wrk -t1 -c16 -d"${WARM_SSE}"s -s "$LUA" "$url" > /dev/null
  fi
  for (( left = WARM; left > 0; left -= 10 )); do
    load "$url" "$auth" $(( left < 10 ? left : 10 )) > /dev/null
  done
  threads "$pid" > "$WORK/t0"; read -r u0 s0 < <(ticks "$pid"); local g0; g0=$(segs)
  local r; r=$(load "$url" "$auth" "$D")
  threads "$pid" > "$WORK/t1"; read -r u1 s1 < <(ticks "$pid"); local g1; g1=$(segs)
  local n; n=$(requests "$r")
  local errors; errors=$(wrk_errors "$r")
  (( errors == 0 )) || echo "WARNING: $name answered $errors of $n requests with an error or not at all; its figures are not comparable" >&2
  awk -v n="$n" -v hz="$HZ" -v name="$name" -v c="$C" -v d="$D" \
      -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v p50="$(field "$r" p50_us)" -v p99="$(field "$r" p99_us)" \
      -v g=$((g1 - g0)) -v w="$(join "$WORK/t0" "$WORK/t1" | awk '{w += $7 - $4} END {print w + 0}')" 'BEGIN {
    printf "%-8s c=%-3d %8.0f req/s  p50 %6d us  p99 %7d us  CPU %6.1f us/req (user %5.1f, kernel %5.1f)  %.2f TCP segments/req  %.2f sleeps/req\n",
      name, c, n / d, p50, p99, (u + s) * 1e6 / hz / n, u * 1e6 / hz / n, s * 1e6 / hz / n, g / n, w / n }'
  if [[ "$name" == keyswap || "$name" == bare ]]; then
    # Per thread, with its user time: the event loop's kernel time flips between runs (see docs/performance.md).
    join "$WORK/t0" "$WORK/t1" | awk -v n="$n" -v hz="$HZ" '$5 > $2 {
      printf "           %-22s %6.1f us/req (user %5.1f)  %.2f sleeps/req\n", $1, ($5 - $2) * 1e6 / hz / n, ($6 - $3) * 1e6 / hz / n, ($7 - $4) / n }' \
      | sort -k2 -rn -t' '
  fi
}

echo "Keyswap (server.transport: $TRANSPORT) and nginx on CPU 0, wrk -t1 -c$C and the upstream on CPU 1;"
echo "each warmed up for ${WARM}s, then measured for ${D}s; MODE=$MODE (per request: $(case $MODE in sse) echo 'one 20-event SSE stream';; streams) echo 'one SSE event';; paced) echo "one JSON chat completion, ${RATE:-2000} sent per second";; *) echo 'one JSON chat completion';; esac))."
measure keyswap "$KPID" "http://127.0.0.1:$KS/openai/v1/chat/completions" "Bearer $TOKEN"
if [[ "${WITH_NGINX:-1}" == 1 ]]; then
  measure nginx "$NGPID" "http://127.0.0.1:$NG/v1/chat/completions" "Bearer sk-bench-upstream"
fi
if [[ "$BARE" == 1 ]]; then
  measure bare "$BPID" "http://127.0.0.1:$BP/v1/chat/completions" "Bearer client-token"
fi
if [[ "${RELAY:-0}" == 1 ]]; then
  measure tcp-chan "$RCPID" "http://127.0.0.1:$RC/v1/chat/completions" "Bearer sk-bench-upstream"
  measure tcp-ring "$RRPID" "http://127.0.0.1:$RR/v1/chat/completions" "Bearer sk-bench-upstream"
fi
if [[ "${WITH_NGINX:-1}" == 1 ]]; then
  load "http://127.0.0.1:$UP/v1/chat/completions" "Bearer sk-bench-upstream" "$WARM" > /dev/null
  R=$(load "http://127.0.0.1:$UP/v1/chat/completions" "Bearer sk-bench-upstream" "$D")
  awk -v n="$(requests "$R")" -v c="$C" -v d="$D" -v p50="$(field "$R" p50_us)" -v p99="$(field "$R" p99_us)" \
    'BEGIN { printf "%-8s c=%-3d %8.0f req/s  p50 %6d us  p99 %7d us  (the upstream alone)\n", "direct", c, n / d, p50, p99 }'
fi

profile() { # name pid url auth: async-profiler under the same load, hottest frames
  local name=$1 pid=$2 url=$3 auth=$4
  local out="$ROOT/proxy-bench/results/${PROFILE_EVENT:-cpu}-$(date -u +%Y%m%d-%H%M%S)-c$C-$name.collapsed"
  local event="event=cpu,interval=1ms"
  [[ "$PROFILE_EVENT" == alloc ]] && event="event=alloc,alloc=64k,total"
  java "$ROOT/proxy-bench/harness/Attach.java" "$pid" "$LIB" "start,$event"
  local r; r=$(load "$url" "$auth" "$D")
  java "$ROOT/proxy-bench/harness/Attach.java" "$pid" "$LIB" "stop,file=$out,collapsed"
  echo
  echo "async-profiler, $name under the same load: $out"
  echo "$(requests "$r") requests while sampling every 1 ms: samples x 1000 / requests = us per request"
  echo "hottest frames by self time (kernel frames end in _[k]):"
  awk '{n = $NF; $NF = ""; split($0, f, ";"); leaf = f[length(f)]; gsub(/ +$/, "", leaf); self[leaf] += n; total += n}
       END {for (k in self) printf "%6.2f%%  %s\n", 100 * self[k] / total, k}' "$out" | sort -rn | sed -n 1,30p
}

# SYSCALLS=1: the syscalls a proxy's busiest thread makes per request, counted by perf trace in a
# run of its own after the measured one (tracing slows the process, so it is not the CPU figure's
# run). How the two epoll_ctl calls per request that nginx does not make were found.
syscalls() { # name pid url auth
  local name=$1 pid=$2 url=$3 auth=$4 out="$WORK/syscalls-$1"
  perf trace -s -p "$pid" -o "$out" 2>/dev/null &
  local tracer=$!
  sleep 1 # perf attaches
  local r; r=$(load "$url" "$auth" "$D")
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  echo
  echo "syscalls per request of $name's busiest thread ($(requests "$r") requests under the same load, perf trace -s):"
  # perf trace -s: a line "<thread> (<tid>), <n> events, <p>%" per thread, then its table of
  # "<syscall> <calls> <errors> <total ms> ...".
  awk -v n="$(requests "$r")" '
    / events, / { t = $0; sub(/^ +/, "", t); sub(/,.*/, "", t); e = $0; sub(/.*\), /, "", e); sub(/ events.*/, "", e); ev[t] = e + 0; next }
    t != "" && NF >= 4 && $2 ~ /^[0-9]+$/ && $2 / n >= 0.01 { calls[t, ++rows[t]] = sprintf("  %-18s %8.2f", $1, $2 / n) }
    END { for (k in ev) if (ev[k] > best) { best = ev[k]; b = k }
          print "  " b; for (i = 1; i <= rows[b]; i++) print calls[b, i] }' "$out"
}

if [[ "${SYSCALLS:-0}" == 1 ]]; then
  syscalls keyswap "$KPID" "http://127.0.0.1:$KS/openai/v1/chat/completions" "Bearer $TOKEN"
  if [[ "${WITH_NGINX:-1}" == 1 ]]; then
    syscalls nginx "$NGPID" "http://127.0.0.1:$NG/v1/chat/completions" "Bearer sk-bench-upstream"
  fi
fi

if [[ "$PROFILE" == 1 ]]; then
  AP_VERSION=4.1
  mvn -q -B dependency:get -Dartifact="tools.profiler:async-profiler:$AP_VERSION" >/dev/null
  (cd "$WORK" && unzip -q -o "$HOME/.m2/repository/tools/profiler/async-profiler/$AP_VERSION/async-profiler-$AP_VERSION.jar" 'linux-x64/*')
  LIB="$WORK/linux-x64/libasyncProfiler.so"
  mkdir -p "$ROOT/proxy-bench/results"
  profile keyswap "$KPID" "http://127.0.0.1:$KS/openai/v1/chat/completions" "Bearer $TOKEN"
  if [[ "$BARE" == 1 ]]; then
    profile bare "$BPID" "http://127.0.0.1:$BP/v1/chat/completions" "Bearer client-token"
  fi
fi
