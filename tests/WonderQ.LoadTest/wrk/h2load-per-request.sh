#!/usr/bin/env bash
# Runs h2load (nghttp2-client) with post.lua's 1 KiB POST and prints requests/s and the CPU time the server process
# spent per request meanwhile.
# usage: h2load-per-request.sh SERVER_PID URL SECONDS [h2load options: --h1 -c 64, or -c 64 -m 8 for h2c]
set -euo pipefail
pid=$1 url=$2 seconds=$3
shift 3
body=$(mktemp)
trap 'rm -f "$body"' EXIT
printf '{"queue_name":"wrk","body":"%s"}' "$(printf 'x%.0s' $(seq 1024))" >"$body"
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
before=$(ticks)
out=$(h2load -t2 -D "$seconds" -d "$body" -H 'content-type: application/json' "$@" "$url")
after=$(ticks)
grep -q ' 0 failed, 0 errored' <<<"$out" || { echo "$out" >&2; exit 1; }
done=$(awk '/^requests:/ { print $8 }' <<<"$out")
awk -v r="$done" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v rps="$(awk '/^finished in/ { print $4 }' <<<"$out")" \
  'BEGIN { printf "%s req/s, %.0f us of server CPU a request\n", rps, t / hz * 1e6 / r }'
