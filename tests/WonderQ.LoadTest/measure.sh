#!/usr/bin/env bash
# The README's "Performance" table, measured again: each scenario on freshly started processes, the broker beside the
# bare Kestrel reference (tests/WonderQ.BareKestrel, under the broker's GC settings) in one invocation where the table
# compares them. Release builds, traffic only to 127.0.0.1, about 30 minutes on two cores. Run nothing else meanwhile:
# the load generator shares the machine with what it measures.
#
#   tests/WonderQ.LoadTest/measure.sh [output directory]
#
# Each scenario's table goes to its own file in the output directory (a new one under /tmp unless given). Ports
# 4200/4201 (the broker, HTTP/1.1 and h2c) and 4300/4301 (the reference) must be free. The backlog rows need the
# sqlite3 command-line shell (apt-get install -y sqlite3) and 1.5 GB of disk; without it they are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-$(mktemp -d /tmp/wonderq-perf.XXXXXX)}
WORK=$(mktemp -d /tmp/wonderq-perf-work.XXXXXX)
mkdir -p "$OUT"
trap 'stop; rm -rf "$WORK"' EXIT

dotnet build -c Release Broker -o "$WORK/broker" > "$OUT/build.log"
dotnet build -c Release tests/WonderQ.BareKestrel -o "$WORK/bare" >> "$OUT/build.log"
dotnet build -c Release tests/WonderQ.LoadTest -o "$WORK/load" >> "$OUT/build.log"
L="dotnet $WORK/load/WonderQ.LoadTest.dll"
BROKER_PID=""
BARE_PID=""

stop() {
    for pid in $BROKER_PID $BARE_PID; do kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true; done
    BROKER_PID=""
    BARE_PID=""
}

wait_for() {
    local attempt
    for attempt in $(seq 300); do
        curl -fs -o /dev/null "$1/healthz" && return 0
        sleep 0.1
    done
    echo "nothing answered at $1" >&2
    exit 1
}

# start_broker <database file> [extra options]: HTTP/1.1 on 4200, h2c on 4201
start_broker() {
    local db=$1
    shift
    dotnet "$WORK/broker/WonderQ.Broker.dll" --contentRoot "$WORK/broker" --Urls= \
        --Kestrel:Endpoints:Http:Url=http://127.0.0.1:4200 \
        --Kestrel:Endpoints:H2c:Url=http://127.0.0.1:4201 --Kestrel:Endpoints:H2c:Protocols=Http2 \
        --Storage:Sqlite:Path="$db" "$@" >> "$OUT/broker.log" 2>&1 &
    BROKER_PID=$!
    wait_for http://127.0.0.1:4200
}

# the reference under the broker's GC settings (runtimeconfig: workstation GC, ConserveMemory 9): 4300 and 4301
start_bare() {
    DOTNET_gcServer=0 DOTNET_GCConserveMemory=9 dotnet "$WORK/bare/WonderQ.BareKestrel.dll" --contentRoot "$WORK/bare" --Urls= \
        --Kestrel:Endpoints:Http:Url=http://127.0.0.1:4300 \
        --Kestrel:Endpoints:H2c:Url=http://127.0.0.1:4301 --Kestrel:Endpoints:H2c:Protocols=Http2 >> "$OUT/bare.log" 2>&1 &
    BARE_PID=$!
    wait_for http://127.0.0.1:4300
}

fresh() {
    stop
    rm -f "$WORK"/q.db*
    start_broker "$WORK/q.db"
    if [ "${1:-}" = bare ]; then start_bare; fi
}

# side_by_side <output name> <h1|h2> <scenario and options>
side_by_side() {
    local name=$1 port=$2
    shift 2
    fresh bare
    local broker=http://127.0.0.1:4200 bare=http://127.0.0.1:4300
    if [ "$port" = h2 ]; then broker=http://127.0.0.1:4201 bare=http://127.0.0.1:4301; fi
    echo "$name: $*"
    $L "$@" --quiet --url $broker --broker-pid $BROKER_PID --url $bare --broker-pid $BARE_PID > "$OUT/$name.txt" 2>&1 || echo "  exit $?"
}

date -u > "$OUT/started.txt"
side_by_side produce h1 produce --warmup 20 --duration 10 --rounds 3 --producers 64
side_by_side produce-h2c h2 produce --warmup 20 --duration 10 --rounds 3 --producers 512 --http2 64
side_by_side cycle h1 cycle --warmup 15 --duration 10 --rounds 3 --batch 10 --producers 128 --consumers 32
side_by_side cycle-h2c h2 cycle --warmup 15 --duration 10 --rounds 3 --batch 10 --producers 128 --consumers 32 --http2 8
side_by_side latency h1 latency --warmup 10 --duration 20 --rounds 3
side_by_side consume h1 consume --warmup 15 --messages 20000 --batch 10 --rounds 3

for run in 1 2 3; do
    echo "burst $run"
    fresh
    $L burst --concurrency 5000 --warm --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/burst-$run.txt" 2>&1 || echo "  exit $?"
done

# idle waiters on cold processes, one at a time: the broker three times, then the reference twice
for run in 1 2 3; do
    echo "idle-waiters $run"
    fresh
    $L idle-waiters --waiters 10000 --duration 45 --rate 50 --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/idle-waiters-$run.txt" 2>&1 || echo "  exit $?"
done
for run in 1 2; do
    echo "idle-waiters, the reference, $run"
    stop
    start_bare
    $L idle-waiters --waiters 10000 --duration 45 --rate 50 --quiet --url http://127.0.0.1:4300 --broker-pid $BARE_PID > "$OUT/idle-waiters-bare-$run.txt" 2>&1 || echo "  exit $?"
done

if command -v sqlite3 > /dev/null; then
    # 1,000,000 messages of 1 KiB, written straight into a stopped broker's file; then its start time and rates
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
    $L produce --warmup 15 --duration 10 --queue backlog --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/backlog-produce.txt" 2>&1 || echo "  exit $?"
    $L consume --warmup 15 --queue backlog --no-fill --messages 50000 --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/backlog-consume.txt" 2>&1 || echo "  exit $?"
    fresh
    $L produce --warmup 15 --duration 10 --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/empty-produce.txt" 2>&1 || echo "  exit $?"
    $L consume --warmup 15 --messages 50000 --quiet --url http://127.0.0.1:4200 --broker-pid $BROKER_PID > "$OUT/empty-consume.txt" 2>&1 || echo "  exit $?"
else
    echo "backlog: skipped (no sqlite3 shell)"
fi

stop
date -u > "$OUT/finished.txt"
echo "results in $OUT"
