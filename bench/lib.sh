# Helpers the benchmark scripts share (bench/run.sh, bench/chain.sh); sourced, not run.

# Every call stays on this machine: never through a web proxy set in the environment (curl and .NET
# send even loopback calls to one unless NO_PROXY lists them).
export no_proxy="${no_proxy:+$no_proxy,}127.0.0.1,localhost" NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost"

require_free_ports() { # port...: exits when one is in use
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "bench: port $port is in use (a previous run still going?)" >&2
      exit 1
    fi
  done
}

rss_kb() { # sum of VmRSS over the processes matching a pattern
  pgrep -f "$1" | while read -r pid; do awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'
}

cpu_ticks() { # sum of user+system clock ticks of the given pids
  for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }'
}

to_ms() { # wrk prints 812.00us, 1.23ms or 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# On a virtual machine the hypervisor may give part of the cores' time to other guests ("steal");
# the reports say how much, since a disturbed run has lower and more scattered figures.
cpu_times() { # steal and total clock ticks of all cores so far
  awk '/^cpu / { total = 0; for (i = 2; i <= NF; i++) total += $i; print $9, total }' /proc/stat 2>/dev/null || echo "0 0"
}

steal_share() { # steal-before total-before steal-after total-after: "1.2%" or "unknown"
  awk -v s="$(($3 - $1))" -v t="$(($4 - $2))" 'BEGIN { if (t > 0) printf "%.1f%%", 100 * s / t; else print "unknown" }'
}
