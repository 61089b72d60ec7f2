#!/usr/bin/env bash
# Builds WonderQ once, then runs the broker, the dev tool and the user app (by default on 3213, 3210 and 3000, from
# each app's appsettings.json) from the build output. Every log line is prefixed with its app's name; Ctrl-C stops
# all three and waits until they are gone.
# The database is data/wonderq.db under the repository root; Storage__Sqlite__Path=... ./run.sh puts it elsewhere, a
# relative path taken from the directory you run this script in (not the broker's build output, its content root).
set -euo pipefail

# Passed on to all three apps, --urls would have them fight for one port; passed to none, a setting would be ignored
# without a word.
if (( $# > 0 )); then
    echo "run.sh takes no arguments: set an app's settings in its appsettings.json or as environment variables, which each app reads (Storage__Sqlite__Path=mydata/q.db ./run.sh), or start that app yourself (README, \"Configuration\")." >&2
    exit 2
fi

caller="$PWD"
cd "$(dirname "$0")"
root="$PWD"
config=Release
framework=net10.0

# One log line per event reads best behind a prefix.
export Logging__Console__FormatterName=simple
export Logging__Console__FormatterOptions__SingleLine=true

names=()
pids=()
prefixers=()

# Writes each line it reads with the app's name in front, as soon as it is read.
prefix() {
    local name=$1 line
    # Ctrl-C, and a closed terminal's SIGHUP, reach the whole process group: keep forwarding until the app's last line
    # (its shutdown log). Ignored since the fork (in start), they stay ignored in perl.
    # bash reads a pipe a byte per system call, half a second for each 256 KiB body the user app logs; perl reads it
    # in blocks and still writes each line as soon as it is whole.
    if command -v perl > /dev/null; then
        exec perl -lpe 'BEGIN { $| = 1; $p = "[" . shift(@ARGV) . "] " } $_ = $p . $_' "$name"
    fi
    while IFS= read -r line || [[ -n $line ]]; do
        printf '[%s] %s\n' "$name" "$line"
    done
}

# start NAME FOLDER ASSEMBLY [ARGS...]: runs the app's dll with its build output as the content root (so its
# appsettings.json applies) and the repository root as the working directory.
start() {
    local name=$1 folder=$2 assembly=$3
    shift 3
    local out="$root/$folder/bin/$config/$framework"
    # The prefixer is the script's own child, not the app's, so that a stop can wait until it has written the app's last
    # lines; the app's own pid goes into $!, so it can be stopped directly. Forked with Ctrl-C ignored, it never sees
    # one: set aside only once it ran, a Ctrl-C just after the start killed it with the app's lines unread. (A Ctrl-C in
    # the instant of the fork is dropped; the next one stops all.)
    trap '' INT HUP
    exec 3> >(prefix "$name")
    prefixers+=("$!")
    trap 'stop_all; exit 130' INT
    trap 'stop_all; exit 129' HUP
    dotnet "$out/$assembly.dll" --contentRoot "$out" "$@" >&3 2>&1 3>&- &
    exec 3>&-
    names+=("$name")
    pids+=("$!")
}

# wait_until_gone <tenths of a second> <pid>...: returns once none of them runs, or when the time is up.
wait_until_gone() {
    local tenths=$1 pid alive
    shift
    while (( tenths-- > 0 )); do
        alive=0
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        (( alive == 0 )) && return 0
        sleep 0.1
    done
}

stopping=0
stop_all() {
    [[ $stopping == 1 ]] && return
    stopping=1
    # A second Ctrl-C (or a TERM, or a hangup) waits for this stop instead of ending the script with the apps half stopped.
    trap '' INT TERM HUP
    # Held here only between starting an app's prefixer and the app: a Ctrl-C in between would keep that prefixer waiting.
    exec 3>&-
    # The shell's own list of its apps, not $pids: a Ctrl-C just after an app starts runs this before its pid is noted.
    local running pid
    running=$(jobs -p)
    [[ -n $running ]] || return 0
    echo "Stopping WonderQ..."
    # Background jobs of a script ignore SIGINT, so each app is asked to stop with SIGTERM (a graceful shutdown).
    for pid in $running; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait_until_gone 100 $running
    for pid in $running; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # The apps alone: a plain wait waits for the prefixers too, for as long as a child an app left running holds a pipe.
    wait $running 2>/dev/null || true
    # The apps' last lines (their shutdown logs) may still be in the pipes, or half written: each prefixer ends once it
    # has written them out, and only then is it said. A child an app left running still holds its pipe, so not forever.
    wait_until_gone 50 "${prefixers[@]}"
    echo "WonderQ stopped."
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
# A closed terminal: the apps stop on their own SIGHUP as on Ctrl-C, and this waits for them.
trap 'stop_all; exit 129' HUP
trap 'stop_all' EXIT

# After the traps: dotnet build handles a Ctrl-C itself and may still exit 0, after which the apps must not start.
# The three apps alone: building the solution's test projects too made a first start take a minute or more, not half of one.
echo "Building WonderQ ($config)..."
# What a build says is shown only when it fails: three "Build succeeded" summaries said nothing.
for project in Broker/WonderQ.Broker.csproj DevTool/WonderQ.DevTool.csproj UserApp/WonderQ.UserApp.csproj; do
    built=$(dotnet build "$project" -c "$config" --nologo -v quiet 2>&1) || { status=$?; printf '%s\n' "$built"; exit "$status"; }
done

database=${Storage__Sqlite__Path:-$root/data/wonderq.db}
# Taken from where you run this, unless absolute; SQLite's :memory: and file: URIs go to the broker as given, to be refused.
[[ $database == /* || $database == :memory: || $database == file:* ]] || database="$caller/$database"
start broker Broker WonderQ.Broker --Storage:Sqlite:Path="$database"
if [[ -d DevTool ]]; then
    start devtool DevTool WonderQ.DevTool
fi
start userapp UserApp WonderQ.UserApp

# Not the addresses: they come from each app's appsettings.json or the environment, and only the apps know them.
echo "WonderQ is starting: each app logs the address it listens on ('Now listening on: ...'). Ctrl-C stops all."

# Runs until Ctrl-C, or until one app exits on its own (a port already in use, say): then the others stop too.
while true; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            status=0
            wait "${pids[$i]}" || status=$?
            echo "[${names[$i]}] exited with status $status; stopping the others."
            stop_all
            exit 1
        fi
    done
    sleep 1
done
