#!/usr/bin/env bash
# What the later lessons cost the chain gateway -> users -> accounts, step against step, in one run:
#   03   step 03: the gateway, users and accounts at their simplest (the baseline of step 09)
#   07   step 07: discovery, health checks and resilience, no tracing (the baseline of step 08)
#   08   step 08: every span exported over OTLP/HTTP to a receiver that decodes them (bench/OtlpSink)
#   08s  step 08 keeping one trace in ten (OTEL_TRACES_SAMPLER), to show what sampling buys
#   09   step 09: tracing exported as in 08, /metrics (.NET's meters, Polly's, the circuit, the
#        business counters) and the breaker, all on
# BENCH_CHAINS picks some of them (default: all five; e.g. BENCH_CHAINS="03 09").
# The same request on each: GET /api/users/1 with X-Api-Key: the gateway proxies it to users, which
# asks accounts for the user's balance. From step 08 on, that request is one trace of seven spans.
# Two loads, each chain measured in the same run, rounds alternating between the chains:
#   full:  wrk's closed loop, 32 connections sending as fast as answers come: requests/s, p50/p99,
#          CPU time and bytes allocated per request (the three services together), spans received
#          per request, and the ratios 08/07 (target: at least 0.90x), 08s/07 and 09/03 (target: at
#          least 0.85x).
#   paced: the same fixed rate on every chain, half of what the slowest managed at full load:
#          p50/p99, and what each later step adds at p99 (09 over 03: target at most +1 ms).
# It also reports each service's resident memory at rest (after the warm-up) and under load, and,
# for the chains that serve /metrics, what a scrape costs each service.
# Before it measures, it warms each chain up until its .NET processes have stopped compiling code.
# Everything runs on loopback, on ports 18100-18102, 18200-18202 ... (one hundred per chain) and 18018.
#
# Usage: [BENCH_CHAINS="03 09"] bench/chain.sh [duration-seconds] [connections] [rounds]     (defaults: 10 32 3)
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

read -r -a chains <<<"${BENCH_CHAINS:-03 07 08 08s 09}"
declare -A folder_of=() base_of=()
for chain in "${chains[@]}"; do
  [[ "$chain" =~ ^[0-9][0-9]s?$ ]] && [ -d "$(echo "$root/${chain:0:2}"-*)" ] && [ -z "${base_of[$chain]:-}" ] \
    || { echo "bench: '$chain' in BENCH_CHAINS is not a step number (03, 07, ...) with an optional s, once each" >&2; exit 2; }
  folder_of[$chain]="$(echo "$root/${chain:0:2}"-*)"
  base_of[$chain]=$((18100 + 100 * ${#base_of[@]}))
done
# A chain's lessons, by its step: tracing from 08 on, /metrics from 09 on.
step_of() { echo $((10#${1:0:2})); }
traced() { (( $(step_of "$1") >= 8 )); }
monitored() { (( $(step_of "$1") >= 9 )); }

for tool in dotnet wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk curl)" >&2; exit 1; }
done
ports=(18018)
for chain in "${chains[@]}"; do ports+=("${base_of[$chain]}" $((base_of[$chain] + 1)) $((base_of[$chain] + 2))); done
require_free_ports "${ports[@]}"

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for folder in $(printf '%s\n' "${folder_of[@]}" | sort -u); do
  echo "Building $(basename "$folder") (Release) ..."
  for project in Accounts Users Gateway; do
    dotnet build "$folder/src/$project/$project.csproj" -c Release -nologo -v quiet >/dev/null
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

# The trace receiver: decodes and counts what the traced chains export, as Jaeger would take it.
dotnet "$root/bench/OtlpSink/bin/Release/net10.0/OtlpSink.dll" 18018 "$work/spans" >"$work/receiver.log" 2>&1 &
pids+=("$!")
pid_of[receiver]=$!
wait_for receiver "http://127.0.0.1:18018/"

for chain in "${chains[@]}"; do
  base=${base_of[$chain]}
  tracing=()
  traced "$chain" && tracing=("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18018")
  # 08s: the gateway keeps one trace in ten that start there; users and accounts follow its decision.
  [[ "$chain" == *s ]] && tracing+=("OTEL_TRACES_SAMPLER=parentbased_traceidratio" "OTEL_TRACES_SAMPLER_ARG=0.1")
  # No Consul in the benchmark (nor in the tests): each service finds the next at the address given
  # here, through service discovery's configuration from step 04 on, and the fixed addresses before.
  if (( $(step_of "$chain") >= 4 )); then
    to_accounts=("Services__accounts__http__0=http://127.0.0.1:$((base + 2))")
    to_both=("Services__users__http__0=http://127.0.0.1:$((base + 1))" "${to_accounts[@]}")
  else
    to_accounts=("AccountsClient__BaseAddress=http://127.0.0.1:$((base + 2))")
    to_both=("ReverseProxy__Clusters__users__Destinations__primary__Address=http://127.0.0.1:$((base + 1))/"
      "ReverseProxy__Clusters__accounts__Destinations__primary__Address=http://127.0.0.1:$((base + 2))/")
  fi
  start "$chain" Accounts $((base + 2)) "Database__Path=$work/$chain-accounts.db" "${tracing[@]}"
  start "$chain" Users $((base + 1)) "Database__Path=$work/$chain-users.db" "${to_accounts[@]}" "${tracing[@]}"
  start "$chain" Gateway "$base" "ApiKey__Keys__0=$key" "${to_both[@]}" "${tracing[@]}"
  gateway="http://127.0.0.1:$base/api/users"
  curl -sf -X POST "$gateway" -H "X-Api-Key: $key" -H 'Content-Type: application/json' -d '{"name":"Ada Lovelace","email":"ada@example.com"}' >/dev/null
  # The account straight at accounts' route (users opens accounts itself only from step 07 on).
  curl -sf -X POST "http://127.0.0.1:$base/api/accounts" -H "X-Api-Key: $key" -H 'Content-Type: application/json' -d '{"userId":1,"initialBalance":100}' >/dev/null
  answer=$(curl -sf "$gateway/1" -H "X-Api-Key: $key") || { echo "bench: chain $chain does not answer GET /api/users/1" >&2; exit 1; }
  [[ "$answer" == *'"balance":100'* ]] || { echo "bench: chain $chain answered without the balance: $answer" >&2; exit 1; }
done

url() { echo "http://127.0.0.1:${base_of[$1]}/api/users/1"; }
services() { echo "${pid_of[$1-gateway]} ${pid_of[$1-users]} ${pid_of[$1-accounts]}"; }
probe_sum() { # chain column: sum of a column of the chain's three probe files (1: bytes allocated, 5: jit ms)
  cat "$work/$1-gateway.probe" "$work/$1-users.probe" "$work/$1-accounts.probe" 2>/dev/null | awk -v c="$2" '{ s += $c } END { printf "%.0f", s }'
}
spans() { cat "$work/spans" 2>/dev/null || echo 0; }
rss_of() { # chain: resident memory of its gateway, users and accounts, MB each
  local -a watched; read -r -a watched < <(services "$1")
  for pid in "${watched[@]}"; do awk '/VmRSS/ { printf "%.0f ", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null; done
}

# chain seconds [rate]
#   -> prints "chain rps p50 p99 non2xx cpu-us-per-request bytes-per-request spans-per-request jit-ms receiver-cpu-us-per-request"
#   and leaves the services' resident memory halfway through in $work/<chain>.rss
# rate: requests per second per wrk thread, sent on schedule (bench/paced.lua); none: as fast as answers come.
measure() {
  local chain="$1" seconds="$2" out="$work/$1.wrk"
  local -a watched
  read -r -a watched < <(services "$chain")
  local cpu_before cpu_after receiver_before receiver_after bytes_before bytes_after jit_before jit_after spans_before spans_after
  cpu_before=$(cpu_ticks "${watched[@]}"); receiver_before=$(cpu_ticks "${pid_of[receiver]}")
  bytes_before=$(probe_sum "$chain" 1); jit_before=$(probe_sum "$chain" 5); spans_before=$(spans)
  local args=(-t"$threads" -c"$connections" --latency -d"${seconds}s" -H "X-Api-Key: $key")
  [ -n "${3:-}" ] && args+=(-s "$root/bench/paced.lua")
  wrk "${args[@]}" "$(url "$chain")" ${3:+-- "$3"} >"$out" &
  local wrk_pid=$!
  sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')"
  rss_of "$chain" >"$work/$chain.rss"
  wait "$wrk_pid"
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

# At rest: warmed up, and idle for a moment (the last warm-up's requests answered).
sleep 1
: >"$work/memory"
for chain in "${chains[@]}"; do echo "$chain rest $(rss_of "$chain")" >>"$work/memory"; done

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
# Under load: halfway through each chain's last full-load round.
for chain in "${chains[@]}"; do echo "$chain load $(cat "$work/$chain.rss")" >>"$work/memory"; done

slowest=$(awk '{ n[$1]++; rps[$1] += $2 } END { min = -1; for (k in n) { r = rps[k] / n[k]; if (min < 0 || r < min) min = r } print int(min) }' "$work/full")
offered=$(( slowest / 2 / 100 * 100 ))
[ "$offered" -ge 100 ] || offered=100
echo "Measuring paced load: $offered requests/s on each chain (half the slowest chain's throughput), $rounds rounds of ${duration}s ..."
: >"$work/paced"
measure_rounds "$work/paced" $(( offered / threads ))
read -r steal_after total_after < <(cpu_times)

# What a scrape costs, where the chain serves /metrics: 50 scrapes of each service in a row, after
# the load (as Prometheus would find it): wall time and size of each answer, CPU time of the service.
scrapes=50
: >"$work/scrapes"
for chain in "${chains[@]}"; do
  monitored "$chain" || continue
  for offset in 0 1 2; do
    service=$(echo gateway users accounts | cut -d' ' -f$((offset + 1)))
    pid=${pid_of[$chain-$service]}
    metrics="http://127.0.0.1:$((base_of[$chain] + offset))/metrics"
    curl -sf -o /dev/null "$metrics" || { echo "bench: chain $chain's $service does not serve /metrics" >&2; exit 1; }
    before=$(cpu_ticks "$pid")
    for _ in $(seq 1 "$scrapes"); do curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$metrics"; done >"$work/scrape"
    after=$(cpu_ticks "$pid")
    awk -v chain="$chain" -v service="$service" -v n="$scrapes" -v cpu="$((after - before))" -v hz="$(getconf CLK_TCK)" \
      '{ t += $1; b += $2 } END { printf "%s %s %.3f %.1f %.3f\n", chain, service, t / n * 1000, b / n / 1024, cpu / hz * 1000 / n }' "$work/scrape" >>"$work/scrapes"
  done
done

report="$results/chain-$(date -u +%Y%m%dT%H%M%SZ).txt"
warmup=$(for chain in "${chains[@]}"; do printf '%s %s, ' "$chain" "${warmed[$chain]}"; done)
awk -v connections="$connections" -v offered="$offered" -v cores="$(nproc)" -v order="${chains[*]}" \
  -v steal="$(steal_share "$steal_before" "$total_before" "$steal_after" "$total_after")" \
  -v warmup="${warmup%, }" -v unwarmed="${still_compiling[*]:-}" -v scrapes="$scrapes" \
  -v rss_receiver="$(( $(rss_kb "OtlpSink.dll") / 1024 ))" '
  FNR == 1 { file++ }
  file == 1 { n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; err[$1] += $5; cpu[$1] += $6; alloc[$1] += $7; spans[$1] += $8; jit[$1] += $9; rcpu[$1] += $10 }
  file == 2 { pn[$1]++; prps[$1] += $2; pp50[$1] += $3; pp99[$1] += $4; perr[$1] += $5 }
  file == 3 { mem[$1, $2] = sprintf("%s/%s/%s", $3, $4, $5) }
  file == 4 { sn++; sline[sn] = sprintf("%-6s %-10s %12.3f %12.1f %16.3f", $1, $2, $3, $4, $5) }
  function ran(k) { return k in n }
  # Each later lesson against the step it adds to, where both ran.
  function compare(fmt, a, b, what) { if (ran(a) && ran(b)) printf fmt, a "/" b " throughput:", rps[a] / rps[b], what }
  function slower(a, b, v, w, what) { if (ran(a) && ran(b)) printf "%-19s %+.3f ms%s\n", a " p99 over " b ":", v[a] - w[b], what }
  END {
    k = split(order, chain, " ")
    for (c in n) { rps[c] /= n[c]; p50[c] /= n[c]; p99[c] /= n[c]; cpu[c] /= n[c]; alloc[c] /= n[c]; spans[c] /= n[c]; jit[c] /= n[c]; rcpu[c] /= n[c] }
    for (c in pn) { prps[c] /= pn[c]; pp50[c] /= pn[c]; pp99[c] /= pn[c] }
    printf "full load (%s connections, as fast as answers come, mean of the rounds):\n", connections
    printf "%-6s %12s %10s %10s %8s %16s %18s %14s %8s\n", "chain", "requests/s", "p50 ms", "p99 ms", "non-2xx", "cpu us/request", "alloc B/request", "spans/request", "jit ms"
    for (i = 1; i <= k; i++) { c = chain[i]; printf "%-6s %12.0f %10.3f %10.3f %8d %16.0f %18.0f %14.2f %8.0f\n", c, rps[c], p50[c], p99[c], err[c], cpu[c], alloc[c], spans[c], jit[c] }
    printf "(cpu and alloc per request: gateway, users and accounts together; spans: received by the OTLP\n"
    traced = ran("08") ? "08" : (ran("09") ? "09" : "")
    if (traced != "") printf " receiver; the receiver itself spent %.0f us of cpu per request of chain %s, decoding;\n", rcpu[traced], traced
    printf " a chain ending in s: its step keeping one trace in ten)\n\n"
    compare("%-19s %.2fx   %s\n", "08", "07", "(target: at least 0.90x)")
    compare("%-19s %.2fx   %s\n", "08s", "07", "(one trace in ten kept)")
    compare("%-19s %.2fx   %s\n", "09", "03", "(target: at least 0.85x)")
    slower("08", "07", p99, p99, ""); slower("08s", "07", p99, p99, ""); slower("09", "03", p99, p99, "")
    printf "\npaced load (%s requests/s offered on each chain, %s connections, mean of the rounds):\n", offered, connections
    printf "%-6s %12s %10s %10s %8s\n", "chain", "requests/s", "p50 ms", "p99 ms", "non-2xx"
    for (i = 1; i <= k; i++) { c = chain[i]; printf "%-6s %12.0f %10.3f %10.3f %8d\n", c, prps[c], pp50[c], pp99[c], perr[c] }
    slower("08", "07", pp99, pp99, ""); slower("08s", "07", pp99, pp99, ""); slower("09", "03", pp99, pp99, "   (target: at most +1 ms)")
    printf "\nresident memory, MB, gateway/users/accounts: at rest (warmed up, idle) and under load (halfway through a full-load round):\n"
    printf "%-6s %16s %16s\n", "chain", "at rest", "under load"
    for (i = 1; i <= k; i++) { c = chain[i]; printf "%-6s %16s %16s\n", c, mem[c, "rest"], mem[c, "load"] }
    printf "OTLP receiver: %s MB\n", rss_receiver
    if (sn > 0) {
      printf "\nscrape of /metrics (%s in a row per service, after the load):\n", scrapes
      printf "%-6s %-10s %12s %12s %16s\n", "chain", "service", "ms/scrape", "KB/scrape", "cpu ms/scrape"
      for (i = 1; i <= sn; i++) print sline[i]
    }
    printf "\nsampling: from step 08 on, a chain keeps and exports every trace (parent-based always-on,\n"
    printf "OpenTelemetry'"'"'s default, as shipped), a chain ending in s one in ten (parentbased_traceidratio 0.1);\n"
    printf "both export in batches of up to 512 spans\n"
    printf "machine: %s cores, shared by wrk, the chains and the receiver; CPU time stolen by the hypervisor while measuring: %s\n", cores, steal
    printf "warm-up: rounds per chain until one spent under 1%% of its time compiling code: %s\n", warmup
    if (unwarmed != "") printf "(%s: still compiling after the last warm-up round, so their figures include the compiler)\n", unwarmed
  }' "$work/full" "$work/paced" "$work/memory" "$work/scrapes" | tee "$report"
echo "(saved to ${report#"$root"/})"
