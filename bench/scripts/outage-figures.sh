#!/usr/bin/env bash
# Outage figures, side by side in one run on this machine:
#   1. resync bytes per byte changed: a replicating group, its receiver stopped, fio writes
#      4 KiB random blocks (each block once, incompressible) until the journal folds into the
#      dirty map; the receiver comes back and the resync runs. Reports the data bytes the resync
#      read and sent and the bytes on the wire (compressed deltas, headers) per byte changed, and
#      checks that the replica equals the primary;
#   2. the agent's disk (du of its dataDir: journal, dirty map, activity log, state; blocks
#      allocated and file lengths, and the journal's own count of its bytes) and memory
#      (RSS of its JVM) sampled every 2 s through an outage of --outage-bytes of random writes
#      with journal.maxBytes --max-bytes: bounded by configuration, not by outage length.
# Run `bench/scripts/outage-figures.sh --help` for the options.
set -euo pipefail

BENCH_NAME=outage-figures
REPO_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
FERRY_BIN="${FERRY_BIN:-$REPO_ROOT/bin/ferry}"
RESYNC_SIZE_ARG=1G
RESYNC_WRITES_ARG=256M
RESYNC_MAX_ARG=32MiB
OUTAGE_SIZE_ARG=4G
OUTAGE_BYTES_ARG=20G
OUTAGE_MAX_ARG=1GiB
OUTAGE_BS=4k
OUT_DIR=""
KEEP=0
PARTS=resync,outage

usage() {
  cat <<USAGE
Usage: bench/scripts/outage-figures.sh [options]

  --parts LIST            resync,outage (default: $PARTS)
  --resync-size SIZE      volume of part 1 (default $RESYNC_SIZE_ARG)
  --resync-writes SIZE    4 KiB random writes during part 1's outage, each block once (default $RESYNC_WRITES_ARG)
  --resync-max-bytes SIZE journal.maxBytes of part 1 (default $RESYNC_MAX_ARG)
  --outage-size SIZE      volume of part 2 (default $OUTAGE_SIZE_ARG)
  --outage-bytes SIZE     random writes during part 2's outage (default $OUTAGE_BYTES_ARG)
  --outage-bs SIZE        block size of part 2's writes (default $OUTAGE_BS)
  --max-bytes SIZE        journal.maxBytes of part 2 (default $OUTAGE_MAX_ARG)
  --out DIR               where results go (default: a new temp dir, printed at the end)
  --ferry-bin PATH        the launcher (default: bin/ferry; also env FERRY_BIN)
  --keep-work             keep the work dir (volumes, logs)
Needs: fio, nbdinfo (libnbd-bin), curl, python3, cmp.
USAGE
}

while (( $# )); do
  case "$1" in
    --parts) PARTS="${2:?}"; shift 2 ;;
    --resync-size) RESYNC_SIZE_ARG="${2:?}"; shift 2 ;;
    --resync-writes) RESYNC_WRITES_ARG="${2:?}"; shift 2 ;;
    --resync-max-bytes) RESYNC_MAX_ARG="${2:?}"; shift 2 ;;
    --outage-size) OUTAGE_SIZE_ARG="${2:?}"; shift 2 ;;
    --outage-bytes) OUTAGE_BYTES_ARG="${2:?}"; shift 2 ;;
    --outage-bs) OUTAGE_BS="${2:?}"; shift 2 ;;
    --max-bytes) OUTAGE_MAX_ARG="${2:?}"; shift 2 ;;
    --out) OUT_DIR="${2:?}"; shift 2 ;;
    --ferry-bin) FERRY_BIN="${2:?}"; shift 2 ;;
    --keep-work) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "outage-figures: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in fio curl python3 cmp numfmt; do
  command -v "$tool" >/dev/null || { echo "outage-figures: $tool is missing" >&2; exit 2; }
done
iec() { numfmt --from=iec "${1%iB}"; }
RESYNC_SIZE="$(iec "$RESYNC_SIZE_ARG")"; RESYNC_WRITES="$(iec "$RESYNC_WRITES_ARG")"
OUTAGE_SIZE="$(iec "$OUTAGE_SIZE_ARG")"; OUTAGE_BYTES="$(iec "$OUTAGE_BYTES_ARG")"
# shellcheck source=lib/ferry-bench.sh
source "$REPO_ROOT/bench/scripts/lib/ferry-bench.sh"
bench_workspace outage-figures
py() { /usr/bin/python3 - "$@"; }
ratio() { py "$1" "$2" <<'PY'
import sys; print(f"{int(sys.argv[1]) / max(1, int(sys.argv[2])):.4f}")
PY
}
{ echo "date=$(date -u +%FT%TZ)"; echo "kernel=$(uname -r)"; echo "cpus=$(nproc)";
  echo "mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"; echo "fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')";
  echo "git=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo -)"; } >>"$FACTS"

ferry_preflight ferry "" agent || exit 2
ferry_snapshot agent receiver
CERTS="$WORK/certs"
make_certs "$CERTS"

# start_agent TAG VOLUME SIZE MAX_BYTES RECEIVER_ADDR: an agent with a fresh dataDir serving
# VOLUME on a Unix socket. Sets AGENT_API, AGENT_TOKEN, AGENT_DATA, AGENT_LOG, AGENT_PIDFILE, AGENT_URI.
start_agent() {
  local tag="$1" volume="$2" size="$3" max="$4" receiver="$5" yaml="$WORK/run/$1-agent.yaml" api_port nbd_port
  AGENT_DATA="$WORK/run/$tag-adata"; AGENT_LOG="$WORK/logs/$tag-agent.log"; AGENT_PIDFILE="$WORK/run/$tag-agent.pid"
  local sock="$WORK/run/$tag.sock"
  rm -rf "$AGENT_DATA"; mkdir -p "$AGENT_DATA"
  api_port="$(free_port)"; nbd_port="$(free_port)"
  agent_yaml "$yaml" "$AGENT_DATA" "$nbd_port" "$sock" "$api_port" "$volume" "$size" 30s "$receiver" "$CERTS"
  echo "journal: { maxBytes: $max }" >>"$yaml"
  AGENT_API="127.0.0.1:$api_port"; AGENT_TOKEN="$AGENT_DATA/api.token"
  AGENT_URI="nbd+unix:///vol?socket=$sock"
  PID_FILES+=("$AGENT_PIDFILE")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$AGENT_PIDFILE" >"$AGENT_LOG" 2>&1 &
  STARTED_PIDS+=("$!")
  local deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  until [[ -S "$sock" && -s "$AGENT_TOKEN" ]] && api_get "$AGENT_API" "$AGENT_TOKEN" /v1/status >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { tail -n 20 "$AGENT_LOG" >&2; die "$tag: the agent did not start"; }
    sleep 0.2
  done
}

# restart_receiver TAG: the receiver of TAG again, on its dataDir and yaml.
restart_receiver() {
  local tag="$1" pidfile="$WORK/run/$1-receiver.pid" yaml="$WORK/run/$1-receiver.yaml"
  PID_FILES+=("$pidfile")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" receiver --config "$yaml" --pid-file "$pidfile" >>"$RECEIVER_LOG" 2>&1 &
  local pid=$! deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  STARTED_PIDS+=("$pid")
  until curl -sf -m 2 "http://$RECEIVER_API/healthz" >/dev/null 2>&1; do
    alive "$pid" && (( SECONDS < deadline )) || die "$tag: the receiver did not start again"
    sleep 0.2
  done
}

pid_of() { tr -dc '0-9' <"$1"; }

# ------------------------------------------------------------------ 1. resync bytes per byte changed
if [[ ",$PARTS," == *,resync,* ]]; then
  VOL="$WORK/resync.img"; rm -f "$VOL"; truncate -s "$RESYNC_SIZE" "$VOL"
  start_receiver resync "$CERTS" || die "the receiver did not start"
  start_agent resync "$VOL" "$RESYNC_SIZE" "$RESYNC_MAX_ARG" "$RECEIVER_ADDR"
  wait_agent_connected "$AGENT_API" "$AGENT_TOKEN" 60 || die "resync: the agent did not connect"
  wait_caught_up "$AGENT_API" "$AGENT_TOKEN" 60
  note "resync: stopping the receiver, then $RESYNC_WRITES bytes of 4 KiB random writes"
  stop_pid "$(pid_of "$WORK/run/resync-receiver.pid")"
  fio --name=outage --ioengine=nbd --uri="$AGENT_URI" --rw=randwrite --bs=4k --iodepth=32 \
    --size="$RESYNC_SIZE" --io_size="$RESYNC_WRITES" --refill_buffers --randrepeat=0 --random_generator=tausworthe64 \
    --output-format=json --output="$OUT_DIR/resync-fio.json" >"$WORK/logs/resync-fio.log" 2>&1 \
    || { cat "$WORK/logs/resync-fio.log" >&2; die "resync: fio failed"; }
  json="$(api_get "$AGENT_API" "$AGENT_TOKEN" /v1/status)"
  MODE="$(grep -o '"mode":"[a-z]*"' <<<"$json" | head -1 | cut -d'"' -f4)"
  DIRTY="$(json_field "$json" dirtyBytes)"
  SHIPPED0="$(json_field "$json" bytesShipped)"
  [[ "$MODE" == bitmap ]] || die "resync: the group is in $MODE mode after the outage, not bitmap (raise --resync-writes)"
  note "resync: mode $MODE, $DIRTY bytes dirty; the receiver comes back"
  t0="$(now_us)"
  restart_receiver resync
  deadline=$((SECONDS + 1800))
  until grep -q "resync sync complete" "$AGENT_LOG"; do
    (( SECONDS < deadline )) || die "resync: the resync did not end in 30 minutes"
    sleep 0.2
  done
  wait_caught_up "$AGENT_API" "$AGENT_TOKEN" 120
  RESYNC_S="$(us_to_s $(($(now_us) - t0)))"
  line="$(grep "resync sync complete" "$AGENT_LOG" | tail -1)"
  RESYNC_DATA="$(sed -E 's/.* ([0-9]+) bytes of data and.*/\1/' <<<"$line")"
  json="$(api_get "$AGENT_API" "$AGENT_TOKEN" /v1/status)"
  SHIPPED1="$(json_field "$json" bytesShipped)"
  CAPTURED="$(json_field "$json" capturedSeq)"
  WIRE=$((SHIPPED1 - SHIPPED0))
  # acknowledged is durable, not yet applied: the replica file is compared once the receiver applied it all
  deadline=$((SECONDS + 600))
  until rjson="$(api_get "$RECEIVER_API" "$RECEIVER_TOKEN" /v1/groups/bench 2>/dev/null)" &&
        (( $(json_field "$rjson" appliedSeq) >= CAPTURED )); do
    (( SECONDS < deadline )) || die "resync: the receiver did not apply up to seq $CAPTURED in 10 minutes"
    sleep 0.2
  done
  APPLIED_S="$(us_to_s $(($(now_us) - t0)))"
  stop_all
  REPLICA="$RECEIVER_DATA_DIR/replicas/bench/vol.img"
  cmp -s "$VOL" "$REPLICA" || die "resync: the replica differs from the primary"
  {
    echo "Resync after an outage of 4 KiB random writes (each block once, incompressible), journal.maxBytes $RESYNC_MAX_ARG"
    printf '%-36s %s\n' "volume" "$RESYNC_SIZE bytes" "bytes changed (written once each)" "$RESYNC_WRITES" \
      "dirty map after the outage" "$DIRTY bytes" "resync data read and sent" "$RESYNC_DATA bytes" \
      "on the wire after the reconnect" "$WIRE bytes (LZ4 deltas with headers)" \
      "resync data per byte changed" "$(ratio "$RESYNC_DATA" "$RESYNC_WRITES")" \
      "wire bytes per byte changed" "$(ratio "$WIRE" "$RESYNC_WRITES")" \
      "reconnect to acknowledged" "${RESYNC_S} s" "reconnect to applied" "${APPLIED_S} s" \
      "replica" "identical to the primary (cmp)"
    echo
  } | tee "$OUT_DIR/resync.txt"
  rm -f "$VOL"
fi

# ------------------------------------------------------------------ 2. disk and RSS through a long outage
if [[ ",$PARTS," == *,outage,* ]]; then
  VOL="$WORK/outage.img"; rm -f "$VOL"; truncate -s "$OUTAGE_SIZE" "$VOL"
  # a receiver address nothing listens on: the agent dials it throughout, as in a real outage
  start_agent outage "$VOL" "$OUTAGE_SIZE" "$OUTAGE_MAX_ARG" "127.0.0.1:$(free_port)"
  AGENT_PID="$(pid_of "$AGENT_PIDFILE")"
  SAMPLES="$OUT_DIR/outage-samples.tsv"
  # dataDirBytes: blocks allocated (du -B1; the journal's files are sparse, preallocated by
  # Chronicle block); apparentBytes: their lengths (du -b), which overstate what is used
  printf 'seconds\tbytesCaptured\tdataDirBytes\tapparentBytes\tjournalBytes\trssKiB\tmode\tdirtyBytes\n' >"$SAMPLES"
  sample() {
    local json rss du apparent
    json="$(api_get "$AGENT_API" "$AGENT_TOKEN" /v1/status 2>/dev/null)" || json=""
    rss="$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)" || rss=""
    du="$(du -s -B1 "$AGENT_DATA" 2>/dev/null | cut -f1)" || du=""
    apparent="$(du -sb "$AGENT_DATA" 2>/dev/null | cut -f1)" || apparent=""
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(us_to_s $(($(now_us) - T0)))" "$(json_field "$json" bytesCaptured)" \
      "$du" "$apparent" "$(json_field "$json" journalBytes)" "$rss" \
      "$(grep -o '"mode":"[a-z]*"' <<<"$json" | head -1 | cut -d'"' -f4)" "$(json_field "$json" dirtyBytes)" >>"$SAMPLES"
  }
  T0="$(now_us)"
  sample
  note "outage: $OUTAGE_BYTES bytes of $OUTAGE_BS random writes, journal.maxBytes $OUTAGE_MAX_ARG, receiver unreachable"
  fio --name=outage --ioengine=nbd --uri="$AGENT_URI" --rw=randwrite --bs="$OUTAGE_BS" --iodepth=32 \
    --size="$OUTAGE_SIZE" --io_size="$OUTAGE_BYTES" --norandommap --randrepeat=0 \
    --output-format=json --output="$OUT_DIR/outage-fio.json" >"$WORK/logs/outage-fio.log" 2>&1 &
  FIO_PID=$!
  STARTED_PIDS+=("$FIO_PID")
  while alive "$FIO_PID"; do sample; sleep 2; done
  wait "$FIO_PID" || { cat "$WORK/logs/outage-fio.log" >&2; die "outage: fio failed"; }
  sample
  alive "$AGENT_PID" || die "outage: the agent died (log $AGENT_LOG)"
  stop_all
  WRITTEN="$(py "$OUT_DIR/outage-fio.json" <<'PY'
import json, sys
print(sum(j["write"]["io_bytes"] for j in json.load(open(sys.argv[1]))["jobs"]))
PY
)"
  py "$SAMPLES" "$WRITTEN" "$OUTAGE_MAX_ARG" "$OUTAGE_BS" <<'PY' | tee "$OUT_DIR/outage.txt"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["dataDirBytes"] and r["rssKiB"]]
written, end = int(sys.argv[2]), float(rows[-1]["seconds"])
print(f"Agent disk and memory through an outage of {written / 2**30:.1f} GiB of {sys.argv[4]} random writes"
      f" ({written / end / 1e6:.0f} MB/s), journal.maxBytes {sys.argv[3]}, the receiver unreachable")
print(f"{'seconds':>8} {'dataDir MiB':>12} {'apparent MiB':>13} {'journal MiB':>12} {'RSS MiB':>9} {'mode':>8}"
      f" {'dirty MiB':>10}")
shown = -1
for r in rows:
    tenth = int(float(r["seconds"]) * 10 // max(end, 1e-9))
    if tenth > shown or r is rows[-1]:
        shown = tenth
        print(f"{float(r['seconds']):>8.1f} {int(r['dataDirBytes']) / 2**20:>12.1f} {int(r['apparentBytes'] or 0) / 2**20:>13.1f}"
              f" {int(r['journalBytes'] or 0) / 2**20:>12.1f} {int(r['rssKiB']) / 1024:>9.1f} {r['mode']:>8}"
              f" {int(r['dirtyBytes'] or 0) / 2**20:>10.1f}")
def peak(rs, key): return max(int(r[key] or 0) for r in rs) if rs else 0
late = [r for r in rows if float(r["seconds"]) >= end / 2]
print(f"whole outage: peak dataDir {peak(rows, 'dataDirBytes') / 2**20:.1f} MiB allocated"
      f" ({peak(rows, 'apparentBytes') / 2**20:.1f} MiB apparent), peak journal {peak(rows, 'journalBytes') / 2**20:.1f} MiB,"
      f" peak RSS {peak(rows, 'rssKiB') / 1024:.1f} MiB")
print(f"second half: peak dataDir {peak(late, 'dataDirBytes') / 2**20:.1f} MiB allocated,"
      f" peak RSS {peak(late, 'rssKiB') / 1024:.1f} MiB")
PY
  rm -f "$VOL"
fi
echo "Raw results: $OUT_DIR"
