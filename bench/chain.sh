#!/usr/bin/env bash
# What tracing costs (step 08): the chain gateway -> users -> accounts at step 08, every span exported
# over OTLP/HTTP to a receiver that decodes them (bench/OtlpSink), against the same chain at step 07,
# which has no tracing; and step 08 again keeping one trace in ten (08s: OTEL_TRACES_SAMPLER), to show
# what sampling buys. One run, the three chains side by side, the same request on each:
#   GET /api/users/1 with X-Api-Key: the gateway proxies it to users, which asks accounts for the
#   user's balance. At step 08 that request is one trace of seven spans.
# Two loads, each chain measured in the same run, rounds alternating between the chains:
#   full:  wrk's closed loop, 32 connections sending as fast as answers come: requests/s, p50/p99,
#          CPU time and bytes allocated per request (the three services together), spans received
#          per request, and the ratios 08/07 (target: at least 0.90x) and 08s/07.
#   paced: the same fixed rate on every chain, half of what the slowest managed at full load:
#          p50/p99, and what tracing adds at p99.
# Before it measures, it warms each chain up until its .NET processes have stopped compiling code.
# Everything runs on loopback, on ports 18100-18102, 18200-18202, 18300-18302 and 18318.
#
# Usage: bench/chain.sh [duration-seconds] [connections] [rounds]     (defaults: 10 32 3)
# Needs: the .NET SDK, wrk, curl (apt-get install wrk curl).
set -euo pipefail

usage="usage: bench/chain.sh [duration-seconds] [connections] [rounds]   (defaults: 10 32 3)"
case "${1:-}" in -h | --help) echo "$usage"; exit 0 ;; esac
duration="${1:-10}"
connections="${2:-32}"
rounds="${3:-3}"
# At most this many warm-up rounds (BENCH_WARMUP_ROUNDS; the tests' short run needs only a few).
warmup_rounds="${BENCH_WARMUP_ROUNDS:-12}"
for value in "$duration" "$connections" "$rounds" "$warmup_rounds"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$value' is not a whole number above 0; $usage" >&2; exit 2; }
done
threads=2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
results="${BENCH_RESULTS_DIR:-$root/bench/results}"  # where each report is saved
mkdir -p "$results"
key="bench-key-$RANDOM"
pids=()
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

for tool in dotnet wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk curl)" >&2; exit 1; }
done
require_free_ports 18100 18101 18102 18200 18201 18202 18300 18301 18302 18318

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

chains=(07 08 08s)
declare -A folder_of=([07]="$root/07-circuit-breaker" [08]="$root/08-tracing" [08s]="$root/08-tracing")
declare -A base_of=([07]=18100 [08]=18200 [08s]=18300)
for chain in 07 08; do
  echo "Building $(basename "${folder_of[$chain]}") (Release) ..."
  for project in Accounts Users Gateway; do
    dotnet build "${folder_of[$chain]}/src/$project/$project.csproj" -c Release -nologo -v quiet >/dev/null
  done
done
dotnet build "$root/bench/OtlpSink/OtlpSink.csproj" -c Release -nologo -v quiet >/dev/null
# A startup hook in each .NET service writes how many bytes it has allocated and how long it has spent
# compiling code (bench/RuntimeProbe).
dotnet build "$root/bench/RuntimeProbe/RuntimeProbe.csproj" -c Release -nologo -v quiet >/dev/null
probe="$root/bench/RuntimeProbe/bin/Release/net10.0/RuntimeProbe.dll"

declare -A pid_of=()

wait_for() { # name url: until it answers at all
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "bench: $1 did not start; its log:" >&2; cat "$work/$1.log" >&2; exit 1
}

start() { # chain project port env...: one service of a chain, as a Release build in Production
  local chain="$1" project="$2" port="$3" name="$1-${2,,}"; shift 3
  (cd "${folder_of[$chain]}/src/$project" && exec env "$@" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    Consul__Address=http://127.0.0.1:1 DOTNET_STARTUP_HOOKS="$probe" BENCH_PROBE_FILE="$work/$name.probe" \
    dotnet "bin/Release/net10.0/$project.dll" --urls "http://127.0.0.1:$port" >"$work/$name.log" 2>&1) &
  pids+=("$!")
  pid_of[$name]=$!
  wait_for "$name" "http://127.0.0.1:$port/health/live"
}

# The trace receiver: decodes and counts what step 08's services export, as Jaeger would take it.
dotnet "$root/bench/OtlpSink/bin/Release/net10.0/OtlpSink.dll" 18318 "$work/spans" >"$work/receiver.log" 2>&1 &
pids+=("$!")
pid_of[receiver]=$!
wait_for receiver "http://127.0.0.1:18318/"

for chain in "${chains[@]}"; do
  base=${base_of[$chain]}
  # No Consul in the benchmark (nor in the tests): each service finds the next at the address given here.
  tracing=()
  [ "$chain" = 07 ] || tracing=("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18318")
  # 08s: the gateway keeps one trace in ten that start there; users and accounts follow its decision.
  [ "$chain" = 08s ] && tracing+=("OTEL_TRACES_SAMPLER=parentbased_traceidratio" "OTEL_TRACES_SAMPLER_ARG=0.1")
  start "$chain" Accounts $((base + 2)) "Database__Path=$work/$chain-accounts.db" "${tracing[@]}"
  start "$chain" Users $((base + 1)) "Database__Path=$work/$chain-users.db" "Services__accounts__http__0=http://127.0.0.1:$((base + 2))" "${tracing[@]}"
  start "$chain" Gateway "$base" "ApiKey__Keys__0=$key" "Services__users__http__0=http://127.0.0.1:$((base + 1))" \
    "Services__accounts__http__0=http://127.0.0.1:$((base + 2))" "${tracing[@]}"
  gateway="http://127.0.0.1:$base/api/users"
  curl -sf -X POST "$gateway" -H "X-Api-Key: $key" -H 'Content-Type: application/json' -d '{"name":"Ada Lovelace","email":"ada@example.com"}' >/dev/null
  curl -sf -X POST "$gateway/1/accounts" -H "X-Api-Key: $key" -H 'Content-Type: application/json' -d '{"initialBalance":100}' >/dev/null
  answer=$(curl -sf "$gateway/1" -H "X-Api-Key: $key") || { echo "bench: chain $chain does not answer GET /api/users/1" >&2; exit 1; }
  [[ "$answer" == *'"balance":100'* ]] || { echo "bench: chain $chain answered without the balance: $answer" >&2; exit 1; }
done

url() { echo "http://127.0.0.1:${base_of[$1]}/api/users/1"; }
services() { echo "${pid_of[$1-gateway]} ${pid_of[$1-users]} ${pid_of[$1-accounts]}"; }
probe_sum() { # chain column: sum of a column of the chain's three probe files (1: bytes allocated, 5: jit ms)
  cat "$work/$1-gateway.probe" "$work/$1-users.probe" "$work/$1-accounts.probe" 2>/dev/null | awk -v c="$2" '{ s += $c } END { printf "%.0f", s }'
}
spans() { cat "$work/spans" 2>/dev/null || echo 0; }

# chain seconds [rate]
#   -> prints "chain rps p50 p99 non2xx cpu-us-per-request bytes-per-request spans-per-request jit-ms receiver-cpu-us-per-request"
# rate: requests per second per wrk thread, sent on schedule (bench/paced.lua); none: as fast as answers come.
measure() {
  local chain="$1" seconds="$2" out="$work/$1.wrk"
  local -a watched
  read -r -a watched < <(services "$chain")
  local cpu_before cpu_after receiver_before receiver_after bytes_before bytes_after jit_before jit_after spans_before spans_after
  cpu_before=$(cpu_ticks "${watched[@]}"); receiver_before=$(cpu_ticks "${pid_of[receiver]}")
  bytes_before=$(probe_sum "$chain" 1); jit_before=$(probe_sum "$chain" 5); spans_before=$(spans)
  local args=(-t"$threads" -c"$connections" --latency -d"${seconds}s" -H "X-Api-Key: $key")
  if [ -n "${3:-}" ]; then
    wrk "${args[@]}" -s "$root/bench/paced.lua" "$(url "$chain")" -- "$3" >"$out"
  else
    wrk "${args[@]}" "$(url "$chain")" >"$out"
  fi
  cpu_after=$(cpu_ticks "${watched[@]}"); receiver_after=$(cpu_ticks "${pid_of[receiver]}")
  # The probes write every 50 ms and the receiver counts every 100 ms: let them catch up. The services
  # export as shipped (a batch when 512 spans are waiting, or after 5 s): the spans of a round's last
  # batches are counted with the next measurement's.
  sleep 0.2
  bytes_after=$(probe_sum "$chain" 1); jit_after=$(probe_sum "$chain" 5); spans_after=$(spans)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(awk '$1 == "50%" { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$out")
  awk -v chain="$chain" -v rps="$rps" -v p50="$(to_ms "$p50")" -v p99="$(to_ms "$p99")" -v errors="${errors:-0}" -v s="$seconds" \
    -v hz="$(getconf CLK_TCK)" -v cpu="$((cpu_after - cpu_before))" -v rcpu="$((receiver_after - receiver_before))" \
    -v bytes="$((bytes_after - bytes_before))" -v spans="$((spans_after - spans_before))" -v jit="$((jit_after - jit_before))" \
    'BEGIN { n = rps * s; printf "%s %s %s %s %d %.0f %.0f %.2f %d %.0f\n", chain, rps, p50, p99, errors, cpu / hz * 1e6 / n, bytes / n, spans / n, jit, rcpu / hz * 1e6 / n }'
}

# Warm-up, as in bench/run.sh: each chain is loaded in rounds until one spends under 1% of its time
# compiling code, at most warmup_rounds rounds.
declare -A warmed=()
still_compiling=()
echo "Warming up each chain until its .NET processes stop compiling code (rounds of ${duration}s, at most $warmup_rounds) ..."
for chain in "${chains[@]}"; do
  for round in $(seq 1 "$warmup_rounds"); do
    read -r _ rps _ _ _ _ _ _ jit _ < <(measure "$chain" "$duration")
    echo "  warm-up $chain, round $round: $rps requests/s, $jit ms compiling"
    warmed[$chain]=$round
    (( jit * 100 < duration * 1000 )) && break
    (( round < warmup_rounds )) || still_compiling+=("$chain")
  done
done

measure_rounds() { # file [rate]: one line per chain and round, appended to the file
  for round in $(seq 1 "$rounds"); do
    for chain in "${chains[@]}"; do
      line=$(measure "$chain" "$duration" "${2:-}")
      echo "  round $round: $line"
      echo "$line" >>"$1"
    done
  done
}

read -r steal_before total_before < <(cpu_times)
echo "Measuring: $rounds rounds of ${duration}s per chain, $connections connections, $threads wrk threads, on $(nproc) cores ..."
: >"$work/full"
measure_rounds "$work/full"

slowest=$(awk '{ n[$1]++; rps[$1] += $2 } END { min = -1; for (k in n) { r = rps[k] / n[k]; if (min < 0 || r < min) min = r } print int(min) }' "$work/full")
offered=$(( slowest / 2 / 100 * 100 ))
[ "$offered" -ge 100 ] || offered=100
echo "Measuring paced load: $offered requests/s on each chain (half the slowest chain's throughput), $rounds rounds of ${duration}s ..."
: >"$work/paced"
measure_rounds "$work/paced" $(( offered / threads ))
read -r steal_after total_after < <(cpu_times)

rss() { # chain: resident memory of its three services, MB
  local -a watched; read -r -a watched < <(services "$1")
  for pid in "${watched[@]}"; do awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null; done | awk '{ s += $1 } END { printf "%.0f", s / 1024 }'
}

report="$results/chain-$(date -u +%Y%m%dT%H%M%SZ).txt"
awk -v connections="$connections" -v offered="$offered" -v cores="$(nproc)" \
  -v steal="$(steal_share "$steal_before" "$total_before" "$steal_after" "$total_after")" \
  -v warmup="07 ${warmed[07]}, 08 ${warmed[08]}, 08s ${warmed[08s]}" -v unwarmed="${still_compiling[*]:-}" \
  -v rss07="$(rss 07)" -v rss08="$(rss 08)" -v rss08s="$(rss 08s)" -v rss_receiver="$(( $(rss_kb "OtlpSink.dll") / 1024 ))" '
  FNR == 1 { file++ }
  file == 1 { n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; err[$1] += $5; cpu[$1] += $6; alloc[$1] += $7; spans[$1] += $8; jit[$1] += $9; rcpu[$1] += $10 }
  file == 2 { pn[$1]++; prps[$1] += $2; pp50[$1] += $3; pp99[$1] += $4; perr[$1] += $5 }
  END {
    for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k]; cpu[k] /= n[k]; alloc[k] /= n[k]; spans[k] /= n[k]; jit[k] /= n[k]; rcpu[k] /= n[k] }
    for (k in pn) { prps[k] /= pn[k]; pp50[k] /= pn[k]; pp99[k] /= pn[k] }
    printf "full load (%s connections, as fast as answers come, mean of the rounds):\n", connections
    printf "%-6s %12s %10s %10s %8s %16s %18s %14s %8s\n", "chain", "requests/s", "p50 ms", "p99 ms", "non-2xx", "cpu us/request", "alloc B/request", "spans/request", "jit ms"
    split("07 08 08s", order, " ")
    for (i = 1; i <= 3; i++) { k = order[i]; printf "%-6s %12.0f %10.3f %10.3f %8d %16.0f %18.0f %14.2f %8.0f\n", k, rps[k], p50[k], p99[k], err[k], cpu[k], alloc[k], spans[k], jit[k] }
    printf "(cpu and alloc per request: gateway, users and accounts together; spans: received by the OTLP\n"
    printf " receiver; the receiver itself spent %.0f us of cpu per request of chain 08, decoding;\n", rcpu["08"]
    printf " 08s: step 08 keeping one trace in ten)\n\n"
    printf "08/07 throughput:   %.2fx   (target: at least 0.90x)\n", rps["08"] / rps["07"]
    printf "08s/07 throughput:  %.2fx   (one trace in ten kept)\n", rps["08s"] / rps["07"]
    printf "08 p99 over 07:     %+.3f ms\n", p99["08"] - p99["07"]
    printf "08s p99 over 07:    %+.3f ms\n", p99["08s"] - p99["07"]
    printf "\npaced load (%s requests/s offered on each chain, %s connections, mean of the rounds):\n", offered, connections
    printf "%-6s %12s %10s %10s %8s\n", "chain", "requests/s", "p50 ms", "p99 ms", "non-2xx"
    for (i = 1; i <= 3; i++) { k = order[i]; printf "%-6s %12.0f %10.3f %10.3f %8d\n", k, prps[k], pp50[k], pp99[k], perr[k] }
    printf "08 p99 over 07:     %+.3f ms\n", pp99["08"] - pp99["07"]
    printf "08s p99 over 07:    %+.3f ms\n", pp99["08s"] - pp99["07"]
    printf "\nsampling: 08 keeps and exports every trace (parent-based always-on, OpenTelemetry'"'"'s default, as shipped),\n"
    printf "08s one in ten (parentbased_traceidratio 0.1); both export in batches of up to 512 spans\n"
    printf "resident memory after the run: chain 07 %s MB, chain 08 %s MB, chain 08s %s MB (three services each), OTLP receiver %s MB\n", rss07, rss08, rss08s, rss_receiver
    printf "machine: %s cores, shared by wrk, the chains and the receiver; CPU time stolen by the hypervisor while measuring: %s\n", cores, steal
    printf "warm-up: rounds per chain until one spent under 1%% of its time compiling code: %s\n", warmup
    if (unwarmed != "") printf "(%s: still compiling after the last warm-up round, so their figures include the compiler)\n", unwarmed
  }' "$work/full" "$work/paced" | tee "$report"
echo "(saved to ${report#"$root"/})"
