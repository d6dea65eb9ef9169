#!/usr/bin/env bash
# compare-peers.sh: the same fio jobs, in one run, against ferry's agent and its peers
# (qemu-nbd, nbdkit file, optionally nbdkit null), each serving the same raw file over a
# Unix socket and over TCP on 127.0.0.1, one server at a time. Prints a table of medians
# and the ratios ferry/peer; writes every run's raw figures to --out (CSV + JSON + fio JSON).
#
# Each measurement starts its server fresh, runs one fio job, stops the server by pid and
# syncs the file. ferry gets a fresh, empty dataDir per measurement (its journal is never
# released without a receiver); the journal's size is recorded and the dataDir deleted.
#
# Run `bench/scripts/compare-peers.sh --help` for the options.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SUMMARIZE_PY="$SCRIPT_DIR/compare-peers-summary.py"
EXPORT_NAME=vol

ALL_JOBS=(seqwrite randwrite randread)
SERVERS_ARG="ferry,qemu-nbd,nbdkit"
TRANSPORTS_ARG="unix,tcp"
JOBS_ARG="seqwrite,randwrite,randread"
RUNTIME_S=10
RAMP_S=2
REPEAT=3
SIZE_ARG=1G
OUT_DIR=""
FERRY_JAVA=""
FERRY_BIN="${FERRY_BIN:-$REPO_ROOT/bin/ferry}"
FERRY_START_TIMEOUT_S=60
FERRY_BUILD_TIMEOUT_S=900
PEER_START_TIMEOUT_S=30
STOP_TIMEOUT_S=15
MIN_FREE_GIB=8
KEEP_WORK=0

usage() {
  cat <<EOF
Usage: $(basename "$0") [options]

Runs fio (--ioengine=nbd) against NBD servers that serve the same raw file, one at a time,
and prints per job and transport each server's median figure and the ratios ferry/peer.

  --servers LIST       comma list of: ferry, qemu-nbd, nbdkit, nbdkit-null
                       (default: $SERVERS_ARG; nbdkit-null is the protocol-cost upper bound)
  --transports LIST    unix,tcp (default: $TRANSPORTS_ARG)
  --jobs LIST          seqwrite (1 MiB QD8), randwrite (4 KiB QD32), randread (4 KiB QD32)
                       (default: $JOBS_ARG)
  --runtime SECONDS    fio --runtime of each measurement (default: $RUNTIME_S)
  --ramp-time SECONDS  fio --ramp_time, not counted (default: $RAMP_S)
  --repeat N           measurements per job, transport and server; the median is reported
                       (default: $REPEAT)
  --size SIZE          size of the raw file, e.g. 1G, 512M, 268435456 (default: $SIZE_ARG)
  --out DIR            where results go (default: a new temp dir, printed at the end)
  --ferry-java DIR     also run the agent under the JDK in DIR (JAVA_HOME), as a server
                       named ferry-jdkNN, beside ferry on the default JDK
  --ferry-bin PATH     the launcher to run as "PATH agent --config Y --pid-file P" from the
                       repo root (default: bin/ferry; also env FERRY_BIN)
  --ferry-start-timeout SECONDS
                       how long to wait for the agent to serve NBD (default: $FERRY_START_TIMEOUT_S;
                       the launcher builds the jar once beforehand, via "agent --help")
  --keep-work          keep the work dir (raw file, logs) instead of deleting it
  -h, --help           this text

Servers bind only to 127.0.0.1 (ports taken by binding port 0) and to Unix sockets in the
work dir; every server is stopped by its pid on exit, failure or Ctrl-C.
EOF
}

die() { echo "compare-peers: $*" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --servers) SERVERS_ARG="${2:?}"; shift 2 ;;
    --transports) TRANSPORTS_ARG="${2:?}"; shift 2 ;;
    --jobs) JOBS_ARG="${2:?}"; shift 2 ;;
    --runtime) RUNTIME_S="${2:?}"; shift 2 ;;
    --ramp-time|--ramp_time) RAMP_S="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --size) SIZE_ARG="${2:?}"; shift 2 ;;
    --out) OUT_DIR="${2:?}"; shift 2 ;;
    --ferry-java) FERRY_JAVA="${2:?}"; shift 2 ;;
    --ferry-bin) FERRY_BIN="${2:?}"; shift 2 ;;
    --ferry-start-timeout) FERRY_START_TIMEOUT_S="${2:?}"; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[[ "$RUNTIME_S" =~ ^[0-9]+$ && "$RUNTIME_S" -gt 0 ]] || die "--runtime must be a positive number of seconds, got '$RUNTIME_S'"
[[ "$RAMP_S" =~ ^[0-9]+$ ]] || die "--ramp-time must be a number of seconds, got '$RAMP_S'"
[[ "$REPEAT" =~ ^[0-9]+$ && "$REPEAT" -gt 0 ]] || die "--repeat must be a positive number, got '$REPEAT'"

# --size: accept 1G, 1GiB, 512M, 512MiB, plain bytes.
size_norm="${SIZE_ARG%iB}"; size_norm="${size_norm%B}"
SIZE_BYTES="$(numfmt --from=iec "$size_norm" 2>/dev/null)" || die "--size: cannot parse '$SIZE_ARG'"
(( SIZE_BYTES >= 1048576 && SIZE_BYTES % 1048576 == 0 )) || die "--size must be a positive multiple of 1 MiB, got $SIZE_BYTES bytes"

IFS=, read -r -a SERVERS <<<"$SERVERS_ARG"
IFS=, read -r -a TRANSPORTS <<<"$TRANSPORTS_ARG"
IFS=, read -r -a JOBS <<<"$JOBS_ARG"
for s in "${SERVERS[@]}"; do
  case "$s" in ferry|qemu-nbd|nbdkit|nbdkit-null) ;; *) die "unknown server '$s' (ferry, qemu-nbd, nbdkit, nbdkit-null)" ;; esac
done
for t in "${TRANSPORTS[@]}"; do
  case "$t" in unix|tcp) ;; *) die "unknown transport '$t' (unix, tcp)" ;; esac
done
for j in "${JOBS[@]}"; do
  case " ${ALL_JOBS[*]} " in *" $j "*) ;; *) die "unknown job '$j' (${ALL_JOBS[*]})" ;; esac
done

FERRY_ALT_NAME=""
if [[ -n "$FERRY_JAVA" ]]; then
  [[ -x "$FERRY_JAVA/bin/java" ]] || die "--ferry-java: no $FERRY_JAVA/bin/java"
  alt_major="$("$FERRY_JAVA/bin/java" -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {print $2; exit}')"
  FERRY_ALT_NAME="ferry-jdk${alt_major:-alt}"
  SERVERS+=("$FERRY_ALT_NAME")
fi

is_ferry() { [[ "$1" == ferry || ( -n "$FERRY_ALT_NAME" && "$1" == "$FERRY_ALT_NAME" ) ]]; }

need=(fio nbdinfo python3 numfmt)
for s in "${SERVERS[@]}"; do
  case "$s" in
    qemu-nbd) need+=(qemu-nbd) ;;
    nbdkit|nbdkit-null) need+=(nbdkit) ;;
  esac
done
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH (apt-get install -y fio qemu-utils libnbd-bin nbdkit)"
done
for s in "${SERVERS[@]}"; do
  if is_ferry "$s"; then
    [[ -x "$FERRY_BIN" ]] || die "server $s needs the launcher $FERRY_BIN (not there yet?)"
  fi
done

# ---------------------------------------------------------------- work dir, process hygiene

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")"
if [[ -z "$OUT_DIR" ]]; then
  OUT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-out.XXXXXX")"
fi
mkdir -p "$OUT_DIR/fio" "$OUT_DIR/logs" "$WORK/logs" "$WORK/run"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
RAW_FILE="$WORK/disk.raw"
RUNS_CSV="$OUT_DIR/runs.csv"

# Every process we started, by pid, plus pid files that may name more (the agent's JVM).
STARTED_PIDS=()
PID_FILES=()
STARTED_GROUPS=()   # process groups we created with setsid (the launcher's build)

alive() {  # a pid that exists and is not a zombie
  local st
  [[ -r "/proc/$1/stat" ]] || return 1
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z ]]
}

stop_pid() {
  local pid="$1" waited=0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && (( waited < STOP_TIMEOUT_S * 10 )); do sleep 0.1; waited=$((waited + 1)); done
    if alive "$pid"; then
      echo "compare-peers: pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true   # reaps our own children; a no-op for others
}

group_alive() {  # any live (non-zombie) process in process group $1
  local f line rest
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest="${line##*) }"                      # after "pid (comm) ": state ppid pgrp ...
    read -r st _ pg _ <<<"$rest"
    [[ "$pg" == "$1" && "$st" != Z ]] && return 0
  done
  return 1
}

stop_group() {  # the process group we created with setsid, led by pid $1
  local pgid="$1" waited=0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  while group_alive "$pgid" && (( waited < STOP_TIMEOUT_S * 10 )); do sleep 0.1; waited=$((waited + 1)); done
  group_alive "$pgid" && kill -KILL -- "-$pgid" 2>/dev/null
  wait "$pgid" 2>/dev/null || true
}

stop_all() {
  local f pid
  for pid in ${STARTED_GROUPS[@]+"${STARTED_GROUPS[@]}"}; do stop_group "$pid"; done
  STARTED_GROUPS=()
  for f in ${PID_FILES[@]+"${PID_FILES[@]}"}; do
    [[ -s "$f" ]] && { pid="$(tr -dc '0-9' <"$f")"; stop_pid "$pid"; }
    rm -f "$f"
  done
  for pid in ${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}; do stop_pid "$pid"; done
  STARTED_PIDS=()
  PID_FILES=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_all
  if (( KEEP_WORK )); then
    echo "compare-peers: work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "compare-peers: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM HUP

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- servers

# start_server NAME TRANSPORT TAG: starts NAME serving RAW_FILE, waits until an NBD client
# can connect, and sets SERVER_URI, SERVER_LOG and (for ferry) FERRY_DATA_DIR.
start_server() {
  local name="$1" transport="$2" tag="$3"
  local sock="$WORK/run/$tag.sock" port pidfile="$WORK/run/$tag.pid" timeout="$PEER_START_TIMEOUT_S"
  local listen=()
  SERVER_LOG="$WORK/logs/$tag.log"
  FERRY_DATA_DIR=""
  rm -f "$sock" "$pidfile"
  port="$(free_port)"
  if [[ "$transport" == unix ]]; then
    SERVER_URI="nbd+unix:///$EXPORT_NAME?socket=$sock"
  else
    SERVER_URI="nbd://127.0.0.1:$port/$EXPORT_NAME"
  fi

  PID_FILES+=("$pidfile")
  case "$name" in
    qemu-nbd)
      if [[ "$transport" == unix ]]; then listen=(-k "$sock"); else listen=(-b 127.0.0.1 -p "$port"); fi
      qemu-nbd -f raw -t -x "$EXPORT_NAME" --pid-file="$pidfile" "${listen[@]}" "$RAW_FILE" \
        >"$SERVER_LOG" 2>&1 &
      ;;
    nbdkit|nbdkit-null)
      if [[ "$transport" == unix ]]; then listen=(-U "$sock"); else listen=(-i 127.0.0.1 -p "$port"); fi
      if [[ "$name" == nbdkit ]]; then
        nbdkit -f -P "$pidfile" "${listen[@]}" file "$RAW_FILE" >"$SERVER_LOG" 2>&1 &
      else
        nbdkit -f -P "$pidfile" "${listen[@]}" null "$SIZE_BYTES" >"$SERVER_LOG" 2>&1 &
      fi
      ;;
    *)  # ferry, ferry-jdkNN: the agent serves TCP and the socket at once; the URI picks one
      FERRY_DATA_DIR="$WORK/run/$tag-data"
      rm -rf "$FERRY_DATA_DIR"; mkdir -p "$FERRY_DATA_DIR"
      local yaml="$WORK/run/$tag-agent.yaml"
      cat >"$yaml" <<EOF
id: bench
dataDir: $FERRY_DATA_DIR
nbd:
  listen: 127.0.0.1:$port
  socket: $sock
groups:
  - name: bench
    rpo: 30s
    volumes:
      - name: $EXPORT_NAME
        path: $RAW_FILE
        size: $SIZE_BYTES
EOF
      timeout="$FERRY_START_TIMEOUT_S"
      if [[ "$name" == ferry ]]; then
        env -C "$REPO_ROOT" "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$pidfile" >"$SERVER_LOG" 2>&1 &
      else
        env -C "$REPO_ROOT" JAVA_HOME="$FERRY_JAVA" PATH="$FERRY_JAVA/bin:$PATH" \
          "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$pidfile" >"$SERVER_LOG" 2>&1 &
      fi
      ;;
  esac
  local pid=$!
  STARTED_PIDS+=("$pid")

  local deadline=$((SECONDS + timeout))
  until nbdinfo --size "$SERVER_URI" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      echo "compare-peers: $name ($transport) exited before serving NBD; last lines of $SERVER_LOG:" >&2
      tail -n 20 "$SERVER_LOG" >&2 || true
      return 1
    fi
    if (( SECONDS >= deadline )); then
      echo "compare-peers: $name ($transport) not serving $SERVER_URI after ${timeout}s; last lines of $SERVER_LOG:" >&2
      tail -n 20 "$SERVER_LOG" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- fio

fio_job_args() {
  local job="$1"
  local write_bufs=(--buffer_compress_percentage=50 --refill_buffers)
  case "$job" in
    seqwrite) echo --rw=write --bs=1M --iodepth=8 "${write_bufs[@]}" ;;
    randwrite) echo --rw=randwrite --bs=4k --iodepth=32 "${write_bufs[@]}" ;;
    randread) echo --rw=randread --bs=4k --iodepth=32 ;;
  esac
}

# Lays the file out fully (real, half-compressible data) so that reads hit data.
layout_file() {
  echo "compare-peers: laying out $RAW_FILE ($SIZE_BYTES bytes)" >&2
  fio --name=layout --ioengine=psync --filename="$RAW_FILE" --rw=write --bs=1M \
    --size="$SIZE_BYTES" --buffer_compress_percentage=50 --refill_buffers --end_fsync=1 \
    --output="$WORK/logs/layout.txt" >/dev/null
}

check_free_space() {
  local avail_kib
  avail_kib="$(df -Pk "$WORK" | awk 'NR==2 {print $4}')"
  if (( avail_kib < MIN_FREE_GIB * 1024 * 1024 )); then
    die "only $((avail_kib / 1024)) MiB free under $WORK (ferry's journal needs room); need ${MIN_FREE_GIB} GiB"
  fi
}

# ---------------------------------------------------------------- machine facts

FACTS="$OUT_DIR/machine.txt"
java_version() { "$1" -version 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(hostname)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "mem_total=$(awk '/^MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "java=$(java_version "${JAVA_HOME:+$JAVA_HOME/bin/}java" 2>/dev/null || echo none)"
  [[ -n "$FERRY_JAVA" ]] && echo "java_$FERRY_ALT_NAME=$(java_version "$FERRY_JAVA/bin/java")"
  echo "fio=$(fio --version)"
  command -v qemu-nbd >/dev/null && echo "qemu-nbd=$(qemu-nbd --version | head -n 1)"
  command -v nbdkit >/dev/null && echo "nbdkit=$(nbdkit --version)"
  echo "libnbd=$(nbdinfo --version 2>&1 | head -n 1)"
  echo "filesystem=$(df -PT "$WORK" | awk 'NR==2 {print $2 " on " $1}')"
  echo "git=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "servers=${SERVERS[*]}"
  echo "transports=${TRANSPORTS[*]}"
  echo "jobs=${JOBS[*]}"
  echo "size_bytes=$SIZE_BYTES"
  echo "runtime_s=$RUNTIME_S"
  echo "ramp_time_s=$RAMP_S"
  echo "repeat=$REPEAT"
} >"$FACTS"

# ---------------------------------------------------------------- main loop

# The launcher builds the jar when it is missing or stale. Build once before any timing, then
# run every measurement from a snapshot (the launcher, bin/jvm-flags, pom.xml and the jar
# copied into the work dir): all repeats measure the same build, and sources that others
# edit during the run neither trigger a rebuild nor break an agent start.
FERRY_RUN_BIN="$FERRY_BIN"

launcher_help() {  # launcher_help BIN SERVER_NAME LOG: "BIN agent --help", in its own process group
  local bin="$1" name="$2" log="$3" env_args=()
  [[ "$name" != ferry ]] && env_args=(JAVA_HOME="$FERRY_JAVA" PATH="$FERRY_JAVA/bin:$PATH")
  # setsid: a Ctrl-C stops the launcher's Maven build too (stop_group)
  setsid env -C "$REPO_ROOT" ${env_args[@]+"${env_args[@]}"} "$bin" agent --help >"$log" 2>&1 &
  local pid=$! rc=0 deadline=$((SECONDS + FERRY_BUILD_TIMEOUT_S))
  STARTED_GROUPS+=("$pid")
  while alive "$pid" && (( SECONDS < deadline )); do sleep 0.5; done
  if alive "$pid"; then
    rc=124
    echo "compare-peers: $bin did not finish in ${FERRY_BUILD_TIMEOUT_S}s" >&2
  else
    wait "$pid" || rc=$?
  fi
  stop_all
  return "$rc"
}

ferry_preflight() {
  local name="$1" log="$WORK/logs/ferry-preflight-$1.log" attempt
  for attempt in 1 2 3; do   # a build can collide with another build in the same tree: retry
    echo "compare-peers: checking the launcher for $name ($FERRY_BIN agent --help; may build the jar)" >&2
    launcher_help "$FERRY_BIN" "$name" "$log" && return 0
    tail -n 15 "$log" >&2 || true
    (( attempt < 3 )) && sleep 5
  done
  die "the launcher fails for $name (log above); leave it out with --servers qemu-nbd,nbdkit"
}

ferry_snapshot() {
  local snap="$WORK/ferry-snapshot" jar="$REPO_ROOT/bench/target/ferry.jar"
  [[ "$(readlink -f "$FERRY_BIN")" == "$(readlink -f "$REPO_ROOT/bin/ferry")" && -f "$jar" ]] || return 0
  mkdir -p "$snap/bin" "$snap/bench/target"
  cp "$REPO_ROOT/bin/ferry" "$REPO_ROOT/bin/jvm-flags" "$snap/bin/"
  cp "$REPO_ROOT/pom.xml" "$snap/"
  cp "$jar" "$snap/bench/target/ferry.jar"
  touch "$snap/bench/target/ferry.jar"
  if launcher_help "$snap/bin/ferry" ferry "$WORK/logs/ferry-snapshot.log"; then
    FERRY_RUN_BIN="$snap/bin/ferry"
    echo "ferry_jar=$(date -u -r "$jar" +%Y-%m-%dT%H:%M:%SZ) sha256:$(sha256sum "$snap/bench/target/ferry.jar" | cut -c1-12)" >>"$FACTS"
    echo "compare-peers: agent runs from a snapshot of $jar" >&2
  else
    tail -n 15 "$WORK/logs/ferry-snapshot.log" >&2 || true
    die "the snapshot of $jar does not run (rebuilt while copied?); try again"
  fi
}

ferry_wanted=0
for s in "${SERVERS[@]}"; do
  if is_ferry "$s"; then ferry_preflight "$s"; ferry_wanted=1; fi
done
(( ferry_wanted )) && ferry_snapshot

check_free_space
layout_file

echo "job,transport,server,repeat,status,unit,value,mb_per_s,iops,lat_p99_us,journal_bytes,fio_json" >"$RUNS_CSV"
total=$(( ${#JOBS[@]} * ${#TRANSPORTS[@]} * REPEAT * ${#SERVERS[@]} ))
n=0
for job in "${JOBS[@]}"; do
  read -r -a job_args <<<"$(fio_job_args "$job")"
  for transport in "${TRANSPORTS[@]}"; do
    for ((rep = 1; rep <= REPEAT; rep++)); do
      # servers interleaved within each repeat so that drift hits them all alike
      for server in "${SERVERS[@]}"; do
        n=$((n + 1))
        tag="$job-$transport-$server-$rep"
        json="$OUT_DIR/fio/$tag.json"
        printf 'compare-peers: [%d/%d] %-9s %-4s %-12s repeat %d ... ' "$n" "$total" "$job" "$transport" "$server" "$rep" >&2
        is_ferry "$server" && check_free_space
        status=ok
        journal_bytes=""
        if start_server "$server" "$transport" "$tag"; then
          if ! fio --name="$job" --ioengine=nbd --uri="$SERVER_URI" --size="$SIZE_BYTES" \
              --time_based --runtime="$RUNTIME_S" --ramp_time="$RAMP_S" \
              "${job_args[@]}" --output-format=json >"$json" 2>"$WORK/logs/$tag.fio.err"; then
            status=fio-failed
            echo "compare-peers: fio failed against $server ($transport):" >&2
            tail -n 5 "$WORK/logs/$tag.fio.err" >&2 || true
          fi
        else
          status=server-failed
        fi
        stop_all
        # keep the server's log and fio's stderr beside the results (small; the work dir goes)
        cp "$SERVER_LOG" "$OUT_DIR/logs/$tag.server.log" 2>/dev/null || true
        [[ -s "$WORK/logs/$tag.fio.err" ]] && cp "$WORK/logs/$tag.fio.err" "$OUT_DIR/logs/"
        if [[ -n "$FERRY_DATA_DIR" && -d "$FERRY_DATA_DIR" ]]; then
          [[ "$job" != randread ]] && journal_bytes="$(du -sb "$FERRY_DATA_DIR" | awk '{print $1}')"
          rm -rf "$FERRY_DATA_DIR"
        fi
        sync "$RAW_FILE"   # let the next server start without this one's dirty pages
        if [[ "$status" == ok ]]; then
          fig="$(python3 "$SUMMARIZE_PY" parse-fio "$json" "$job")" || { status=parse-failed; fig=",,,,"; }
        else
          fig=",,,,"
        fi
        echo "$job,$transport,$server,$rep,$status,$fig,$journal_bytes,fio/$tag.json" >>"$RUNS_CSV"
        if [[ "$status" == ok ]]; then
          IFS=, read -r unit value _ _ p99 <<<"$fig"
          echo "$value $unit, p99 ${p99} us${journal_bytes:+, journal $((journal_bytes / 1048576)) MiB}" >&2
        else
          echo "$status" >&2
        fi
      done
    done
  done
done

python3 "$SUMMARIZE_PY" summarize "$OUT_DIR"
echo
echo "Raw results: $OUT_DIR (runs.csv, summary.csv, results.json, machine.txt, fio/*.json)"
