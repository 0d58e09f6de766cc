#!/usr/bin/env bash
# Gateway benchmark: one run, four ways to the same request, side by side.
#   (a) direct:  wrk -> accounts                         GET /accounts/1
#   (b) nginx:   wrk -> nginx (plain reverse proxy) -> accounts   GET /api/accounts/1
#   (c) gateway: wrk -> step 03 gateway (API key checked) -> accounts   GET /api/accounts/1
#   (d) yarp:    wrk -> YARP alone (bench/BareProxy: same route, no gateway features) -> accounts
# Three loads, each path measured in the same run:
#   full:   wrk's usual closed loop, 32 connections sending as fast as answers come. Prints
#           requests/s, p50/p99 latency, CPU and bytes allocated per request, the time the .NET
#           processes spent compiling code (JIT) meanwhile, resident memory, and the ratios
#           gateway/direct, gateway/nginx and gateway/yarp.
#   paced:  the same fixed request rate on every path (bench/paced.lua), half of what the slowest
#           path managed at full load; p50/p99 show what each hop adds at a moderate load.
#   light:  one connection, one request at a time.
# Before it measures, it warms each path up until the .NET processes have stopped compiling code.
# Everything runs on loopback, on ports 18000-18080.
#
# Usage: bench/run.sh [duration-seconds] [connections] [rounds]     (defaults: 10 32 3)
# Needs: the .NET SDK, wrk, nginx (apt-get install wrk nginx-light).
set -euo pipefail

usage="usage: bench/run.sh [duration-seconds] [connections] [rounds]   (defaults: 10 32 3)"
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
step="$root/03-api-gateway"
work="$(mktemp -d)"
results="${BENCH_RESULTS_DIR:-$root/bench/results}"  # where each report is saved
mkdir -p "$results"
key="bench-key-$RANDOM"
pids=()

PATH="$PATH:/usr/sbin:/sbin" # nginx is installed there, which not every user's PATH holds
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
for tool in dotnet wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk nginx-light curl)" >&2; exit 1; }
done

require_free_ports 18000 18002 18010 18080

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "Building 03-api-gateway (Release) ..."
for project in Accounts Gateway; do
  dotnet build "$step/src/$project/$project.csproj" -c Release -nologo -v quiet >/dev/null
done
dotnet build "$root/bench/BareProxy/BareProxy.csproj" -c Release -nologo -v quiet >/dev/null
# A startup hook in each .NET process writes how many bytes it has allocated and how long it has
# spent compiling code (bench/RuntimeProbe).
dotnet build "$root/bench/RuntimeProbe/RuntimeProbe.csproj" -c Release -nologo -v quiet >/dev/null
probe="$root/bench/RuntimeProbe/bin/Release/net10.0/RuntimeProbe.dll"

declare -A pid_of=()

start() { # name project-folder port env...
  local name="$1" folder="$2" port="$3" project; shift 3
  project="$(basename "$folder")"
  (cd "$folder" && exec env "$@" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    DOTNET_STARTUP_HOOKS="$probe" BENCH_PROBE_FILE="$work/$name.probe" \
    dotnet "bin/Release/net10.0/$project.dll" --urls "http://127.0.0.1:$port" >"$work/$name.log" 2>&1) &
  pids+=("$!")
  pid_of[$name]=$!
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "bench: $name did not start; its log:" >&2; cat "$work/$name.log" >&2; exit 1
}

start accounts "$step/src/Accounts" 18002 "Database__Path=$work/accounts.db"
start yarp "$root/bench/BareProxy" 18010 "Destination=http://127.0.0.1:18002/"
start gateway "$step/src/Gateway" 18000 "ApiKey__Keys__0=$key" \
  "ReverseProxy__Clusters__accounts__Destinations__primary__Address=http://127.0.0.1:18002/" \
  "ReverseProxy__Clusters__users__Destinations__primary__Address=http://127.0.0.1:18001/"

cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream accounts { server 127.0.0.1:18002; keepalive 64; }
  server {
    listen 127.0.0.1:18080;
    location /api/ {
      proxy_pass http://accounts/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -p "$work" -c "$work/nginx.conf" >"$work/nginx.log" 2>&1 &
pids+=("$!")
sleep 1

curl -sf -X POST http://127.0.0.1:18002/accounts -H 'Content-Type: application/json' -d '{"userId":1,"initialBalance":100}' >/dev/null
curl -sf http://127.0.0.1:18080/api/accounts/1 >/dev/null || { echo "bench: nginx does not proxy; its log:" >&2; cat "$work/nginx.log" >&2; exit 1; }
curl -sf http://127.0.0.1:18000/api/accounts/1 -H "X-Api-Key: $key" >/dev/null || { echo "bench: the gateway does not proxy" >&2; exit 1; }
curl -sf http://127.0.0.1:18010/api/accounts/1 >/dev/null || { echo "bench: bare YARP does not proxy" >&2; exit 1; }

declare -A urls=(
  [direct]="http://127.0.0.1:18002/accounts/1"
  [nginx]="http://127.0.0.1:18080/api/accounts/1"
  [gateway]="http://127.0.0.1:18000/api/accounts/1"
  [yarp]="http://127.0.0.1:18010/api/accounts/1"
)

# The proxy process of each path, whose CPU time per request the report shows (nginx: its workers).
proxy_pids() { # label
  case "$1" in
    direct) echo "${pid_of[accounts]}" ;;
    nginx) pgrep -f "nginx: worker" ;;
    *) echo "${pid_of[$1]}" ;;
  esac
}

# The file the runtime probe of each path's process writes (none for nginx).
probe_file() { # label
  case "$1" in
    direct) echo "$work/accounts.probe" ;;
    nginx) echo "" ;;
    *) echo "$work/$1.probe" ;;
  esac
}

allocated_bytes() { # file: bytes the process has allocated so far, or nothing
  [ -n "$1" ] && awk '{ print $1 }' "$1" 2>/dev/null || true
}

jit_ms() { # milliseconds all three .NET processes have spent compiling code so far
  cat "$work/accounts.probe" "$work/gateway.probe" "$work/yarp.probe" 2>/dev/null | awk '{ s += $5 } END { print s + 0 }'
}

wrk_args() { # label [connections threads]
  local args=(-t"${3:-$threads}" -c"${2:-$connections}" --latency)
  [ "$1" = gateway ] && args+=(-H "X-Api-Key: $key")
  printf '%s\n' "${args[@]}"
}

# label seconds [connections threads [rate]]
#   -> prints "label rps p50 p99 non2xx proxy-cpu-us-per-request proxy-bytes-allocated-per-request jit-ms"
#      (bytes: "-" for nginx; jit-ms: what all .NET processes spent compiling code during the measurement)
# rate: requests per second per wrk thread, sent on schedule (bench/paced.lua); none: as fast as answers come.
measure() {
  local label="$1" seconds="$2" out="$work/$1.wrk" before after
  mapfile -t args < <(wrk_args "$label" "${3:-}" "${4:-}")
  mapfile -t watched < <(proxy_pids "$label")
  local probe allocated_before allocated_after jit_before jit_after
  probe=$(probe_file "$label")
  allocated_before=$(allocated_bytes "$probe")
  jit_before=$(jit_ms)
  before=$(cpu_ticks "${watched[@]}")
  if [ -n "${5:-}" ]; then
    wrk "${args[@]}" -d"${seconds}s" -s "$root/bench/paced.lua" "${urls[$label]}" -- "$5" >"$out"
  else
    wrk "${args[@]}" -d"${seconds}s" "${urls[$label]}" >"$out"
  fi
  after=$(cpu_ticks "${watched[@]}")
  sleep 0.12 # the probe writes every 50 ms: let it catch up with the end of the load
  allocated_after=$(allocated_bytes "$probe")
  jit_after=$(jit_ms)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(awk '$1 == "50%" { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$out")
  local cpu_us
  cpu_us=$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v r="$rps" -v s="$seconds" 'BEGIN { printf "%.0f", t / hz * 1e6 / (r * s) }')
  local bytes="-"
  if [ -n "$allocated_before" ] && [ -n "$allocated_after" ]; then
    bytes=$(awk -v b="$((allocated_after - allocated_before))" -v r="$rps" -v s="$seconds" 'BEGIN { printf "%.0f", b / (r * s) }')
  fi
  echo "$label $rps $(to_ms "$p50") $(to_ms "$p99") ${errors:-0} $cpu_us $bytes $((jit_after - jit_before))"
}

: >"$work/summary"
# Warm-up: the .NET processes compile their hot code twice over (tiered JIT: a quick version first,
# an optimized one once a method has run often), on the same two cores the load runs on. Under load
# that takes a minute or more, and a round measured meanwhile shows the compiler, not the proxy. So
# each path is loaded in rounds until one spends under 1% of its time compiling (all .NET processes
# together: accounts serves every path), at most warmup_rounds rounds.
declare -A warmed=()
still_compiling=()
echo "Warming up each path until the .NET processes stop compiling code (rounds of ${duration}s, at most $warmup_rounds) ..."
for label in direct nginx gateway yarp; do
  for round in $(seq 1 "$warmup_rounds"); do
    read -r _ rps _ _ _ _ _ jit < <(measure "$label" "$duration")
    echo "  warm-up $label, round $round: $rps requests/s, $jit ms compiling"
    warmed[$label]=$round
    (( jit * 100 < duration * 1000 )) && break
    (( round < warmup_rounds )) || still_compiling+=("$label")
  done
done

# Rounds alternate the four paths so that drift on the machine touches each of them alike.
measure_rounds() { # file [rate]: one line per path and round, appended to the file
  for round in $(seq 1 "$rounds"); do
    for label in direct nginx gateway yarp; do
      line=$(measure "$label" "$duration" "" "" "${2:-}")
      echo "  round $round: $line"
      echo "$line" >>"$1"
    done
  done
}

read -r steal_before total_before < <(cpu_times)

echo "Measuring: $rounds rounds of ${duration}s per path, $connections connections, $threads wrk threads, on $(nproc) cores ..."
measure_rounds "$work/summary"

# Paced: the same fixed request rate on every path, half of what the slowest path managed above, so
# that no path runs near its limit and the latency shows what each hop adds at a moderate load.
slowest=$(awk '{ n[$1]++; rps[$1] += $2 } END { min = -1; for (k in n) { r = rps[k] / n[k]; if (min < 0 || r < min) min = r } print int(min) }' "$work/summary")
offered=$(( slowest / 2 / 100 * 100 ))
[ "$offered" -ge 100 ] || offered=100
echo "Measuring paced load: $offered requests/s on every path (half the slowest path's throughput), $rounds rounds of ${duration}s ..."
: >"$work/paced"
measure_rounds "$work/paced" $(( offered / threads ))

# Light load: one connection, so nothing queues and p99 shows what each hop itself adds.
echo "Measuring light load: 1 connection, ${duration}s per path ..."
: >"$work/light"
for label in direct nginx gateway yarp; do
  line=$(measure "$label" "$duration" 1 1)
  echo "  light: $line"
  echo "$line" >>"$work/light"
done

read -r steal_after total_after < <(cpu_times)
steal=$(steal_share "$steal_before" "$total_before" "$steal_after" "$total_after")

gateway_rss=$(rss_kb "Gateway.dll")
yarp_rss=$(rss_kb "BareProxy.dll")
nginx_rss=$(rss_kb "nginx: (master|worker)")
accounts_rss=$(rss_kb "Accounts.dll")

report="$results/$(date -u +%Y%m%dT%H%M%SZ).txt"
# Per path: the mean over the rounds.
warmup="direct ${warmed[direct]}, nginx ${warmed[nginx]}, gateway ${warmed[gateway]}, yarp ${warmed[yarp]}"
unwarmed="${still_compiling[*]:-}"
awk -v warmup="$warmup" -v unwarmed="${unwarmed// /, }" -v connections="$connections" -v steal="$steal" -v cores="$(nproc)" -v g_rss="$gateway_rss" -v y_rss="$yarp_rss" -v n_rss="$nginx_rss" -v a_rss="$accounts_rss" '
  { n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; err[$1] += $5; cpu[$1] += $6; alloc[$1] = ($7 == "-" || alloc[$1] == "-") ? "-" : alloc[$1] + $7; jit[$1] += $8 }
  END { for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k]; cpu[k] /= n[k]; jit[k] /= n[k]; if (alloc[k] != "-") alloc[k] = sprintf("%.0f", alloc[k] / n[k]) } }
  END {
    printf "full load (%s connections, as fast as answers come, mean of the rounds):\n", connections
    printf "%-8s %12s %10s %10s %8s %16s %18s %8s\n", "path", "requests/s", "p50 ms", "p99 ms", "non-2xx", "cpu us/request", "alloc B/request", "jit ms"
    split("direct nginx gateway yarp", order, " ")
    for (i = 1; i <= 4; i++) { k = order[i]; printf "%-8s %12.0f %10.3f %10.3f %8d %16.0f %18s %8.0f\n", k, rps[k], p50[k], p99[k], err[k], cpu[k], alloc[k], jit[k] }
    printf "(cpu and alloc per request: of accounts for direct, of the proxy in front of it for the others;\n"
    printf " alloc: bytes of .NET memory allocated, which nginx does not have;\n"
    printf " jit: milliseconds the .NET processes spent compiling code during a round, near 0 once warm)\n\n"
    printf "gateway/direct throughput: %.2fx\n", rps["gateway"] / rps["direct"]
    printf "gateway/nginx  throughput: %.2fx   (target: at least 0.80x)\n", rps["gateway"] / rps["nginx"]
    printf "gateway/yarp   throughput: %.2fx   (what the gateway features cost over bare YARP)\n", rps["gateway"] / rps["yarp"]
    printf "yarp/nginx     throughput: %.2fx   (YARP alone: the most the gateway, YARP and its features, can reach)\n", rps["yarp"] / rps["nginx"]
    printf "gateway p99 over direct:   %+.3f ms (target: at most +2 ms)\n", p99["gateway"] - p99["direct"]
    printf "nginx p99 over direct:     %+.3f ms\n", p99["nginx"] - p99["direct"]
    printf "yarp p99 over direct:      %+.3f ms\n", p99["yarp"] - p99["direct"]
    printf "\nresident memory after the run: gateway %.0f MB, bare YARP %.0f MB, nginx (all processes) %.0f MB, accounts %.0f MB\n", g_rss / 1024, y_rss / 1024, n_rss / 1024, a_rss / 1024
    printf "machine: %s cores, shared by wrk, the proxies and accounts; CPU time stolen by the hypervisor while measuring: %s\n", cores, steal
    printf "warm-up: rounds per path until one spent under 1%% of its time compiling code: %s\n", warmup
    if (unwarmed != "") printf "(%s: still compiling after the last warm-up round, so their figures include the compiler)\n", unwarmed
  }' "$work/summary" | tee "$report"

latency_table() { # title file: per path, the mean of its rounds' requests/s, p50, p99 and non-2xx
  awk -v title="$1" '
    { n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; err[$1] += $5 }
    END {
      for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k] }
      printf "\n%s:\n%-8s %12s %10s %10s %8s\n", title, "path", "requests/s", "p50 ms", "p99 ms", "non-2xx"
      split("direct nginx gateway yarp", order, " ")
      for (i = 1; i <= 4; i++) { k = order[i]; printf "%-8s %12.0f %10.3f %10.3f %8d\n", k, rps[k], p50[k], p99[k], err[k] }
      printf "gateway p99 over direct:   %+.3f ms (target: at most +2 ms)\n", p99["gateway"] - p99["direct"]
      printf "nginx p99 over direct:     %+.3f ms\n", p99["nginx"] - p99["direct"]
      printf "yarp p99 over direct:      %+.3f ms\n", p99["yarp"] - p99["direct"]
    }' "$2" | tee -a "$report"
}

latency_table "paced load ($offered requests/s offered on every path, $connections connections, mean of the rounds)" "$work/paced"
latency_table "light load (1 connection)" "$work/light"
echo "(saved to ${report#"$root"/})"
