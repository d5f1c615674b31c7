#!/usr/bin/env bash
# Runs Keyswap's JMH hot-path benchmarks (proxy-bench/src/main/java/dev/keyswap/bench/jmh).
#
#   proxy-bench/run-jmh.sh                      # all benchmarks, default settings below
#   proxy-bench/run-jmh.sh TokenCheck -prof gc  # any JMH arguments (regex, -f, -i, -prof ...)
#
# Builds proxy-bench/target/benchmarks.jar when it is missing or older than the sources.
# Results: proxy-bench/results/jmh-<timestamp>.json (JMH JSON), plus a .txt beside it with the
# machine (nproc, java -version, load average) and the console output.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
jar=proxy-bench/target/benchmarks.jar

if [[ ! -f $jar ]] || [[ -n $(find proxy-core/src/main proxy-bench/src/main proxy-bench/pom.xml proxy-core/pom.xml pom.xml \
        -newer "$jar" -type f -print -quit) ]]; then
    echo "Building $jar ..." >&2
    mvn -B -q package -DskipTests -pl proxy-bench -am
fi

defaults=(-f 1 -wi 3 -i 5 -w 1s -r 1s)
args=("$@")
# A bare benchmark regex (or nothing) gets the default run settings.
has_settings=false
for a in "${args[@]+"${args[@]}"}"; do
    case $a in -f|-wi|-i|-w|-r|-bm|-tu|-t) has_settings=true ;; esac
done
$has_settings || args=("${defaults[@]}" "${args[@]+"${args[@]}"}")

mkdir -p proxy-bench/results
stamp=$(date +%Y%m%d-%H%M%S)
out=proxy-bench/results/jmh-$stamp
has_rf=false
for a in "${args[@]}"; do
    case $a in -rf|-rff) has_rf=true ;; esac
done
$has_rf || args+=(-rf json -rff "$out.json")

{
    echo "# $(date -Is)  $(uname -srm)"
    echo "# nproc: $(nproc)  loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    grep -m1 'model name' /proc/cpuinfo | sed 's/^/# /' || true
    java -version 2>&1 | sed 's/^/# /'
    echo "# java -jar $jar ${args[*]}"
} | tee "$out.txt" >&2

java -jar "$jar" "${args[@]}" 2>&1 | tee -a "$out.txt"
status=${PIPESTATUS[0]}
echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out.txt" >&2
$has_rf || echo "Results: $repo/$out.json (console and machine: $out.txt)" >&2
exit "$status"
