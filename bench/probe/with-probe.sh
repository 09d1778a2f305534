#!/usr/bin/env bash
# Runs the e2e latency bench and, once the viewers are open, the bus probe beside it.
# usage: bench/probe/with-probe.sh OUTDIR [run.ts args...]
out=$1; shift
mkdir -p "$out"
node --import tsx bench/e2e/run.ts latency "$@" >"$out/result.json" 2>"$out/log.txt" &
bench=$!
until grep -q 'viewers open' "$out/log.txt" 2>/dev/null; do sleep 0.5; kill -0 $bench 2>/dev/null || break; done
url=$(ps -o args= --ppid $bench | grep -o 'nats://127.0.0.1:[0-9]*' | head -1)
[ -z "$url" ] && url=$(pgrep -P $bench -a | grep -o 'nats://127.0.0.1:[0-9]*' | head -1)
for c in $(pgrep -P $bench); do u=$(tr '\0' ' ' </proc/$c/cmdline | grep -o 'nats://127.0.0.1:[0-9]*' | head -1); [ -n "$u" ] && url=$u; done
procs=()
for c in $(pgrep -P $bench); do
  args=$(tr '\0' ' ' </proc/$c/cmdline)
  case "$args" in
    *nats-server*) procs+=("nats=$c") ;;
    *"barrage.ts core"*) procs+=("core=$c") ;;
    *"barrage.ts edge"*) procs+=("edge$((${#procs[@]}))=$c") ;;
    *worker.ts*) procs+=("client$((${#procs[@]}))=$c") ;;
  esac
done
echo "probe on $url ${procs[*]}" >>"$out/log.txt"
sleep 3
node --import tsx bench/probe/bus-probe.ts "$url" 14 "${procs[@]}" >"$out/probe.json" 2>>"$out/log.txt"
wait $bench
