#!/usr/bin/env bash
# Sustained writes through the gateway, step 10 against step 09, in one run:
#   09   step 09's gateway, users and accounts: a deposit is one SQLite transaction in accounts (the baseline)
#   10   step 10's, and its reporting service: a deposit also records a BalanceChanged event in accounts'
#        outbox (same transaction); the relay publishes it to RabbitMQ with publisher confirms, and
#        reporting applies it to its own SQLite file, exactly once
# The same load on each, one after the other: paced deposits of 1.00 (an open model: write i is sent at
# start + i / rate whatever the answers before it, and its latency runs from that scheduled time, by
# bench/CqrsLoad) to the accounts of a few users created first, through the gateway, after a warm-up at
# the same rate until the chain has stopped compiling code. Per chain: the write rate achieved, write
# latency p50/p99/max, errors, CPU per write and compile time; the ratios 10/09 of write latency.
# For step 10, once reporting has applied every event (a bounded wait), from the services' own SQLite
# files: the events recorded in the outboxes of users and accounts, those reporting applied, lost
# (recorded, never applied), double-applied (a user's report counting more movements than deposits were
# committed to their accounts), events applied per second while writing, and the write-to-read lag of each
# event that occurred during the measured load (OccurredAt at its service -> AppliedAt in reporting):
# p50, p99, max; and where the time goes, from the same timestamps (the relay's batches, the projection's
# pace) and from a probe of the disk (a SQLite commit, a confirmed publish, one at a time). Then a verdict
# on the target: lag p99 under 100 ms at the rate asked, zero lost, zero double-applied.
# It starts a RabbitMQ broker of its own for the run (the installed rabbitmq-server as a plain process:
# its own node name, ports and folders; no plugins), and stops it at the end.
# Everything runs on loopback, on ports 18600-18603 (step 10) and 18700-18702 (step 09); the broker takes
# two free ports from 18650 on.
#
# Usage: bench/cqrs.sh [writes-per-second] [duration-seconds]     (defaults: 500 30)
#   BENCH_WARMUP_SECONDS: a warm-up round, at the same rate (default 10)
#   BENCH_WARMUP_ROUNDS:  at most this many warm-up rounds per chain (default 6)
#   BENCH_SETTLE_SECONDS: the longest wait for reporting to apply every event (default 600; it also stops
#                         waiting after 15 s without one more event applied)
#   BENCH_RESULTS_DIR:    where the report is saved (default bench/results)
# Needs: the .NET SDK, curl, rabbitmq-server (apt-get install curl rabbitmq-server).
set -euo pipefail

usage="usage: bench/cqrs.sh [writes-per-second] [duration-seconds]   (defaults: 500 30)"
case "${1:-}" in -h | --help) echo "$usage"; exit 0 ;; esac
rate="${1:-500}"
duration="${2:-30}"
warmup="${BENCH_WARMUP_SECONDS:-10}"             # a warm-up round, at the same rate
warmup_rounds="${BENCH_WARMUP_ROUNDS:-6}"         # at most this many (the tests' short run needs one)
settle_seconds="${BENCH_SETTLE_SECONDS:-600}"     # the longest wait for reporting to apply every event
for value in "$rate" "$duration" "$warmup" "$warmup_rounds" "$settle_seconds"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$value' is not a whole number above 0; $usage" >&2; exit 2; }
done
users=4            # users created first, each with...
accounts_each=2    # ...this many accounts: the deposits go to the 8 accounts in turn
target_ms=100      # the target: write-to-read lag p99 under this, at the rate asked
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
results="${BENCH_RESULTS_DIR:-$root/bench/results}"  # where each report is saved
mkdir -p "$results"
key="bench-key-$RANDOM"
pids=()
broker_pid=""
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

for tool in dotnet curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install curl)" >&2; exit 1; }
done
# Debian's and Ubuntu's real start script: the rabbitmq-server in /usr/sbin is a wrapper that switches to
# the rabbitmq user and its /var/lib folder, which would ignore the folders given here.
rabbitmq_server=/usr/lib/rabbitmq/bin/rabbitmq-server
[ -x "$rabbitmq_server" ] || rabbitmq_server="$(command -v rabbitmq-server || true)"
[ -n "$rabbitmq_server" ] || { echo "bench: rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }

declare -A folder_of=([09]="$root/09-monitoring" [10]="$root/10-cqrs-reporting") base_of=([09]=18700 [10]=18600)
require_free_ports 18600 18601 18602 18603 18700 18701 18702

free_port() { # from: the first port from there that nothing listens on
  local port="$1"
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

stop_broker() { # SIGTERM (it closes its connections and flushes its stores), killed after 30 s
  [ -n "$broker_pid" ] || return 0
  local beam=""
  beam="$(cat "$work/rabbitmq/rabbitmq.pid" 2>/dev/null || true)"
  kill -TERM "$broker_pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
  for pid in "$broker_pid" $beam; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_broker
  rm -rf "$work"
}
trap cleanup EXIT

echo "Building step 09's and step 10's services, bench/CqrsLoad and bench/RuntimeProbe (Release) ..."
dotnet build "$root/bench/CqrsLoad/CqrsLoad.csproj" -c Release -nologo -v quiet >/dev/null
load() { dotnet "$root/bench/CqrsLoad/bin/Release/net10.0/CqrsLoad.dll" "$@"; }
# A startup hook in each .NET service writes how long it has spent compiling code (bench/RuntimeProbe).
probe="$root/bench/RuntimeProbe/bin/Release/net10.0/RuntimeProbe.dll"

# The broker: a node of its own (name, AMQP and distribution ports, data, logs, cookie), none of
# /etc/rabbitmq (no config file, no plugins), as tests/Workshop.Testing/RabbitMq/RabbitMqServer.cs does.
broker="$work/rabbitmq"
mkdir -p "$broker/conf.d"
echo '[].' >"$broker/enabled_plugins"
amqp_port=$(free_port 18650)
dist_port=$(free_port $((amqp_port + 1)))
node="bench-cqrs-$$@localhost"
echo "Starting RabbitMQ ($node, AMQP on 127.0.0.1:$amqp_port) ..."
(
  cd "$broker" # where the VM would write erl_crash.dump
  # Nothing of the caller's RABBITMQ_ variables (a developer's RABBITMQ_NODENAME, say).
  while read -r name; do unset "$name"; done < <(compgen -e | grep '^RABBITMQ_' || true)
  export HOME="$broker" # the Erlang cookie, created there
  export RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port"
  export RABBITMQ_MNESIA_BASE="$broker/mnesia" RABBITMQ_LOG_BASE="$broker/log" RABBITMQ_LOGS=-
  export RABBITMQ_CONF_ENV_FILE="$broker/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$broker/rabbitmq"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$broker/advanced.config" RABBITMQ_CONFIG_FILES="$broker/conf.d"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$broker/enabled_plugins" RABBITMQ_PID_FILE="$broker/rabbitmq.pid"
  # Erlang distribution on loopback only (EPMD too, when this node is the one to start it; EPMD, a
  # daemon that holds no data and that other nodes share, stays when the node stops).
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" ERL_EPMD_ADDRESS=127.0.0.1
  exec "$rabbitmq_server"
) >"$work/rabbitmq.log" 2>&1 &
broker_pid=$!
# Up once it says so and takes connections on its port: 5 to 15 s on two cores.
for attempt in $(seq 1 600); do
  kill -0 "$broker_pid" 2>/dev/null || { echo "bench: rabbitmq-server exited while starting; its log:" >&2; tail -30 "$work/rabbitmq.log" >&2; exit 1; }
  grep -q "Server startup complete" "$work/rabbitmq.log" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$amqp_port") 2>/dev/null && break
  (( attempt < 600 )) || { echo "bench: rabbitmq-server did not start within 60 s; its log:" >&2; tail -30 "$work/rabbitmq.log" >&2; exit 1; }
  sleep 0.1
done
amqp="amqp://guest:guest@127.0.0.1:$amqp_port/"

declare -A pid_of=()

wait_for() { # name url: until it answers 200, at most 30 s
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "bench: $1 did not start; its log:" >&2; tail -40 "$work/$1.log" >&2; exit 1
}

start() { # chain project port ready-path env...: one service of a chain, as a Release build in Production
  local chain="$1" project="$2" port="$3" ready="$4" name="$1-${2,,}"; shift 4
  # No Consul, no trace receiver (as in the tests): each service finds the next at the address given,
  # and its traces are made and sampled as shipped, then not exported.
  (cd "${folder_of[$chain]}/src/$project" && exec env "$@" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    Consul__Address=http://127.0.0.1:1 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 \
    DOTNET_STARTUP_HOOKS="$probe" BENCH_PROBE_FILE="$work/$name.probe" \
    dotnet "bin/Release/net10.0/$project.dll" --urls "http://127.0.0.1:$port" >"$work/$name.log" 2>&1) &
  pids+=("$!")
  pid_of[$name]=$!
  wait_for "$name" "http://127.0.0.1:$port$ready"
}

db() { echo "$work/$1-$2.db"; } # chain service

for chain in 10 09; do
  base=${base_of[$chain]}
  echo "Starting step $chain's chain on ports $base-$((base + 2))$([ "$chain" = 10 ] && echo " and $((base + 3))") ..."
  if [ "$chain" = 10 ]; then
    # Reporting first: its queue must exist before the relays publish (else the events wait, returned).
    # Ready once it consumes.
    start 10 Reporting $((base + 3)) /health/ready "Database__Path=$(db 10 reporting)" "RabbitMq__Uri=$amqp"
    broker_env=("RabbitMq__Uri=$amqp")
    to_reporting=("Services__reporting__http__0=http://127.0.0.1:$((base + 3))")
  else
    broker_env=()
    to_reporting=()
  fi
  start "$chain" Accounts $((base + 2)) /health/ready "Database__Path=$(db "$chain" accounts)" "${broker_env[@]}"
  start "$chain" Users $((base + 1)) /health/ready "Database__Path=$(db "$chain" users)" "${broker_env[@]}" \
    "Services__accounts__http__0=http://127.0.0.1:$((base + 2))"
  start "$chain" Gateway "$base" /health/ready "ApiKey__Keys__0=$key" "Services__users__http__0=http://127.0.0.1:$((base + 1))" \
    "Services__accounts__http__0=http://127.0.0.1:$((base + 2))" "${to_reporting[@]}"
  load setup "http://127.0.0.1:$base" "$key" "$users" "$accounts_each" >"$work/$chain.accounts" \
    || { echo "bench: could not create step $chain's users and accounts through its gateway" >&2; exit 1; }
done

gateway_of() { echo "http://127.0.0.1:${base_of[$1]}"; }
services() { # chain: the pids of the services a write goes through (gateway, users, accounts)
  echo "${pid_of[$1-gateway]} ${pid_of[$1-users]} ${pid_of[$1-accounts]}"
}
beam_pid() { cat "$broker/rabbitmq.pid" 2>/dev/null || echo "$broker_pid"; }
mine() { # the pids of every process of the run but the load (which reports its own CPU time)
  echo "${pid_of[*]} $(beam_pid)"
}
jit_ms() { # chain: milliseconds its .NET processes have spent compiling code so far (bench/RuntimeProbe)
  cat "$work/$1"-*.probe 2>/dev/null | awk '{ s += $5 } END { printf "%.0f", s }'
}
busy_ticks() { # clock ticks all cores spent working so far (not idle, not waiting for the disk, not stolen)
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}
settle() { # until reporting has applied every event recorded -> "seconds not-applied"
  load settle "$(db 10 reporting)" "$(db 10 users)" "$(db 10 accounts)" "$settle_seconds"
}

# chain seconds
#   -> "sent ok errors writes/s p50 p99 max from-ms to-ms load-cpu-ms cpu-us-per-write reporting-cpu-us broker-cpu-us jit-ms"
#   (CPU per write answered 2xx: the chain's gateway, users and accounts together; reporting and the
#   broker for step 10; jit: what the chain's .NET processes spent compiling code meanwhile)
deposits() {
  local chain="$1" seconds="$2" line sampler="" prober=""
  local -a watched
  read -r -a watched < <(services "$chain")
  local before after reporting_before reporting_after broker_before broker_after jit_before jit_after
  before=$(cpu_ticks "${watched[@]}"); reporting_before=$(cpu_ticks "${pid_of[10-reporting]}"); broker_before=$(cpu_ticks "$(beam_pid)")
  jit_before=$(jit_ms "$chain")
  if [ -n "${3:-}" ]; then
    # Accounts' threads, and the work items waiting in its thread pool (.NET's own meter, on /metrics),
    # once a second: where the requests, and in step 10 the outbox relay, wait for a thread.
    while true; do
      sleep 1
      echo "$(awk '/^Threads:/ { print $2 }' "/proc/${pid_of[$chain-accounts]}/status") $(curl -s -m 2 "http://127.0.0.1:$((base_of[$chain] + 2))/metrics" \
        | awk '$1 == "system_runtime_dotnet_thread_pool_queue_length" { print $2 }')"
    done >"$work/$chain.pool" 2>/dev/null &
    sampler=$!
    if [ "$chain" = 10 ]; then
      # The disk probe, halfway through step 10's load: a separate process, so its publishes wait for the
      # broker (and its commits for the disk) as the relay's do, but not for accounts' threads.
      (sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')"; load probe "$work/probe-during.db" "$amqp" 100 | awk '{ print "during_" $0 }' >"$work/probe-during") &
      prober=$!
    fi
  fi
  line=$(load deposits "$(gateway_of "$chain")" "$key" "$rate" "$seconds" "$(cat "$work/$chain.accounts")" 2>"$work/$chain.errors") \
    || { echo "bench: the load on step $chain failed:" >&2; cat "$work/$chain.errors" >&2; exit 1; }
  after=$(cpu_ticks "${watched[@]}"); reporting_after=$(cpu_ticks "${pid_of[10-reporting]}"); broker_after=$(cpu_ticks "$(beam_pid)")
  [ -z "$sampler" ] || { kill "$sampler"; wait "$sampler" 2>/dev/null || true; }
  [ -z "$prober" ] || wait "$prober" || true
  sleep 0.1 # the probes write every 50 ms
  jit_after=$(jit_ms "$chain")
  awk -v line="$line" -v hz="$(getconf CLK_TCK)" -v cpu="$((after - before))" -v rcpu="$((reporting_after - reporting_before))" \
    -v bcpu="$((broker_after - broker_before))" -v chain="$chain" -v jit="$((jit_after - jit_before))" \
    'BEGIN { split(line, f, " "); n = f[2] > 0 ? f[2] : 1; us = 1e6 / hz / n
             if (chain != "10") { rcpu = 0; bcpu = 0 }
             printf "%s %.0f %.0f %.0f %d\n", line, cpu * us, rcpu * us, bcpu * us, jit }'
}

# Warm-up, as bench/chain.sh does: each chain takes the load in rounds until its .NET processes spend
# under 1% of a round compiling code (tiered JIT), at most warmup_rounds rounds. A cold chain also has
# its thread pool still growing: its first seconds at this rate answer in seconds, not milliseconds.
declare -A warmed=()
still_compiling=()
: >"$work/ok" # chain and deposits answered 2xx, per load: step 10's reports must count each once
echo "Warming up each chain until its .NET processes stop compiling code (rounds of ${warmup}s at $rate deposits/s, at most $warmup_rounds) ..."
for chain in 09 10; do
  for round in $(seq 1 "$warmup_rounds"); do
    read -r _ ok errors rps _ _ _ _ _ _ _ _ _ jit < <(deposits "$chain" "$warmup")
    echo "$chain $ok" >>"$work/ok"
    echo "  warm-up $chain, round $round: $rps writes/s, $errors errors, $jit ms compiling"
    [ ! -s "$work/$chain.errors" ] || echo "  warm-up $chain: $(cat "$work/$chain.errors")"
    warmed[$chain]=$round
    (( jit * 100 < warmup * 1000 )) && break
    (( round < warmup_rounds )) || still_compiling+=("$chain")
  done
done
read -r waited missing < <(settle)
echo "  step 10's reporting applied the warm-up's events, ${waited}s after its last write ($missing not applied)"

read -r steal_before total_before < <(cpu_times)
busy_before=$(busy_ticks); mine_before=$(cpu_ticks $(mine))
load_before=$(cut -d' ' -f1 /proc/loadavg)
echo "Measuring: ${duration}s of $rate deposits/s on each chain, one after the other, on $(nproc) cores ..."
: >"$work/runs"
for chain in 09 10; do
  line=$(deposits "$chain" "$duration" sampled)
  echo "  $chain: $line"
  [ ! -s "$work/$chain.errors" ] || echo "  $chain: $(cat "$work/$chain.errors")"
  echo "$chain $line" >>"$work/runs"
  echo "$chain $(awk '{ print $2 }' <<<"$line")" >>"$work/ok"
done
read -r steal_after total_after < <(cpu_times)
busy_after=$(busy_ticks); mine_after=$(cpu_ticks $(mine))
load_after=$(cut -d' ' -f1 /proc/loadavg)
# The CPU time the rest of the machine took meanwhile: all cores' work, less this run's processes, the
# load's and the probe's (those two report their own).
others=$(awk -v busy="$((busy_after - busy_before))" -v mine="$((mine_after - mine_before))" -v total="$((total_after - total_before))" \
  -v load_ms="$(cat "$work/runs" "$work/probe-during" 2>/dev/null | awk '$1 ~ /^[0-9]/ { s += $11 } $1 == "during_cpu_ms" { s += $2 } END { print s + 0 }')" \
  -v hz="$(getconf CLK_TCK)" \
  'BEGIN { o = busy - mine - load_ms * hz / 1000; if (o < 0) o = 0; printf "%.1f%%", (total > 0 ? 100 * o / total : 0) }')

echo "Waiting until step 10's reporting has applied every event (at most ${settle_seconds}s, and 15 s without progress) ..."
read -r waited missing < <(settle)
echo "  ${waited}s ($missing not applied)"
read -r _ _ _ _ _ _ _ _ from to _ < <(awk '$1 == "10"' "$work/runs")
load count "$(db 10 reporting)" "$(db 10 users)" "$(db 10 accounts)" "$from" "$to" >"$work/count"
metrics=$(curl -sf "http://127.0.0.1:$((base_of[10] + 3))/metrics" || true)
metric() { awk -v name="$1" '$1 == name { printf "%.0f", $2; found = 1 } END { if (!found) print 0 }' <<<"$metrics"; }
{
  echo "duplicates_skipped $(metric reporting_duplicates_skipped_total)"
  echo "dead_lettered $(metric reporting_dead_lettered_total)"
  echo "deposits_ok $(awk '$1 == "10" { s += $2 } END { print s + 0 }' "$work/ok")"
  echo "settled_seconds $waited"
  echo "not_settled $missing"
  for chain in 09 10; do
    awk -v c="$chain" 'NF == 2 { n++; q += $2; if ($2 > mq) mq = $2; if ($1 > mt) mt = $1 }
      END { printf "pool_queue_mean_%s %.0f\npool_queue_max_%s %d\npool_threads_max_%s %d\n", c, n ? q / n : 0, c, mq, c, mt }' "$work/$chain.pool"
  done
} >>"$work/count"
# What waiting for the disk costs on this machine, the load over: a SQLite commit and a confirmed
# persistent publish, one at a time (bench/CqrsLoad probe): the round trip each of them waits for.
echo "Probing: 200 SQLite commits and 200 confirmed publishes, one at a time ..."
load probe "$work/probe.db" "$amqp" 200 >>"$work/count"
cat "$work/probe-during" >>"$work/count" 2>/dev/null || true

report="$results/cqrs-$(date -u +%Y%m%dT%H%M%SZ).txt"
awk -v rate="$rate" -v duration="$duration" -v warmup="$warmup" -v cores="$(nproc)" -v target="$target_ms" \
  -v users="$users" -v accounts="$((users * accounts_each))" \
  -v steal="$(steal_share "$steal_before" "$total_before" "$steal_after" "$total_after")" -v load_before="$load_before" -v load_after="$load_after" \
  -v others="$others" -v warmed09="${warmed[09]}" -v warmed10="${warmed[10]}" -v unwarmed="${still_compiling[*]:-}" '
  FNR == 1 { file++ }
  file == 1 { c = $1; sent[c] = $2; ok[c] = $3; err[c] = $4; rps[c] = $5; p50[c] = $6; p99[c] = $7; max[c] = $8; cpu[c] = $12; rcpu[c] = $13; bcpu[c] = $14; jit[c] = $15 }
  file == 2 { v[$1] = $2 }
  END {
    printf "sustained deposits through the gateway (%s writes/s offered for %s s after a %s s warm-up, to %s accounts of %s users;\n", rate, duration, warmup, accounts, users
    printf "open model: each write sent on schedule, its latency from its scheduled time):\n"
    printf "%-6s %10s %10s %10s %10s %8s %14s %8s\n", "chain", "writes/s", "p50 ms", "p99 ms", "max ms", "errors", "cpu us/write", "jit ms"
    split("09 10", order, " ")
    for (i = 1; i <= 2; i++) { c = order[i]; printf "%-6s %10.1f %10.3f %10.3f %10.3f %8d %14.0f %8d\n", c, rps[c], p50[c], p99[c], max[c], err[c], cpu[c], jit[c] }
    printf "(writes/s: answered 2xx; errors: not answered 2xx within 10 s; cpu per write answered 2xx: gateway, users\n"
    printf " and accounts together, and for step 10 besides, reporting %.0f us and the broker %.0f us; jit: milliseconds the\n", rcpu["10"], bcpu["10"]
    printf " chain'"'"'s .NET processes spent compiling code meanwhile, near 0 once warm)\n\n"
    printf "10/09 write latency p50:  %.2fx\n", p50["10"] / p50["09"]
    printf "10/09 write latency p99:  %.2fx\n", p99["10"] / p99["09"]
    double = v["movements_over"]
    printf "\nstep 10'"'"'s events (recorded in the outboxes of users and accounts, applied by reporting; counted after the run):\n"
    printf "recorded %d (users %d, accounts %d), applied %d, lost %d, double-applied %d\n", v["recorded"], v["recorded_users"], v["recorded_accounts"], v["applied"], v["lost"], double
    printf "(lost: recorded and not applied; double-applied: movements in a user'"'"'s report beyond the deposits committed to\n"
    printf " their accounts, summed over the users. Movements in the reports %d, deposits committed %d (BalanceChanged in\n", v["movements"], v["deposits_recorded"]
    printf " accounts'"'"' outbox: %d answered 200, %d without a 2xx answer), applied %d;\n", v["deposits_ok"], v["deposits_recorded"] - v["deposits_ok"], v["deposits_applied"]
    printf " movements missing from a report %d; applied and recorded nowhere %d; duplicates skipped by reporting %d, dead-lettered %d)\n", v["movements_under"], v["unknown"], v["duplicates_skipped"], v["dead_lettered"]
    balanced = v["report_balance_cents"] == v["accounts_balance_cents"] ? "yes" : "no"
    printf "total balance in the reports %.2f, in accounts %.2f: equal %s\n", v["report_balance_cents"] / 100, v["accounts_balance_cents"] / 100, balanced
    printf "write-to-read lag (OccurredAt at accounts -> AppliedAt in reporting), over the %d events of the measured %s s:\n", v["window_events"], duration
    printf "  p50 %.3f ms   p99 %.3f ms   max %.3f ms\n", v["lag_p50_ms"], v["lag_p99_ms"], v["lag_max_ms"]
    printf "  the last applied %.3f ms after the last write was answered\n", v["last_applied_after_ms"]
    printf "events applied per second: %.1f while writing, %.1f after the last write until the last event\n", v["applied_per_second"], v["applied_after_per_second"]
    printf "where it goes:\n"
    printf "  the relay, a batch at a time, its confirms awaited together: %.3f ms per event while the writes went on, %.3f ms after\n", v["relay_writing_ms_per_event"], v["relay_after_ms_per_event"]
    printf "  (%d batches marked sent, %.1f events each on average; measured over the %d begun as soon as the one before was marked)\n", v["relay_batches"], v["relay_batch_size"], v["relay_busy_batches"]
    printf "  a batch, while writing: %.3f ms publishing (until its last event was applied), %.3f ms marking it sent in accounts.db;\n", v["relay_writing_publish_ms_per_batch"], v["relay_writing_mark_ms_per_batch"]
    printf "  after: %.3f ms publishing, %.3f ms marking\n", v["relay_after_publish_ms_per_batch"], v["relay_after_mark_ms_per_batch"]
    printf "  reporting, the events waiting in one transaction (%.1f on average): %.3f ms per event where it had the next one waiting (%.1f%% of the events)\n", v["projection_events_per_transaction"], v["projection_ms_per_event"], v["projection_waiting_share"] * 100
    printf "  accounts while writing (sampled once a second): 09 up to %d threads, %d work items waiting in its thread pool on\n", v["pool_threads_max_09"], v["pool_queue_mean_09"]
    printf "  average (at most %d); 10 up to %d threads, %d waiting on average (at most %d), the relay'"'"'s among them\n", v["pool_queue_max_09"], v["pool_threads_max_10"], v["pool_queue_mean_10"], v["pool_queue_max_10"]
    sync = v["sqlite_synchronous"] == 2 ? "FULL" : (v["sqlite_synchronous"] == 1 ? "NORMAL" : v["sqlite_synchronous"])
    printf "the disk and the broker, one at a time, from a process of its own: a SQLite commit\n"
    printf "  (WAL, synchronous %s) %.3f ms (p99 %.3f) and a persistent publish until its confirm %.3f ms (p99 %.3f)\n", sync, v["sqlite_commit_mean_ms"], v["sqlite_commit_p99_ms"], v["confirm_mean_ms"], v["confirm_p99_ms"]
    printf "  after the load; halfway through step 10'"'"'s load, %.3f ms (p99 %.3f) and %.3f ms (p99 %.3f)\n", v["during_sqlite_commit_mean_ms"], v["during_sqlite_commit_p99_ms"], v["during_confirm_mean_ms"], v["during_confirm_p99_ms"]
    met = rps["10"] >= 0.95 * rate && v["lag_p99_ms"] < target && v["lost"] == 0 && double == 0 && v["not_settled"] == 0
    printf "\ntarget (write-to-read lag p99 under %s ms at %s writes/s, zero lost, zero double-applied): %s: p99 %.3f ms at %.1f writes/s, %d lost, %d double-applied\n", target, rate, met ? "met" : "not met", v["lag_p99_ms"], rps["10"], v["lost"], double
    if (v["not_settled"] > 0) printf "(%d events were still not applied %s s after the run)\n", v["not_settled"], v["settled_seconds"]
    printf "machine: %s cores, shared by the load, both chains and the broker; CPU time stolen by the hypervisor while measuring: %s;\n", cores, steal
    printf "taken by other processes meanwhile: %s; load average (1 min) before and after: %s, %s\n", others, load_before, load_after
    printf "warm-up: rounds per chain until one spent under 1%% of its time compiling code: 09 %s, 10 %s\n", warmed09, warmed10
    if (unwarmed != "") printf "(%s: still compiling after the last warm-up round, so their figures include the compiler)\n", unwarmed
  }' "$work/runs" "$work/count" | tee "$report"
echo "(saved to ${report#"$root"/})"
