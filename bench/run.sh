#!/usr/bin/env bash
# Gateway benchmark: one run, three ways to the same request, side by side.
#   (a) direct:  wrk -> accounts                         GET /accounts/1
#   (b) nginx:   wrk -> nginx (plain reverse proxy) -> accounts   GET /api/accounts/1
#   (c) gateway: wrk -> step 03 gateway (API key checked) -> accounts   GET /api/accounts/1
# Prints requests/s, p50 and p99 latency and resident memory of each, and the ratios
# gateway/direct and gateway/nginx. Everything runs on loopback, on ports 18000-18080.
#
# Usage: bench/run.sh [duration-seconds] [connections] [rounds]     (defaults: 10 32 3)
# Needs: the .NET SDK, wrk, nginx (apt-get install wrk nginx-light).
set -euo pipefail

duration="${1:-10}"
connections="${2:-32}"
rounds="${3:-3}"
threads=2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
step="$root/03-api-gateway"
work="$(mktemp -d)"
results="$root/bench/results"
mkdir -p "$results"
key="bench-key-$RANDOM"
pids=()

for tool in dotnet wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk nginx-light curl)" >&2; exit 1; }
done

for port in 18000 18002 18080; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench: port $port is in use (a previous run still going?)" >&2
    exit 1
  fi
done

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

start() { # name project port env...
  local name="$1" project="$2" port="$3"; shift 3
  (cd "$step/src/$project" && exec env "$@" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    dotnet "bin/Release/net10.0/$project.dll" --urls "http://127.0.0.1:$port" >"$work/$name.log" 2>&1) &
  pids+=("$!")
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "bench: $name did not start; its log:" >&2; cat "$work/$name.log" >&2; exit 1
}

start accounts Accounts 18002 "Database__Path=$work/accounts.db"
start gateway Gateway 18000 "ApiKey__Keys__0=$key" \
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

rss_kb() { # sum of VmRSS over the processes matching a pattern
  pgrep -f "$1" | while read -r pid; do awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'
}

declare -A urls=(
  [direct]="http://127.0.0.1:18002/accounts/1"
  [nginx]="http://127.0.0.1:18080/api/accounts/1"
  [gateway]="http://127.0.0.1:18000/api/accounts/1"
)

wrk_args() { # label
  local args=(-t"$threads" -c"$connections" --latency)
  [ "$1" = gateway ] && args+=(-H "X-Api-Key: $key")
  printf '%s\n' "${args[@]}"
}

measure() { # label seconds -> appends "label rps p50 p99 non2xx" to the summary
  local label="$1" seconds="$2" out="$work/$1.wrk"
  mapfile -t args < <(wrk_args "$label")
  wrk "${args[@]}" -d"${seconds}s" "${urls[$label]}" >"$out"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(awk '$1 == "50%" { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$out")
  echo "$label $rps $(to_ms "$p50") $(to_ms "$p99") ${errors:-0}"
}

to_ms() { # wrk prints 812.00us, 1.23ms or 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

: >"$work/summary"
# Warm-up: the .NET processes compile their hot paths (tiered JIT) and fill their connection pools;
# accounts serves all three paths, so it is warmed through each of them before anything counts.
echo "Warming up (3 x 10 s) ..."
for label in direct nginx gateway; do measure "$label" 10 >/dev/null; done

# Rounds alternate the three paths so that drift on the machine touches each of them alike.
echo "Measuring: $rounds rounds of ${duration}s per path, $connections connections, $threads wrk threads, on $(nproc) cores ..."
for round in $(seq 1 "$rounds"); do
  for label in direct nginx gateway; do
    line=$(measure "$label" "$duration")
    echo "  round $round: $line"
    echo "$line" >>"$work/summary"
  done
done

gateway_rss=$(rss_kb "Gateway.dll")
nginx_rss=$(rss_kb "nginx: (master|worker)")
accounts_rss=$(rss_kb "Accounts.dll")

report="$results/$(date -u +%Y%m%dT%H%M%SZ).txt"
# Per path: the mean over the rounds.
awk -v g_rss="$gateway_rss" -v n_rss="$nginx_rss" -v a_rss="$accounts_rss" '
  { n[$1]++; rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; err[$1] += $5 }
  END { for (k in n) { rps[k] /= n[k]; p50[k] /= n[k]; p99[k] /= n[k] } }
  END {
    printf "%-8s %12s %10s %10s %8s\n", "path", "requests/s", "p50 ms", "p99 ms", "non-2xx"
    split("direct nginx gateway", order, " ")
    for (i = 1; i <= 3; i++) { k = order[i]; printf "%-8s %12.0f %10.3f %10.3f %8d\n", k, rps[k], p50[k], p99[k], err[k] }
    printf "\n"
    printf "gateway/direct throughput: %.2fx\n", rps["gateway"] / rps["direct"]
    printf "gateway/nginx  throughput: %.2fx   (target: at least 0.80x)\n", rps["gateway"] / rps["nginx"]
    printf "gateway p99 over direct:   %+.3f ms (target: at most +2 ms)\n", p99["gateway"] - p99["direct"]
    printf "nginx p99 over direct:     %+.3f ms\n", p99["nginx"] - p99["direct"]
    printf "\nresident memory after the run: gateway %.0f MB, nginx (all processes) %.0f MB, accounts %.0f MB\n", g_rss / 1024, n_rss / 1024, a_rss / 1024
  }' "$work/summary" | tee "$report"
echo "(saved to ${report#$root/})"
