#!/usr/bin/env bash
# Runs wrk and prints requests/s and the CPU time the server process spent per request meanwhile.
# usage: cpu-per-request.sh SERVER_PID URL SCRIPT SECONDS [-- script args]
set -euo pipefail
pid=$1 url=$2 script=$3 seconds=$4
shift 4
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
before=$(ticks)
out=$(wrk -t2 -c64 -d"${seconds}s" -s "$script" "$url" "$@")
after=$(ticks)
# As h2load-per-request.sh does: a rate of 404s (a queue the server does not have) is not a rate of sends.
if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then echo "$out" >&2; exit 1; fi
requests=$(awk '/requests in/ { print $1 }' <<<"$out")
hz=$(getconf CLK_TCK)
awk -v r="$requests" -v t=$((after - before)) -v hz="$hz" -v rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
  'BEGIN { printf "%s req/s, %.0f us of server CPU a request\n", rps, t / hz * 1e6 / r }'
