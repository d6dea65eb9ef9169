#!/usr/bin/env bash
# replication-lag.sh: does replication keep up? An agent and a receiver on this machine (one
# group, rpo 1s, one 1 GiB volume); a sustained fio random-write load through the agent's NBD
# export while the agent's lagSeconds is sampled every 100 ms; then the catch-up after fio
# stops. Prints lag p50/p99/max, RPO breaches, the load the agent sustained, capture and ship
# throughput, the compression ratio and the catch-up time, per job and TLS provider, side by
# side. Writes every sample, fio's JSON and the figures to --out.
#
# Run `bench/scripts/replication-lag.sh --help` for the options.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
SUMMARY_PY="$SCRIPT_DIR/replication-lag-summary.py"
BENCH_NAME=replication-lag

ALL_JOBS=(rand4k rand64k)
JOBS_ARG="rand4k,rand64k"
TLS_ARG=auto
RUNTIME_S=60
RPO=1s
SIZE_ARG=1G
INTERVAL_MS=100
CATCHUP_TIMEOUT_S=60
TRANSPORT=unix
OUT_DIR=""
FERRY_BIN="${FERRY_BIN:-$REPO_ROOT/bin/ferry}"
FERRY_START_TIMEOUT_S=60
FERRY_BUILD_TIMEOUT_S=900
STOP_TIMEOUT_S=15
MIN_FREE_GIB=8
KEEP_WORK=0
USER_JAVA_OPTS="${FERRY_JAVA_OPTS:-}"

# shellcheck source-path=SCRIPTDIR source=lib/ferry-bench.sh
. "$SCRIPT_DIR/lib/ferry-bench.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") [options]

Starts a receiver and an agent (group rpo $RPO, one volume) on 127.0.0.1, drives a sustained
fio random-write load (--buffer_compress_percentage=50 --refill_buffers, time based) through
the agent's NBD export, samples the agent's status every ${INTERVAL_MS} ms, and after fio stops
waits until the receiver has acknowledged (ackedSeq) and applied (appliedSeq) every write.
Every (job, TLS provider) gets a fresh agent, receiver and dataDirs.

  --jobs LIST          rand4k (4 KiB QD32), rand64k (64 KiB QD8) (default: $JOBS_ARG)
  --tls-provider P     openssl, jdk, both (one run each, side by side) or auto (the daemons'
                       own choice: OpenSSL when netty-tcnative loads) (default: $TLS_ARG);
                       passed to both daemons as -Dferry.tls.provider=P via FERRY_JAVA_OPTS
  --runtime SECONDS    fio --runtime of the load (default: $RUNTIME_S)
  --rpo DURATION       the group's rpo (default: $RPO)
  --size SIZE          the volume's size, e.g. 1G, 512M (default: $SIZE_ARG)
  --interval-ms MS     status sampling period (default: $INTERVAL_MS)
  --catchup-timeout S  how long to wait for the catch-up after fio (default: $CATCHUP_TIMEOUT_S)
  --transport T        unix or tcp: how fio reaches the agent (default: $TRANSPORT)
  --out DIR            where results go (default: a new temp dir, printed at the end)
  --ferry-bin PATH     the launcher (default: bin/ferry; also env FERRY_BIN)
  --ferry-start-timeout SECONDS
                       how long to wait for a daemon to start (default: $FERRY_START_TIMEOUT_S)
  --keep-work          keep the work dir (volume, dataDirs, logs) instead of deleting it
  -h, --help           this text

Daemons bind only to 127.0.0.1 (ports taken by binding port 0) and a Unix socket in the work
dir; each is started with a pid file and stopped by its pid on exit, failure or Ctrl-C.
FERRY_JAVA_OPTS from the environment is kept and the provider property appended to it.
EOF
}

while (($#)); do
  case "$1" in
    --jobs) JOBS_ARG="${2:?}"; shift 2 ;;
    --tls-provider) TLS_ARG="${2:?}"; shift 2 ;;
    --runtime) RUNTIME_S="${2:?}"; shift 2 ;;
    --rpo) RPO="${2:?}"; shift 2 ;;
    --size) SIZE_ARG="${2:?}"; shift 2 ;;
    --interval-ms) INTERVAL_MS="${2:?}"; shift 2 ;;
    --catchup-timeout) CATCHUP_TIMEOUT_S="${2:?}"; shift 2 ;;
    --transport) TRANSPORT="${2:?}"; shift 2 ;;
    --out) OUT_DIR="${2:?}"; shift 2 ;;
    --ferry-bin) FERRY_BIN="${2:?}"; shift 2 ;;
    --ferry-start-timeout) FERRY_START_TIMEOUT_S="${2:?}"; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[[ "$RUNTIME_S" =~ ^[0-9]+$ && "$RUNTIME_S" -gt 0 ]] || die "--runtime must be a positive number of seconds, got '$RUNTIME_S'"
[[ "$INTERVAL_MS" =~ ^[0-9]+$ && "$INTERVAL_MS" -gt 0 ]] || die "--interval-ms must be a positive number, got '$INTERVAL_MS'"
[[ "$CATCHUP_TIMEOUT_S" =~ ^[0-9]+$ ]] || die "--catchup-timeout must be a number of seconds, got '$CATCHUP_TIMEOUT_S'"
[[ "$FERRY_START_TIMEOUT_S" =~ ^[0-9]+$ ]] || die "--ferry-start-timeout must be a number of seconds"
case "$TRANSPORT" in unix|tcp) ;; *) die "--transport must be unix or tcp, got '$TRANSPORT'" ;; esac
case "$TLS_ARG" in
  openssl|jdk|auto) PROVIDERS=("$TLS_ARG") ;;
  both) PROVIDERS=(openssl jdk) ;;
  *) die "--tls-provider must be openssl, jdk, both or auto, got '$TLS_ARG'" ;;
esac
# the rpo in seconds, for the summary (the agent validates the duration itself)
[[ "$RPO" =~ ^([0-9]+)(ms|s|m|h)$ ]] || die "--rpo: expected a duration like 1s, 500ms, 2m; got '$RPO'"
case "${BASH_REMATCH[2]}" in
  ms) RPO_S="$(us_to_s $((BASH_REMATCH[1] * 1000)))" ;;
  s) RPO_S="${BASH_REMATCH[1]}" ;;
  m) RPO_S=$((BASH_REMATCH[1] * 60)) ;;
  h) RPO_S=$((BASH_REMATCH[1] * 3600)) ;;
esac

size_norm="${SIZE_ARG%iB}"; size_norm="${size_norm%B}"
SIZE_BYTES="$(numfmt --from=iec "$size_norm" 2>/dev/null)" || die "--size: cannot parse '$SIZE_ARG'"
(( SIZE_BYTES >= 1048576 && SIZE_BYTES % 1048576 == 0 )) || die "--size must be a positive multiple of 1 MiB, got $SIZE_BYTES bytes"

IFS=, read -r -a JOBS <<<"$JOBS_ARG"
for j in "${JOBS[@]}"; do
  case " ${ALL_JOBS[*]} " in *" $j "*) ;; *) die "unknown job '$j' (${ALL_JOBS[*]})" ;; esac
done

for tool in fio nbdinfo python3 numfmt curl setsid; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH (apt-get install -y fio libnbd-bin curl python3)"
done
[[ -x "$FERRY_BIN" ]] || die "needs the launcher $FERRY_BIN"

# ---------------------------------------------------------------- work dir, process hygiene

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferry-lag.XXXXXX")"
if [[ -z "$OUT_DIR" ]]; then
  OUT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ferry-lag-out.XXXXXX")"
fi
mkdir -p "$OUT_DIR/fio" "$OUT_DIR/logs" "$OUT_DIR/samples" "$OUT_DIR/results" "$WORK/logs" "$WORK/run"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
rm -f "$OUT_DIR"/results/*.json
RAW_FILE="$WORK/disk.raw"
CERT_DIR="$WORK/certs"
FACTS="$OUT_DIR/machine.txt"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_all
  if (( KEEP_WORK )); then
    note "work dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'exit 143' TERM HUP

check_free_space() {
  local avail_kib
  avail_kib="$(df -Pk "$WORK" | awk 'NR==2 {print $4}')"
  if (( avail_kib < MIN_FREE_GIB * 1024 * 1024 )); then
    die "only $((avail_kib / 1024)) MiB free under $WORK (journals and the replica need room); need ${MIN_FREE_GIB} GiB"
  fi
}

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host=$(hostname)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "mem_total=$(awk '/^MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "java=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | tr '\n' ' ' | sed 's/ *$//')"
  echo "fio=$(fio --version)"
  echo "filesystem=$(df -PT "$WORK" | awk 'NR==2 {print $2 " on " $1}')"
  echo "git=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "jobs=${JOBS[*]}"
  echo "providers=${PROVIDERS[*]}"
  echo "rpo=$RPO"
  echo "size_bytes=$SIZE_BYTES"
  echo "runtime_s=$RUNTIME_S"
  echo "interval_ms=$INTERVAL_MS"
  echo "catchup_timeout_s=$CATCHUP_TIMEOUT_S"
  echo "transport=$TRANSPORT"
  echo "ferry_java_opts=$USER_JAVA_OPTS"
} >"$FACTS"

# ---------------------------------------------------------------- measurement

fio_job_args() {
  case "$1" in
    rand4k) echo --rw=randwrite --bs=4k --iodepth=32 ;;
    rand64k) echo --rw=randwrite --bs=64k --iodepth=8 ;;
  esac
}

# sample_loop API TOKEN_FILE OUT STOP_FILE: the agent's status every INTERVAL_MS until STOP_FILE
# exists, one "EPOCH_US<TAB>load<TAB>JSON" line each (no JSON when the API did not answer
# within a second: a failed sample). Ticks are kept on a fixed schedule; a late tick is not
# made up for with a burst.
sample_loop() {
  local api="$1" token="$2" out="$3" stop="$4" next t auth delay
  auth="Authorization: Bearer $(<"$token")"
  next="${EPOCHREALTIME/./}"
  while [[ ! -e "$stop" ]]; do   # no subshells: only curl and sleep are forked per tick
    t="${EPOCHREALTIME/./}"
    printf '%s\tload\t' "$t" >>"$out"
    curl -sf -m 1 -H "$auth" "http://$api/v1/status" >>"$out" || true   # no JSON: a failed sample
    printf '\n' >>"$out"
    next=$((next + INTERVAL_MS * 1000))
    t="${EPOCHREALTIME/./}"
    if (( next > t )); then
      printf -v delay '%d.%06d' $(((next - t) / 1000000)) $(((next - t) % 1000000))
      sleep "$delay"
    else
      next="$t"
    fi
  done
}

# wait_applied API TOKEN_FILE SEQ SINCE_US TIMEOUT_S: until the receiver's group has applied
# SEQ. Sets APPLIED (yes|no), APPLIED_S (seconds since SINCE_US) and RECEIVER_STATUS.
wait_applied() {
  local api="$1" token="$2" seq="$3" t0="$4" deadline_us t json applied
  deadline_us=$((t0 + $5 * 1000000))
  APPLIED=no; RECEIVER_STATUS=""
  while :; do
    t="$(now_us)"
    json="$(api_get "$api" "$token" /v1/status 2>/dev/null)" || json=""
    if [[ -n "$json" ]]; then
      RECEIVER_STATUS="$json"
      applied="$(json_field "$json" appliedSeq)" || applied=""
      if [[ -n "$applied" ]] && (( applied >= seq )); then APPLIED=yes; break; fi
    fi
    (( t >= deadline_us )) && break
    sleep 0.1
  done
  APPLIED_S="$(us_to_s $((t - t0)))"
}

# run_one JOB PROVIDER: one measurement with a fresh receiver, agent and dataDirs; writes
# OUT_DIR/results/JOB-PROVIDER.json.
run_one() {
  local job="$1" provider="$2" tag="$1-$2"
  local result="$OUT_DIR/results/$tag.json" samples="$OUT_DIR/samples/$tag.tsv"
  local fio_json="$OUT_DIR/fio/$tag.json" stop_file="$WORK/run/$tag.stop"
  local agent_data="$WORK/run/$tag-adata" agent_log="$WORK/logs/$tag-agent.log"
  local agent_pidfile="$WORK/run/$tag-agent.pid" yaml="$WORK/run/$tag-agent.yaml"
  local sock="$WORK/run/$tag.sock" nbd_port api_port uri pid sampler status=ok
  local t_start t_end captured provider_used job_args
  read -r -a job_args <<<"$(fio_job_args "$job")"

  if [[ "$provider" == auto ]]; then
    export FERRY_JAVA_OPTS="$USER_JAVA_OPTS"
  else
    export FERRY_JAVA_OPTS="${USER_JAVA_OPTS:+$USER_JAVA_OPTS }-Dferry.tls.provider=$provider"
  fi
  rm -f "$samples" "$stop_file"
  RECEIVER_LOG=""; RECEIVER_DATA_DIR=""

  if start_receiver "$tag" "$CERT_DIR"; then
    rm -rf "$agent_data"; mkdir -p "$agent_data"
    nbd_port="$(free_port)"; api_port="$(free_port)"
    AGENT_API="127.0.0.1:$api_port"
    AGENT_TOKEN="$agent_data/api.token"
    if [[ "$TRANSPORT" == unix ]]; then uri="nbd+unix:///vol?socket=$sock"; else uri="nbd://127.0.0.1:$nbd_port/vol"; fi
    agent_yaml "$yaml" "$agent_data" "$nbd_port" "$sock" "$api_port" "$RAW_FILE" "$SIZE_BYTES" "$RPO" \
      "$RECEIVER_ADDR" "$CERT_DIR"
    PID_FILES+=("$agent_pidfile")
    env -C "$REPO_ROOT" "$FERRY_RUN_BIN" agent --config "$yaml" --pid-file "$agent_pidfile" >"$agent_log" 2>&1 &
    pid=$!
    STARTED_PIDS+=("$pid")
    local deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
    until nbdinfo --size "$uri" >/dev/null 2>&1; do
      if ! alive "$pid" || (( SECONDS >= deadline )); then
        note "the agent is not serving $uri; last lines of $agent_log:"
        tail -n 20 "$agent_log" >&2 || true
        status="agent-failed"
        break
      fi
      sleep 0.2
    done
    if [[ "$status" == ok ]] && ! wait_agent_connected "$AGENT_API" "$AGENT_TOKEN" "$FERRY_START_TIMEOUT_S"; then
      status="link-failed"
    fi
  else
    status="receiver-failed"
  fi

  if [[ "$status" == ok ]]; then
    sample_loop "$AGENT_API" "$AGENT_TOKEN" "$samples" "$stop_file" &
    sampler=$!
    STARTED_PIDS+=("$sampler")
    t_start="$(now_us)"
    if ! fio --name="$job" --ioengine=nbd --uri="$uri" --size="$SIZE_BYTES" --time_based \
        --runtime="$RUNTIME_S" "${job_args[@]}" --buffer_compress_percentage=50 --refill_buffers \
        --output-format=json >"$fio_json" 2>"$WORK/logs/$tag.fio.err"; then
      status="fio-failed"
      note "fio failed:"; tail -n 5 "$WORK/logs/$tag.fio.err" >&2 || true
    fi
    t_end="$(now_us)"
    touch "$stop_file"
    stop_pid_after "$sampler" 3
  fi

  if [[ "$status" == ok ]]; then
    wait_caught_up "$AGENT_API" "$AGENT_TOKEN" "$CATCHUP_TIMEOUT_S" "$samples" "$t_end"
    echo "$LAST_STATUS" >"$OUT_DIR/logs/$tag.agent-status.json"
    captured="$(json_field "$LAST_STATUS" capturedSeq)" || captured=0
    wait_applied "$RECEIVER_API" "$RECEIVER_TOKEN" "$captured" "$t_end" "$CATCHUP_TIMEOUT_S"
    echo "$RECEIVER_STATUS" >"$OUT_DIR/logs/$tag.receiver-status.json"
  fi
  stop_all
  provider_used="$(grep -o 'TLS provider [a-z]*' "$agent_log" 2>/dev/null | head -n 1 | awk '{print $3}')" || provider_used=""
  cp "$agent_log" "$OUT_DIR/logs/$tag.agent.log" 2>/dev/null || true
  [[ -n "$RECEIVER_LOG" ]] && cp "$RECEIVER_LOG" "$OUT_DIR/logs/$tag.receiver.log" 2>/dev/null
  [[ -s "$WORK/logs/$tag.fio.err" ]] && cp "$WORK/logs/$tag.fio.err" "$OUT_DIR/logs/"
  rm -rf "$agent_data" ${RECEIVER_DATA_DIR:+"$RECEIVER_DATA_DIR"}

  if [[ "$status" == ok ]]; then
    python3 "$SUMMARY_PY" analyze job="$job" provider="$provider" provider_used="$provider_used" \
      rpo_s="$RPO_S" interval_ms="$INTERVAL_MS" samples="$samples" fio="$fio_json" \
      t_start_us="$t_start" t_end_us="$t_end" caught_up="$CAUGHT_UP" catchup_s="$CATCHUP_S" \
      applied="$APPLIED" applied_s="$APPLIED_S" agent_status="$OUT_DIR/logs/$tag.agent-status.json" \
      receiver_status="$OUT_DIR/logs/$tag.receiver-status.json" out="$result" ||
      printf '{"job":"%s","provider":"%s","status":"analyze-failed"}\n' "$job" "$provider" >"$result"
    python3 "$SUMMARY_PY" line "$result" >&2 || true
  else
    printf '{"job":"%s","provider":"%s","status":"%s"}\n' "$job" "$provider" "$status" >"$result"
    note "$job / $provider: $status"
  fi
}

# stop_pid_after PID SECONDS: waits up to SECONDS for PID to end by itself, then stops it.
stop_pid_after() {
  local waited=0
  while alive "$1" && (( waited < $2 * 10 )); do sleep 0.1; waited=$((waited + 1)); done
  stop_pid "$1"
}

# ---------------------------------------------------------------- main

FERRY_RUN_BIN="$FERRY_BIN"
ferry_preflight ferry "" agent || die "cannot run $FERRY_BIN agent"
ferry_preflight ferry "" receiver || die "cannot run $FERRY_BIN receiver"
ferry_snapshot agent receiver
make_certs "$CERT_DIR"
total=$(( ${#JOBS[@]} * ${#PROVIDERS[@]} ))
n=0
for job in "${JOBS[@]}"; do
  for provider in "${PROVIDERS[@]}"; do   # providers interleaved so that drift hits both alike
    n=$((n + 1))
    check_free_space
    note "[$n/$total] $job, TLS provider $provider, ${RUNTIME_S}s load, rpo $RPO ..."
    run_one "$job" "$provider"
  done
done

python3 "$SUMMARY_PY" table "$OUT_DIR"
echo
echo "Raw results: $OUT_DIR (results.json, summary.csv, machine.txt, samples/*.tsv, fio/*.json, logs/)"
