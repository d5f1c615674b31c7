# Sourced by run.sh and cpu-profile.sh (with ROOT set and the repository as the working
# directory; HARNESS_TOOLS names any more commands the script needs, HARNESS_PACKAGES more
# command:package pairs to install when the command is missing): installs wrk and nginx from the
# system's packages when missing, builds keyswap.jar and the bench jar unless SKIP_BUILD=1 finds
# them built, and sets BENCH_CP, the classpath of the harness's own Java programs (upstream,
# clients, configs), and the helpers free_port, wait_port, field and wrk_errors.
harness_cmds=(java mvn taskset)
need_pkgs=()
# shellcheck disable=SC2086 # HARNESS_PACKAGES: command:package pairs, space-separated
for pair in wrk:wrk nginx:nginx ${HARNESS_PACKAGES:-}; do
  harness_cmds+=("${pair%%:*}")
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_pkgs+=("${pair#*:}")
done
if (( ${#need_pkgs[@]} )); then
  echo "[proxy-bench] installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet: fetch them only when the install needs them.
  apt-get install -y "${need_pkgs[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need_pkgs[@]}" >/dev/null; }
fi
# shellcheck disable=SC2086 # HARNESS_TOOLS: more tools the sourcing script needs, space-separated
for tool in "${harness_cmds[@]}" ${HARNESS_TOOLS:-}; do
  command -v "$tool" >/dev/null 2>&1 || { echo "[proxy-bench] missing $tool" >&2; exit 1; }
done

if [[ "${SKIP_BUILD:-0}" != 1 || ! -f proxy-server/target/keyswap.jar || ! -f proxy-bench/target/benchmarks.jar ]]; then
  echo "[proxy-bench] building keyswap.jar and proxy-bench" >&2
  mvn -B -q -DskipTests package -pl proxy-server,proxy-bench -am
fi
# The bench jar carries every dependency, so nothing is asked of the local Maven repository
# (where proxy-core is not, on a machine that never ran mvn install). This tree's classes come
# first, ahead of the copies in the jar, for runs with SKIP_BUILD=1 after a plain compile.
BENCH_CP="$ROOT/proxy-bench/target/classes:$ROOT/proxy-core/target/classes:$ROOT/proxy-bench/target/benchmarks.jar"

free_port() { java "$ROOT/proxy-bench/harness/FreePort.java"; }
wait_port() { for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# A number from a KSRESULT line (bench.lua's, or a client's in its shape): field LINE NAME.
field() { sed "s/.*\"$2\":\([0-9]*\).*/\1/" <<< "$1"; }
# Requests a KSRESULT line counts as failed or unanswered: wrk_errors LINE.
wrk_errors() { echo $(( $(field "$1" err_connect) + $(field "$1" err_read) + $(field "$1" err_write) + $(field "$1" err_status) + $(field "$1" err_timeout) )); }
