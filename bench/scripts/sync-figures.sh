#!/usr/bin/env bash
# Initial sync and checksum sync figures, side by side in one run on this machine:
#   1. ferry's initial sync of a volume that already holds data (half data, half holes) into an
#      empty replica, against nbdcopy and qemu-img convert copying the same file to an NBD
#      target (qemu-nbd on a fresh sparse file) on the same machine;
#   2. the bytes a checksum sync sends for a replica placed at the replica path that is identical
#      to the primary, and for one where 1 % of its 64 KiB blocks differ (incompressible data).
# Run `bench/scripts/sync-figures.sh --help` for the options.
set -euo pipefail

BENCH_NAME=sync-figures
REPO_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
FERRY_BIN="${FERRY_BIN:-$REPO_ROOT/bin/ferry}"
SIZE_ARG=4G
OUT_DIR=""
KEEP=0

usage() {
  cat <<USAGE
Usage: bench/scripts/sync-figures.sh [--size SIZE] [--out DIR] [--ferry-bin PATH] [--keep-work]

  --size SIZE        the volume, half data (random, in 64 MiB runs) and half holes (default $SIZE_ARG)
  --out DIR          where results go (default: a new temp dir, printed at the end)
  --ferry-bin PATH   the launcher (default: bin/ferry; also env FERRY_BIN)
  --keep-work        keep the work dir (volumes, logs)
Needs: nbdcopy (libnbd-bin), qemu-img and qemu-nbd (qemu-utils), curl, python3.
USAGE
}

while (( $# )); do
  case "$1" in
    --size) SIZE_ARG="${2:?}"; shift 2 ;;
    --out) OUT_DIR="${2:?}"; shift 2 ;;
    --ferry-bin) FERRY_BIN="${2:?}"; shift 2 ;;
    --keep-work) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "sync-figures: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in nbdcopy qemu-img qemu-nbd curl python3; do
  command -v "$tool" >/dev/null || { echo "sync-figures: $tool is missing" >&2; exit 2; }
done
SIZE="$(numfmt --from=iec "$SIZE_ARG")"
# shellcheck source=lib/ferry-bench.sh
source "$REPO_ROOT/bench/scripts/lib/ferry-bench.sh"
bench_workspace sync-figures

py() { /usr/bin/python3 - "$@"; }
mbps() { py "$1" "$2" <<'PY'
import sys; print(f"{int(sys.argv[1]) / float(sys.argv[2]) / 1e6:.1f}")
PY
}

# ------------------------------------------------------------------ the volume
SRC="$WORK/src.img"
note "laying out $SRC: $SIZE bytes, random data in every other 64 MiB run"
truncate -s "$SIZE" "$SRC"
CHUNK=$((64 << 20))
for ((at = 0; at < SIZE; at += 2 * CHUNK)); do
  head -c "$CHUNK" /dev/urandom | dd of="$SRC" bs=1M seek=$((at >> 20)) conv=notrunc status=none
done
DATA_BYTES="$(py "$SRC" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size; pos = 0; data = 0
while pos < size:
    try: start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError: break
    end = os.lseek(fd, start, os.SEEK_HOLE); data += end - start; pos = end
print(data)
PY
)"
note "data $DATA_BYTES bytes, holes $((SIZE - DATA_BYTES)) bytes"
{ echo "date=$(date -u +%FT%TZ)"; echo "kernel=$(uname -r)"; echo "cpus=$(nproc)"; echo "size=$SIZE data=$DATA_BYTES";
  echo "git=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo -)"; } >>"$FACTS"

ferry_preflight ferry "" agent || exit 2
ferry_snapshot agent receiver
CERTS="$WORK/certs"
make_certs "$CERTS"

# ferry_sync TAG [SEED_REPLICA]: starts a fresh receiver (with SEED_REPLICA placed at the replica
# path first) and a fresh agent protecting $SRC; waits until the receiver says consistent.
# Sets SYNC_S, SENT_DATA, SENT_HASHES, SHIPPED.
ferry_sync() {
  local tag="$1" seed="${2:-}" pidfile="$WORK/run/$1-agent.pid" yaml="$WORK/run/$1-agent.yaml"
  local adata="$WORK/run/$1-adata" alog="$WORK/logs/$1-agent.log" api_port nbd_port t0 t json line
  start_receiver "$tag" "$CERTS" || die "receiver did not start"
  stop_all
  if [[ -n "$seed" ]]; then
    mkdir -p "$RECEIVER_DATA_DIR/replicas/bench"
    mv "$seed" "$RECEIVER_DATA_DIR/replicas/bench/vol.img"
  fi
  start_receiver_keep "$tag" || die "receiver did not restart"
  rm -rf "$adata"; mkdir -p "$adata"
  api_port="$(free_port)"; nbd_port="$(free_port)"
  agent_yaml "$yaml" "$adata" "$nbd_port" "" "$api_port" "$SRC" "$SIZE" 30s "$RECEIVER_ADDR" "$CERTS"
  PID_FILES+=("$pidfile")
  t0="$(now_us)"
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$pidfile" >"$alog" 2>&1 &
  STARTED_PIDS+=("$!")
  while :; do
    json="$(api_get "$RECEIVER_API" "$RECEIVER_TOKEN" /v1/groups/bench 2>/dev/null)" || json=""
    if [[ "$json" == *'"consistent":true'* && "$json" == *'"state":"replicating"'* ]] &&
       grep -q "sync complete" "$alog"; then
      break
    fi
    (( $(now_us) - t0 > 1800000000 )) && die "$tag: the sync did not end in 30 minutes"
    sleep 0.1
  done
  t="$(now_us)"
  SYNC_S="$(us_to_s $((t - t0)))"
  line="$(grep "sync complete" "$alog" | tail -1)"
  SENT_DATA="$(sed -E 's/.* ([0-9]+) bytes of data and.*/\1/' <<<"$line")"
  SENT_HASHES="$(sed -E 's/.* and ([0-9]+) bytes of hashes.*/\1/' <<<"$line")"
  json="$(api_get "127.0.0.1:$api_port" "$adata/api.token" /v1/status)"
  SHIPPED="$(json_field "$json" bytesShipped)"
  stop_all
}

# start_receiver_keep TAG: starts the receiver of TAG again on its existing dataDir and yaml.
start_receiver_keep() {
  local tag="$1" pidfile="$WORK/run/$1-receiver.pid" yaml="$WORK/run/$1-receiver.yaml"
  PID_FILES+=("$pidfile")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" receiver --config "$yaml" --pid-file "$pidfile" >>"$RECEIVER_LOG" 2>&1 &
  local pid=$! deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  STARTED_PIDS+=("$pid")
  until curl -sf -m 2 "http://$RECEIVER_API/healthz" >/dev/null 2>&1; do
    alive "$pid" && (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

# nbd_copy TAG COMMAND...: a fresh sparse target served by qemu-nbd on a socket; times COMMAND
# (which names the target as $TARGET_URI) and sets COPY_S.
nbd_copy() {
  local tag="$1"; shift
  local target="$WORK/$tag-target.img" sock="$WORK/run/$tag.sock" pidfile="$WORK/run/$tag-qemu-nbd.pid" t0
  rm -f "$target" "$sock"; truncate -s "$SIZE" "$target"
  PID_FILES+=("$pidfile")
  qemu-nbd -f raw -t -k "$sock" --pid-file "$pidfile" --cache=none --aio=threads "$target" \
    >"$WORK/logs/$tag-qemu-nbd.log" 2>&1 &
  STARTED_PIDS+=("$!")
  until [[ -S "$sock" ]]; do sleep 0.1; done
  TARGET_URI="nbd+unix:///?socket=$sock"
  t0="$(now_us)"
  "${@//@TARGET@/$TARGET_URI}" >"$WORK/logs/$tag.log" 2>&1 || { cat "$WORK/logs/$tag.log" >&2; die "$tag failed"; }
  COPY_S="$(us_to_s $(($(now_us) - t0)))"
  cmp -s "$SRC" "$target" || die "$tag: the target differs from the source"
  stop_all
  rm -f "$target"
}

# ------------------------------------------------------------------ 1. initial sync
ferry_sync initial
FERRY_S="$SYNC_S"; FERRY_SENT="$SENT_DATA"; FERRY_SHIPPED="$SHIPPED"
cmp -s "$SRC" "$RECEIVER_DATA_DIR/replicas/bench/vol.img" || die "ferry: the replica differs from the source"
note "ferry initial sync: ${FERRY_S}s"
nbd_copy nbdcopy nbdcopy "$SRC" @TARGET@
NBDCOPY_S="$COPY_S"; note "nbdcopy: ${NBDCOPY_S}s"
nbd_copy qemu-img qemu-img convert -n -f raw -O raw "$SRC" @TARGET@
QEMU_S="$COPY_S"; note "qemu-img convert: ${QEMU_S}s"

# ------------------------------------------------------------------ 2. checksum sync
cp --sparse=always "$SRC" "$WORK/seed-identical.img"
ferry_sync identical "$WORK/seed-identical.img"
ID_S="$SYNC_S"; ID_DATA="$SENT_DATA"; ID_HASHES="$SENT_HASHES"; ID_SHIPPED="$SHIPPED"
cmp -s "$SRC" "$RECEIVER_DATA_DIR/replicas/bench/vol.img" || die "identical: the replica differs from the source"
cp --sparse=always "$SRC" "$WORK/seed-changed.img"
CHANGED_BYTES="$(py "$WORK/seed-changed.img" "$SIZE" <<'PY'
import os, random, sys
path, size = sys.argv[1], int(sys.argv[2]); block = 64 << 10
blocks = size // block; rng = random.Random(1)
chosen = rng.sample(range(blocks), blocks // 100)
with open(path, "r+b") as f:
    for b in chosen:
        f.seek(b * block); f.write(os.urandom(block))
print(len(chosen) * block)
PY
)"
ferry_sync changed "$WORK/seed-changed.img"
CH_S="$SYNC_S"; CH_DATA="$SENT_DATA"; CH_HASHES="$SENT_HASHES"; CH_SHIPPED="$SHIPPED"
cmp -s "$SRC" "$RECEIVER_DATA_DIR/replicas/bench/vol.img" || die "changed: the replica differs from the source"

# ------------------------------------------------------------------ report
{
  echo "Initial sync of a $SIZE-byte volume ($DATA_BYTES bytes of data, the rest holes) into an empty target, same machine"
  printf '%-28s %10s %14s %16s %14s\n' tool seconds "MB/s volume" "MB/s data" "vs ferry"
  for row in "ferry:$FERRY_S" "nbdcopy:$NBDCOPY_S" "qemu-img convert:$QEMU_S"; do
    name="${row%%:*}"; s="${row##*:}"
    printf '%-28s %10s %14s %16s %14s\n' "$name" "$s" "$(mbps "$SIZE" "$s")" "$(mbps "$DATA_BYTES" "$s")" \
      "$(py "$FERRY_S" "$s" <<'PY'
import sys; print(f"{float(sys.argv[2]) / float(sys.argv[1]):.2f}x time")
PY
)"
  done
  echo "ferry sent $FERRY_SENT bytes of data ($FERRY_SHIPPED bytes of compressed deltas on the wire)"
  echo
  echo "Checksum sync against a replica placed at the replica path (64 KiB blocks, XXH3-128)"
  printf '%-30s %10s %16s %16s %18s %16s\n' replica seconds "data sent" "hashes sent" "wire (deltas)" "differing bytes"
  printf '%-30s %10s %16s %16s %18s %16s\n' identical "$ID_S" "$ID_DATA" "$ID_HASHES" "$ID_SHIPPED" 0
  printf '%-30s %10s %16s %16s %18s %16s\n' "1% of 64 KiB blocks changed" "$CH_S" "$CH_DATA" "$CH_HASHES" "$CH_SHIPPED" "$CHANGED_BYTES"
} | tee "$OUT_DIR/summary.txt"
echo "Raw results: $OUT_DIR (summary.txt, machine.txt)"
