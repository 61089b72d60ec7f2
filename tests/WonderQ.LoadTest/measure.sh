#!/usr/bin/env bash
# The README's "Performance" table, measured again: each scenario on freshly started processes, the broker beside the
# bare Kestrel reference (tests/WonderQ.BareKestrel, under the broker's GC settings) in one invocation where the table
# compares them. Release builds, traffic only to 127.0.0.1, about 23 minutes on two cores. Run nothing else meanwhile:
# the load generator shares the machine with what it measures.
#
#   tests/WonderQ.LoadTest/measure.sh [output directory]
#
# Each scenario's table goes to its own file in the output directory (a new one under /tmp unless given), their
# medians to summary.txt (printed at the end), with the commit and the machine's description in host.txt. Ports
# 4200/4201 (the broker, HTTP/1.1 and h2c) and 4300/4301 (the reference) must be free. The databases go in a scratch
# directory inside the repository, so that they are on a disk: on a tmpfs /tmp a sync costs nothing and the durable
# figures would not be. The backlog rows need the sqlite3 shell (apt-get install -y sqlite3) and 1.5 GB of disk, the
# independent generators' rows wrk and h2load; without them those rows are skipped. Exits 1 if any scenario failed.
set -euo pipefail
OUT=$(realpath -m "${1:-$(mktemp -d /tmp/wonderq-perf.XXXXXX)}")
cd "$(dirname "$0")/../.."
BROKER_PID=""
BARE_PID=""
FAILED=0

stop() {
    for pid in $BROKER_PID $BARE_PID; do kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true; done
    BROKER_PID=""
    BARE_PID=""
}

mkdir -p "$OUT"
WORK=$(mktemp -d "$PWD/.measure-work.XXXXXX")
trap 'stop; rm -rf "$WORK"' EXIT
if [ "$(findmnt -no FSTYPE -T "$WORK")" = tmpfs ]; then
    echo "$WORK is on a tmpfs, where a sync costs nothing: run from a repository on a disk" >&2
    exit 2
fi
# Whatever listens there, not only an HTTP server that answers: a connection accepted and never answered (a stopped
# process) held an HTTP probe without end, and one closed unanswered read as a free port until the broker could not bind.
for port in 4200 4201 4300 4301; do
    # 1: refused, nothing there; 0: connected; 124: no answer to the connect in 2 s (a full accept queue)
    status=0
    timeout 2 bash -c ": > /dev/tcp/127.0.0.1/$port" 2> /dev/null || status=$?
    if [ $status -ne 1 ]; then
        echo "port $port is in use: stop what listens there first" >&2
        exit 2
    fi
done

{ git log -1 --format='commit %H %cd'; date -u; uname -a; lscpu; dotnet --version; } > "$OUT/host.txt" 2>&1
for project in Broker tests/WonderQ.BareKestrel tests/WonderQ.LoadTest; do
    if ! dotnet build -c Release "$project" -o "$WORK/$(basename "$project")" >> "$OUT/build.log" 2>&1; then
        tail -20 "$OUT/build.log" >&2
        exit 1
    fi
done
L="dotnet $WORK/WonderQ.LoadTest/WonderQ.LoadTest.dll"

# load <output file> <load tool arguments>: a failed run is counted; Ctrl-C (the tool exits 130) ends the session
load() {
    local out=$1 status=0
    shift
    $L "$@" > "$out" 2>&1 || status=$?
    if [ $status -eq 130 ]; then exit 130; fi
    if [ $status -ne 0 ]; then
        echo "  exit $status, see $out"
        FAILED=1
    fi
}

# wait_for <url> <pid>: until the process started answers (and has not died, say on a port taken after all)
# (at most 30 s: each probe is bounded too, so a process that takes the connection and never answers does not hold it)
wait_for() {
    local deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$2" 2> /dev/null || { echo "the process for $1 exited; see $OUT/*.log" >&2; exit 1; }
        curl -fs --max-time 2 -o /dev/null "$1/healthz" && return 0
        sleep 0.02
    done
    echo "nothing answered at $1 within 30 s" >&2
    exit 1
}

# start_broker <database file>: HTTP/1.1 on 4200, h2c on 4201
start_broker() {
    dotnet "$WORK/Broker/WonderQ.Broker.dll" --contentRoot "$WORK/Broker" --Urls= \
        --Kestrel:Endpoints:Http:Url=http://127.0.0.1:4200 \
        --Kestrel:Endpoints:H2c:Url=http://127.0.0.1:4201 --Kestrel:Endpoints:H2c:Protocols=Http2 \
        --Storage:Sqlite:Path="$1" >> "$OUT/broker.log" 2>&1 &
    BROKER_PID=$!
    wait_for http://127.0.0.1:4200 $BROKER_PID
}

# the reference under the broker's GC settings (its runtimeconfig: workstation GC, ConserveMemory 9, objects up to
# 1 MB off the large-object heap): 4300 and 4301
start_bare() {
    local bare="$WORK/WonderQ.BareKestrel"
    DOTNET_gcServer=0 DOTNET_GCConserveMemory=9 DOTNET_GCLOHThreshold=0x100000 dotnet "$bare/WonderQ.BareKestrel.dll" --contentRoot "$bare" --Urls= \
        --Kestrel:Endpoints:Http:Url=http://127.0.0.1:4300 \
        --Kestrel:Endpoints:H2c:Url=http://127.0.0.1:4301 --Kestrel:Endpoints:H2c:Protocols=Http2 ${SINK:+--Sink=true} >> "$OUT/bare.log" 2>&1 &
    BARE_PID=$!
    wait_for http://127.0.0.1:4300 $BARE_PID
}

# fresh [bare]: a new broker on an empty file, and the reference beside it if asked
fresh() {
    stop
    rm -f "$WORK"/q.db*
    start_broker "$WORK/q.db"
    if [ "${1:-}" = bare ]; then start_bare; fi
}

# side_by_side <output name> <http1|h2c> <scenario and options>: the broker and the reference in one invocation
side_by_side() {
    local name=$1 transport=$2
    shift 2
    fresh bare
    local broker=http://127.0.0.1:4200 bare=http://127.0.0.1:4300
    if [ "$transport" = h2c ]; then broker=http://127.0.0.1:4201 bare=http://127.0.0.1:4301; fi
    echo "$name: $*"
    load "$OUT/$name.txt" "$@" --quiet --url $broker --broker-pid $BROKER_PID --url $bare --broker-pid $BARE_PID
}

on_broker() { # on_broker <output name> <scenario and options>
    local name=$1
    shift
    load "$OUT/$name.txt" "$@" --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID
}

date -u > "$OUT/started.txt"
# produce consumes nothing, so the reference counts each send and drops its body (its --Sink): kept, a million bodies
# cost its collector 30% of its sends a second
SINK=1 side_by_side produce http1 produce --warmup 20 --duration 10 --rounds 3 --producers 64
SINK=1 side_by_side produce-h2c h2c produce --warmup 20 --duration 10 --rounds 3 --producers 512 --http2 64
side_by_side cycle http1 cycle --warmup 15 --duration 10 --rounds 3 --batch 10 --producers 128 --consumers 32
side_by_side cycle-h2c h2c cycle --warmup 15 --duration 10 --rounds 3 --batch 10 --producers 128 --consumers 32 --http2 8
side_by_side latency http1 latency --warmup 10 --duration 20 --rounds 3
# 100,000 messages, so that each measured drain lasts seconds; the warm-up drains the tool's default 20,000
side_by_side consume http1 consume --warmup 15 --messages 100000 --batch 10 --rounds 3

# The same 1 KiB sends from independent generators, cheaper in CPU than the load tool: wrk over HTTP/1.1 and h2load
# over h2c (apt-get install -y wrk nghttp2-client; skipped without them), 64 connections, the broker and the reference
# (storing nothing) in turns, three rounds of 8 s after a warm-up of each. Its scripts are in wrk/, as is how to run
# them by hand.
if command -v wrk > /dev/null && command -v h2load > /dev/null; then
    echo "wrk and h2load"
    SINK=1 fresh bare
    G="$PWD/tests/WonderQ.LoadTest/wrk"
    for port in 4200 4300; do
        curl -fs -XPOST http://127.0.0.1:$port/queues -H 'Content-Type: application/json' -d '{"name":"wrk"}' > /dev/null
    done
    # generate <output name> <runs of: label pid url>, then the script and its arguments after --: three rounds in turns
    generate() {
        local name=$1 servers=() round label pid url line
        shift
        while [ "$1" != -- ]; do servers+=("$1 $2 $3"); shift 3; done
        shift
        : > "$OUT/$name.txt"
        for round in 1 2 3; do
            for server in "${servers[@]}"; do
                read -r label pid url <<< "$server"
                if ! line=$(cd "$G" && "$1" "$pid" "$url" "${@:2}" 2>> "$OUT/$name.txt"); then
                    line="failed"
                    FAILED=1
                    echo "  $label failed, see $OUT/$name.txt"
                fi
                echo "$label round $round: $line" >> "$OUT/$name.txt"
            done
        done
        # the median of each server's three rates
        for server in "${servers[@]}"; do
            read -r label pid url <<< "$server"
            # (no rate when every round failed: with pipefail, grep's 1 would end the whole script here)
            { grep "^$label round .* req/s" "$OUT/$name.txt" || true; } | awk '{ print $4 }' | sort -n | sed -n 2p |
                xargs -r printf "$label median: %s req/s\n" >> "$OUT/$name.txt"
        done
    }
    for server in "$BROKER_PID 4200" "$BARE_PID 4300"; do
        read -r pid port <<< "$server"
        (cd "$G" && ./cpu-per-request.sh "$pid" http://127.0.0.1:$port/messages post.lua 20 > /dev/null &&
            ./h2load-per-request.sh "$pid" http://127.0.0.1:$((port + 1))/messages 10 -c 64 -m 8 > /dev/null) ||
            { echo "  the warm-up on $port failed"; FAILED=1; }
    done
    generate wrk broker $BROKER_PID http://127.0.0.1:4200/messages reference $BARE_PID http://127.0.0.1:4300/messages \
        -- ./cpu-per-request.sh post.lua 8
    generate h2load broker $BROKER_PID http://127.0.0.1:4201/messages reference $BARE_PID http://127.0.0.1:4301/messages \
        -- ./h2load-per-request.sh 8 -c 64 -m 8
fi

for run in 1 2 3; do
    echo "burst $run"
    fresh
    on_broker "burst-$run" burst --concurrency 5000 --warm
done

# idle waiters on cold processes, one at a time: the broker three times, then the reference twice
for run in 1 2 3; do
    echo "idle-waiters $run"
    fresh
    on_broker "idle-waiters-$run" idle-waiters --waiters 10000 --duration 45 --rate 50
done
for run in 1 2; do
    echo "idle-waiters, the reference, $run"
    stop
    start_bare
    load "$OUT/idle-waiters-bare-$run.txt" idle-waiters --waiters 10000 --duration 45 --rate 50 --quiet \
        --url http://127.0.0.1:4300 --broker-pid $BARE_PID
done

if command -v sqlite3 > /dev/null; then
    # 1,000,000 messages of 1 KiB written straight into a stopped broker's file; then its start time, and produce and
    # consume on that queue against an empty one
    echo "backlog"
    fresh
    curl -fs -XPOST http://127.0.0.1:4200/queues -H 'Content-Type: application/json' -d '{"name":"backlog"}' > /dev/null
    stop
    sqlite3 "$WORK/q.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
        INSERT INTO messages (queue_id, body, created_at, visible_at)
        SELECT (SELECT id FROM queues WHERE name = 'backlog'), printf('%.1024c', 'x'), 1764547200000 + i, 1764547200000 + i FROM n;"
    : > "$OUT/backlog-start.txt"
    for run in 1 2 3; do
        stop
        started=$(date +%s%N)
        start_broker "$WORK/q.db"
        echo "ready in $(( ($(date +%s%N) - started) / 1000000 )) ms" >> "$OUT/backlog-start.txt"
    done
    curl -fs -o /dev/null http://127.0.0.1:4200/queues
    curl -fs -o /dev/null -w 'GET /queues (second call) %{time_total} s\n' http://127.0.0.1:4200/queues >> "$OUT/backlog-start.txt"
    # Three rounds each, medians: one round can fall in a spell when the host gives the VM less (once 62% of the
    # empty queue's rate with the CPU half idle, then 86% on the same commit).
    on_broker backlog-produce produce --warmup 15 --duration 10 --rounds 3 --queue backlog
    on_broker backlog-consume consume --warmup 15 --rounds 3 --queue backlog --no-fill --messages 50000
    fresh
    on_broker empty-produce produce --warmup 15 --duration 10 --rounds 3
    on_broker empty-consume consume --warmup 15 --rounds 3 --messages 50000
else
    echo "backlog: skipped (no sqlite3 shell)"
fi

stop
date -u > "$OUT/finished.txt"

# summary.txt: each scenario's medians in one place, in the order of the README's table
summary() {
    local name f
    for name in produce produce-h2c wrk h2load cycle cycle-h2c consume latency; do
        f="$OUT/$name.txt"
        [ -f "$f" ] || continue
        echo "== $name"
        if grep -q '^side by side' "$f"; then sed -n '/^side by side/,/^(p50/p' "$f" | tail -n +2; else grep 'median' "$f"; fi
    done
    for name in burst idle-waiters idle-waiters-bare; do
        ls "$OUT/$name"-[0-9].txt > /dev/null 2>&1 || continue
        echo "== $name"
        for f in "$OUT/$name"-[0-9].txt; do
            awk -v run="$(basename "$f" .txt)" '
                /^elapsed/ && run ~ /^burst/ { wall = $2 " s" }
                /^send / && run ~ /^burst/ { n = $2 }
                /^publish->receive/ { latency = "publish->receive p50 " $4 " ms, p99 " $6 " ms" }
                /rss_peak_sampled=/ { match($0, /rss_peak_sampled=[0-9]+/); peak = ", peak RSS " substr($0, RSTART + 17, RLENGTH - 17) " KiB" }
                /^result/ { result = $2 }
                END { print run ": " (wall ? n " sends in " wall : latency peak) ", " result }' "$f"
        done
    done
    if [ -f "$OUT/backlog-start.txt" ]; then
        echo "== backlog"
        cat "$OUT/backlog-start.txt"
        for name in backlog-produce empty-produce backlog-consume empty-consume; do
            f="$OUT/$name.txt"
            if [ -f "$f" ]; then
                awk -v name="$name" '/^side by side/ { getline; getline; print name ": " $3 " msgs/s, " $9 }' "$f"
            fi
        done
    fi
}
summary > "$OUT/summary.txt"
cat "$OUT/summary.txt"
echo "results in $OUT"
if [ $FAILED -ne 0 ]; then
    echo "some runs failed: see the files named above" >&2
    exit 1
fi
