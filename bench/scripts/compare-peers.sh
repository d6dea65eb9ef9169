#!/usr/bin/env bash
# compare-peers.sh: the same fio jobs, in one run, against ferry's agent (alone, and
# replicating to a receiver on the same machine) and its peers (qemu-nbd, nbdkit file,
# optionally nbdkit null), each serving the same raw file over a Unix socket and over TCP on
# 127.0.0.1, one server at a time. Prints tables of medians and the ratios ferry/peer; writes
# every run's raw figures to --out (CSV + JSON + fio JSON).
#
# Each measurement starts its server fresh, runs one fio job, stops the server by pid and
# syncs the file. ferry gets a fresh, empty dataDir per measurement (its journal is never
# released without a receiver); the journal's size is recorded and the dataDir deleted.
# ferry-repl also gets a fresh receiver (own dataDir) per measurement; after a write job it
# records the agent's bytesCaptured and bytesShipped and how long the group took to catch up.
#
# Run `bench/scripts/compare-peers.sh --help` for the options.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SUMMARIZE_PY="$SCRIPT_DIR/compare-peers-summary.py"
BENCH_NAME=compare-peers
EXPORT_NAME=vol

ALL_JOBS=(seqwrite randwrite randread)
SERVERS_ARG="ferry,ferry-repl,qemu-nbd,nbdkit"
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
CATCHUP_TIMEOUT_S=30
REPL_RPO=30s
MIN_FREE_GIB=8
KEEP_WORK=0

usage() {
  cat <<EOF
Usage: $(basename "$0") [options]

Runs fio (--ioengine=nbd) against NBD servers that serve the same raw file, one at a time,
and prints per job and transport each server's median figure and the ratios ferry/peer.

  --servers LIST       comma list of: ferry, ferry-repl, qemu-nbd, nbdkit, nbdkit-null
                       (default: $SERVERS_ARG; ferry-repl is the agent replicating to
                       a receiver on this machine; nbdkit-null is the protocol-cost upper bound)
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
  --ferry-bin PATH     the launcher to run as "PATH agent --config Y --pid-file P" (and
                       receiver, cert) from the repo root (default: bin/ferry; also env FERRY_BIN)
  --repl-rpo DURATION  the rpo of ferry-repl's group (default: $REPL_RPO, as ferry's; e.g. 1s)
  --catchup-timeout SECONDS
                       how long ferry-repl may take to catch up after a write job
                       (default: $CATCHUP_TIMEOUT_S)
  --ferry-start-timeout SECONDS
                       how long to wait for the agent to serve NBD (default: $FERRY_START_TIMEOUT_S;
                       the launcher builds the jar once beforehand, via "agent --help")
  --keep-work          keep the work dir (raw file, logs) instead of deleting it
  -h, --help           this text

Servers bind only to 127.0.0.1 (ports taken by binding port 0) and to Unix sockets in the
work dir; every server is stopped by its pid on exit, failure or Ctrl-C.
EOF
}

# shellcheck source-path=SCRIPTDIR source=lib/ferry-bench.sh
. "$SCRIPT_DIR/lib/ferry-bench.sh"

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
    --catchup-timeout) CATCHUP_TIMEOUT_S="${2:?}"; shift 2 ;;
    --repl-rpo) REPL_RPO="${2:?}"; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[[ "$RUNTIME_S" =~ ^[0-9]+$ && "$RUNTIME_S" -gt 0 ]] || die "--runtime must be a positive number of seconds, got '$RUNTIME_S'"
[[ "$RAMP_S" =~ ^[0-9]+$ ]] || die "--ramp-time must be a number of seconds, got '$RAMP_S'"
[[ "$REPEAT" =~ ^[0-9]+$ && "$REPEAT" -gt 0 ]] || die "--repeat must be a positive number, got '$REPEAT'"
[[ "$CATCHUP_TIMEOUT_S" =~ ^[0-9]+$ ]] || die "--catchup-timeout must be a number of seconds, got '$CATCHUP_TIMEOUT_S'"

# --size: accept 1G, 1GiB, 512M, 512MiB, plain bytes.
size_norm="${SIZE_ARG%iB}"; size_norm="${size_norm%B}"
SIZE_BYTES="$(numfmt --from=iec "$size_norm" 2>/dev/null)" || die "--size: cannot parse '$SIZE_ARG'"
(( SIZE_BYTES >= 1048576 && SIZE_BYTES % 1048576 == 0 )) || die "--size must be a positive multiple of 1 MiB, got $SIZE_BYTES bytes"

IFS=, read -r -a SERVERS <<<"$SERVERS_ARG"
IFS=, read -r -a TRANSPORTS <<<"$TRANSPORTS_ARG"
IFS=, read -r -a JOBS <<<"$JOBS_ARG"
for s in "${SERVERS[@]}"; do
  case "$s" in ferry|ferry-repl|qemu-nbd|nbdkit|nbdkit-null) ;; *) die "unknown server '$s' (ferry, ferry-repl, qemu-nbd, nbdkit, nbdkit-null)" ;; esac
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

is_ferry() { [[ "$1" == ferry || "$1" == ferry-repl || ( -n "$FERRY_ALT_NAME" && "$1" == "$FERRY_ALT_NAME" ) ]]; }

need=(fio nbdinfo python3 numfmt curl setsid)
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

# ---------------------------------------------------------------- servers

# start_server NAME TRANSPORT TAG: starts NAME serving RAW_FILE, waits until an NBD client
# can connect (ferry-repl: and its agent is connected to its receiver), and sets SERVER_URI,
# SERVER_LOG and, for ferry, FERRY_DATA_DIR, FERRY_API and FERRY_TOKEN (ferry-repl: RECEIVER_*).
start_server() {
  local name="$1" transport="$2" tag="$3"
  local sock="$WORK/run/$tag.sock" port pidfile="$WORK/run/$tag.pid" timeout="$PEER_START_TIMEOUT_S"
  local listen=()
  SERVER_LOG="$WORK/logs/$tag.log"
  FERRY_DATA_DIR=""; FERRY_API=""; FERRY_TOKEN=""; RECEIVER_DATA_DIR=""; RECEIVER_LOG=""
  rm -f "$sock" "$pidfile"
  port="$(free_port)"
  if [[ "$transport" == unix ]]; then
    SERVER_URI="nbd+unix:///$EXPORT_NAME?socket=$sock"
  else
    SERVER_URI="nbd://127.0.0.1:$port/$EXPORT_NAME"
  fi

  case "$name" in
    qemu-nbd)
      PID_FILES+=("$pidfile")
      if [[ "$transport" == unix ]]; then listen=(-k "$sock"); else listen=(-b 127.0.0.1 -p "$port"); fi
      qemu-nbd -f raw -t -x "$EXPORT_NAME" --pid-file="$pidfile" "${listen[@]}" "$RAW_FILE" \
        >"$SERVER_LOG" 2>&1 &
      ;;
    nbdkit|nbdkit-null)
      PID_FILES+=("$pidfile")
      if [[ "$transport" == unix ]]; then listen=(-U "$sock"); else listen=(-i 127.0.0.1 -p "$port"); fi
      if [[ "$name" == nbdkit ]]; then
        nbdkit -f -P "$pidfile" "${listen[@]}" file "$RAW_FILE" >"$SERVER_LOG" 2>&1 &
      else
        nbdkit -f -P "$pidfile" "${listen[@]}" null "$SIZE_BYTES" >"$SERVER_LOG" 2>&1 &
      fi
      ;;
    *)  # ferry, ferry-repl, ferry-jdkNN: the agent serves TCP and the socket at once; the URI picks one
      FERRY_DATA_DIR="$WORK/run/$tag-data"
      FERRY_API="127.0.0.1:$(free_port)"
      FERRY_TOKEN="$FERRY_DATA_DIR/api.token"
      rm -rf "$FERRY_DATA_DIR"; mkdir -p "$FERRY_DATA_DIR"
      local yaml="$WORK/run/$tag-agent.yaml"
      timeout="$FERRY_START_TIMEOUT_S"
      if [[ "$name" == ferry-repl ]]; then
        # the receiver first, with its own fresh dataDir; stop_all stops the agent before it
        start_receiver "$tag" "$CERT_DIR" || return 1
        agent_yaml "$yaml" "$FERRY_DATA_DIR" "$port" "$sock" "${FERRY_API##*:}" "$RAW_FILE" "$SIZE_BYTES" \
          "$REPL_RPO" "$RECEIVER_ADDR" "$CERT_DIR"
      else
        agent_yaml "$yaml" "$FERRY_DATA_DIR" "$port" "$sock" "${FERRY_API##*:}" "$RAW_FILE" "$SIZE_BYTES" 30s
      fi
      PID_FILES+=("$pidfile")
      if [[ "$name" == ferry || "$name" == ferry-repl ]]; then
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
  if [[ "$name" == ferry-repl ]]; then
    wait_agent_connected "$FERRY_API" "$FERRY_TOKEN" "$FERRY_START_TIMEOUT_S" || return 1
  fi
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

# The launcher builds the jar when it is missing or stale: build once before any timing, then run
# every daemon from a snapshot (lib/ferry-bench.sh, ferry_snapshot) so that all repeats measure
# the same build. ferry-repl's certificates are made once per run, from that snapshot.
FERRY_RUN_BIN="$FERRY_BIN"
CERT_DIR="$WORK/certs"
ferry_default=0; ferry_alt=0; ferry_repl=0
for s in "${SERVERS[@]}"; do
  case "$s" in
    ferry) ferry_default=1 ;;
    ferry-repl) ferry_default=1; ferry_repl=1 ;;
    *) is_ferry "$s" && ferry_alt=1 ;;
  esac
done
hint="leave ferry out with --servers qemu-nbd,nbdkit"
(( ferry_default )) && { ferry_preflight ferry "" agent || die "$hint"; }
(( ferry_repl )) && { ferry_preflight ferry-repl "" receiver || die "$hint"; }
(( ferry_alt )) && { ferry_preflight "$FERRY_ALT_NAME" "$FERRY_JAVA" agent || die "$hint"; }
if (( ferry_default || ferry_alt )); then
  if (( ferry_repl )); then ferry_snapshot agent receiver; else ferry_snapshot agent; fi
fi
if (( ferry_repl )); then
  make_certs "$CERT_DIR"
  echo "repl_rpo=$REPL_RPO" >>"$FACTS"
  echo "catchup_timeout_s=$CATCHUP_TIMEOUT_S" >>"$FACTS"
fi

check_free_space
layout_file

echo "job,transport,server,repeat,status,unit,value,mb_per_s,iops,lat_p99_us,journal_bytes,caught_up,catchup_s,bytes_captured,bytes_shipped,fio_json" >"$RUNS_CSV"
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
        repl=",,,"   # caught_up,catchup_s,bytes_captured,bytes_shipped (ferry-repl write jobs)
        if start_server "$server" "$transport" "$tag"; then
          if ! fio --name="$job" --ioengine=nbd --uri="$SERVER_URI" --size="$SIZE_BYTES" \
              --time_based --runtime="$RUNTIME_S" --ramp_time="$RAMP_S" \
              "${job_args[@]}" --output-format=json >"$json" 2>"$WORK/logs/$tag.fio.err"; then
            status=fio-failed
            echo "compare-peers: fio failed against $server ($transport):" >&2
            tail -n 5 "$WORK/logs/$tag.fio.err" >&2 || true
          elif [[ "$server" == ferry-repl && "$job" != randread ]]; then
            # from fio's exit until the receiver has acknowledged every captured write
            wait_caught_up "$FERRY_API" "$FERRY_TOKEN" "$CATCHUP_TIMEOUT_S" "$WORK/logs/$tag.catchup.tsv"
            captured="$(json_field "$LAST_STATUS" bytesCaptured)" || captured=""
            shipped="$(json_field "$LAST_STATUS" bytesShipped)" || shipped=""
            repl="$CAUGHT_UP,$([[ "$CAUGHT_UP" == yes ]] && echo "$CATCHUP_S"),$captured,$shipped"
            echo "$LAST_STATUS" >"$OUT_DIR/logs/$tag.agent-status.json"
          fi
        else
          status="server-failed"
        fi
        stop_all
        # keep the servers' logs and fio's stderr beside the results (small; the work dir goes)
        cp "$SERVER_LOG" "$OUT_DIR/logs/$tag.server.log" 2>/dev/null || true
        [[ -n "$RECEIVER_LOG" ]] && cp "$RECEIVER_LOG" "$OUT_DIR/logs/$tag.receiver.log" 2>/dev/null
        [[ -n "$RECEIVER_DATA_DIR" ]] && rm -rf "$RECEIVER_DATA_DIR"
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
        echo "$job,$transport,$server,$rep,$status,$fig,$journal_bytes,$repl,fio/$tag.json" >>"$RUNS_CSV"
        if [[ "$status" == ok ]]; then
          IFS=, read -r unit value _ _ p99 <<<"$fig"
          IFS=, read -r caught_up catchup_s captured shipped <<<"$repl"
          repl_note=""
          if [[ -n "$caught_up" ]]; then
            repl_note=", caught up: $caught_up${catchup_s:+ in ${catchup_s}s}"
            [[ -n "$captured" && -n "$shipped" && "$shipped" != 0 ]] &&
              repl_note+=", captured $((captured / 1048576)) MiB shipped $((shipped / 1048576)) MiB"
          fi
          echo "$value $unit, p99 ${p99} us${journal_bytes:+, journal $((journal_bytes / 1048576)) MiB}$repl_note" >&2
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
