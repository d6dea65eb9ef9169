#!/usr/bin/env bash
# Time from a promote to a fenced agent, in one run on this machine: a receiver and an agent
# replicating a group, 16 MiB written and caught up, then `POST /v1/groups/bench/promote` at the
# receiver; from its reply, a 4 KiB write (qemu-io over NBD) is issued to the agent's export
# again and again (a new connection each time) until the agent refuses it (the export is then
# read-only, so qemu-io cannot open it for writing). Reports the promote's own time and the
# time from the promote reply to the first refused write, per repeat and as the median.
# Run `bench/scripts/fence-time.sh --help` for the options.
set -euo pipefail

BENCH_NAME=fence-time
REPO_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
FERRY_BIN="${FERRY_BIN:-$REPO_ROOT/bin/ferry}"
REPEAT=5
OUT_DIR=""
KEEP=0

usage() {
  cat <<USAGE
Usage: bench/scripts/fence-time.sh [--repeat N] [--out DIR] [--ferry-bin PATH] [--keep-work]
  --repeat N         promotes to time, each on fresh daemons (default $REPEAT)
Needs: qemu-io (qemu-utils), curl, python3.
USAGE
}
while (( $# )); do
  case "$1" in
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --out) OUT_DIR="${2:?}"; shift 2 ;;
    --ferry-bin) FERRY_BIN="${2:?}"; shift 2 ;;
    --keep-work) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fence-time: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for tool in qemu-io curl python3; do
  command -v "$tool" >/dev/null || { echo "fence-time: $tool is missing" >&2; exit 2; }
done
# shellcheck source=lib/ferry-bench.sh
source "$REPO_ROOT/bench/scripts/lib/ferry-bench.sh"
bench_workspace fence-time
{ echo "date=$(date -u +%FT%TZ)"; echo "kernel=$(uname -r)"; echo "cpus=$(nproc)";
  echo "git=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo -)"; } >>"$FACTS"

ferry_preflight ferry "" agent || exit 2
ferry_snapshot agent receiver
CERTS="$WORK/certs"
make_certs "$CERTS"
SIZE=$((256 << 20))
RESULTS="$OUT_DIR/fence-time.tsv"
printf 'repeat\tpromoteMillis\tpromoteToFencedMillis\twritesTaken\n' >"$RESULTS"

for ((rep = 1; rep <= REPEAT; rep++)); do
  tag="r$rep"
  vol="$WORK/$tag.img"; rm -f "$vol"; truncate -s "$SIZE" "$vol"
  start_receiver "$tag" "$CERTS" || die "$tag: the receiver did not start"
  # a promote exports the volumes: the receiver needs an NBD listener (the shared helper sets none)
  stop_all
  echo "nbd: { listen: 127.0.0.1:$(free_port) }" >>"$WORK/run/$tag-receiver.yaml"
  PID_FILES+=("$WORK/run/$tag-receiver.pid")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" receiver --config "$WORK/run/$tag-receiver.yaml" \
    --pid-file "$WORK/run/$tag-receiver.pid" >>"$RECEIVER_LOG" 2>&1 &
  STARTED_PIDS+=("$!")
  deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  until curl -sf -m 2 "http://$RECEIVER_API/healthz" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "$tag: the receiver did not start with its NBD listener"
    sleep 0.2
  done
  adata="$WORK/run/$tag-adata"; rm -rf "$adata"; mkdir -p "$adata"
  api_port="$(free_port)"; nbd_port="$(free_port)"; sock="$WORK/run/$tag.sock"
  yaml="$WORK/run/$tag-agent.yaml"; pidfile="$WORK/run/$tag-agent.pid"
  agent_yaml "$yaml" "$adata" "$nbd_port" "$sock" "$api_port" "$vol" "$SIZE" 1s "$RECEIVER_ADDR" "$CERTS"
  PID_FILES+=("$pidfile")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$pidfile" >"$WORK/logs/$tag-agent.log" 2>&1 &
  STARTED_PIDS+=("$!")
  deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  until [[ -S "$sock" && -s "$adata/api.token" ]]; do
    (( SECONDS < deadline )) || die "$tag: the agent did not start"
    sleep 0.1
  done
  uri="nbd+unix:///vol?socket=$sock"
  wait_agent_connected "127.0.0.1:$api_port" "$adata/api.token" 60 || die "$tag: the agent did not connect"
  qemu-io -f raw -c "write -P 7 0 16M" "$uri" >"$WORK/logs/$tag-qemu-io.log" 2>&1 || die "$tag: the first write failed"
  wait_caught_up "127.0.0.1:$api_port" "$adata/api.token" 60
  [[ "$CAUGHT_UP" == yes ]] || die "$tag: the group did not catch up"
  reply="$(curl -s -m 60 -X POST -H "Authorization: Bearer $(<"$RECEIVER_TOKEN")" -H 'Content-Type: application/json' \
    -d '{"point":"latest"}' "http://$RECEIVER_API/v1/groups/bench/promote")" || die "$tag: the promote failed"
  [[ "$reply" == *'"promoteMillis"'* ]] || die "$tag: the promote was refused: $reply"
  t0="$(now_us)"
  promote_ms="$(json_field "$reply" promoteMillis)"
  taken=0
  while qemu-io -f raw -c "write -P 9 16M 4k" "$uri" >>"$WORK/logs/$tag-qemu-io.log" 2>&1; do
    taken=$((taken + 1))
    (( $(now_us) - t0 < 60000000 )) || die "$tag: the agent still takes writes 60 s after the promote"
  done
  t1="$(now_us)"
  # fenced: a connection opened before gets EPERM; a new one is read-only, so qemu-io cannot open it for writing
  grep -Eq "Operation not permitted|Could not open image: Permission denied" "$WORK/logs/$tag-qemu-io.log" ||
    { tail -n 5 "$WORK/logs/$tag-qemu-io.log" >&2; die "$tag: the write failed, but not because the agent is fenced"; }
  printf '%s\t%s\t%s\t%s\n' "$rep" "$promote_ms" "$(( (t1 - t0) / 1000 ))" "$taken" >>"$RESULTS"
  note "$tag: promote ${promote_ms} ms; fenced $(( (t1 - t0) / 1000 )) ms after the promote reply ($taken write(s) taken meanwhile)"
  stop_all
  rm -f "$vol"
done
/usr/bin/python3 - "$RESULTS" <<'PY' | tee "$OUT_DIR/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
fence = [int(r["promoteToFencedMillis"]) for r in rows]
promote = [int(r["promoteMillis"]) for r in rows]
print(f"{len(rows)} promotes of a caught-up group; from the promote reply to the agent refusing a write (read-only):")
print(f"  median {statistics.median(fence)} ms, min {min(fence)} ms, max {max(fence)} ms"
      f" (promote itself: median {statistics.median(promote)} ms)")
print("  each poll is one qemu-io process (about 20-50 ms), so the figure is an upper bound by that much")
PY
echo "Raw results: $OUT_DIR"
