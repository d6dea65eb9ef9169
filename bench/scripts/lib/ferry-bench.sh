# shellcheck shell=bash
# shellcheck disable=SC2034  # variables set here for the sourcing script (CAUGHT_UP, CATCHUP_S, ...)
# Shared by compare-peers.sh and replication-lag.sh (sourced, never run): process hygiene, free
# ports, the launcher snapshot, certificates, starting ferry's daemons and reading their status.
#
# The sourcing script sets, before calling anything here:
#   BENCH_NAME  prefix of every message            REPO_ROOT  the repository
#   WORK        the run's work dir (logs/, run/)   FERRY_BIN  the launcher (bin/ferry)
#   FACTS       machine facts file (may be empty)
# (or calls bench_workspace, which sets WORK, FACTS and OUT_DIR and stops everything at exit)
# and may set FERRY_JAVA (an alternative JAVA_HOME for servers named other than "ferry").

STOP_TIMEOUT_S="${STOP_TIMEOUT_S:-15}"
FERRY_BUILD_TIMEOUT_S="${FERRY_BUILD_TIMEOUT_S:-900}"
FERRY_START_TIMEOUT_S="${FERRY_START_TIMEOUT_S:-60}"
FERRY_RUN_BIN="${FERRY_RUN_BIN:-$FERRY_BIN}"
AGENT_ID=bench          # the CN of the agent's certificate
RECEIVER_ID=dr

# Every process we started, by pid, plus pid files that may name more (the daemons' JVMs).
STARTED_PIDS=()
PID_FILES=()
STARTED_GROUPS=()   # process groups we created with setsid (the launcher's build)

die() { echo "$BENCH_NAME: $*" >&2; exit 2; }
note() { echo "$BENCH_NAME: $*" >&2; }

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
      note "pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true   # reaps our own children; a no-op for others
}

group_alive() {  # any live (non-zombie) process in process group $1
  local f line rest st pg
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

# Stops everything started so far, the latest first (the agent before its receiver).
stop_all() {
  local i f pid
  for pid in ${STARTED_GROUPS[@]+"${STARTED_GROUPS[@]}"}; do stop_group "$pid"; done
  STARTED_GROUPS=()
  for ((i = ${#PID_FILES[@]} - 1; i >= 0; i--)); do
    f="${PID_FILES[i]}"
    [[ -s "$f" ]] && { pid="$(tr -dc '0-9' <"$f")"; stop_pid "$pid"; }
    rm -f "$f"
  done
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED_PIDS[i]}"; done
  STARTED_PIDS=()
  PID_FILES=()
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

now_us() { echo "${EPOCHREALTIME/./}"; }
us_to_s() { printf '%d.%03d' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }

# bench_workspace NAME: the run's results dir OUT_DIR (kept; a new temp dir unless already set),
# its work dir WORK (logs/, run/; removed at exit unless KEEP=1) and the machine facts file
# FACTS; every daemon started is stopped at exit. Call it right after sourcing this file.
bench_workspace() {
  OUT_DIR="${OUT_DIR:-$(mktemp -d "/tmp/ferry-$1.XXXXXX")}"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferry-$1-work.XXXXXX")"
  mkdir -p "$OUT_DIR" "$WORK/logs" "$WORK/run"
  FACTS="$OUT_DIR/machine.txt"
  : >"$FACTS"
  trap bench_cleanup EXIT
}
bench_cleanup() {
  stop_all
  (( ${KEEP:-0} )) || rm -rf "$WORK"
}

# ---------------------------------------------------------------- the launcher

# launcher_check BIN JAVA_HOME_OR_EMPTY LOG ARGS...: "BIN ARGS..." from the repo root, in its own
# process group (a Ctrl-C stops the launcher's Maven build too), with a build timeout.
launcher_check() {
  local bin="$1" java_home="$2" log="$3"; shift 3
  local env_args=()
  [[ -n "$java_home" ]] && env_args=(JAVA_HOME="$java_home" PATH="$java_home/bin:$PATH")
  setsid env -C "$REPO_ROOT" ${env_args[@]+"${env_args[@]}"} "$bin" "$@" >"$log" 2>&1 &
  local pid=$! rc=0 deadline=$((SECONDS + FERRY_BUILD_TIMEOUT_S))
  STARTED_GROUPS+=("$pid")
  while alive "$pid" && (( SECONDS < deadline )); do sleep 0.5; done
  if alive "$pid"; then
    rc=124
    note "$bin did not finish in ${FERRY_BUILD_TIMEOUT_S}s"
  else
    wait "$pid" || rc=$?
  fi
  stop_all
  return "$rc"
}

# ferry_preflight LABEL JAVA_HOME_OR_EMPTY COMMAND: "FERRY_BIN COMMAND --help" (builds the jar
# when it is missing or stale), retried: a build can collide with another build in the same tree.
ferry_preflight() {
  local label="$1" java_home="$2" command="$3" log="$WORK/logs/ferry-preflight-$1-$3.log" attempt
  for attempt in 1 2 3; do
    note "checking the launcher for $label ($FERRY_BIN $command --help; may build the jar)"
    launcher_check "$FERRY_BIN" "$java_home" "$log" "$command" --help && return 0
    tail -n 15 "$log" >&2 || true
    (( attempt < 3 )) && sleep 5
  done
  note "the launcher fails for $label (log above)"
  return 1
}

# Build once before any timing, then run every daemon from a snapshot (the launcher,
# bin/jvm-flags, pom.xml and the jar copied into the work dir): all measurements use the same
# build, and sources that others edit during the run neither trigger a rebuild nor break a start.
# ferry_snapshot COMMAND...: the commands whose --help must run from the snapshot.
ferry_snapshot() {
  local snap="$WORK/ferry-snapshot" jar="$REPO_ROOT/bench/target/ferry.jar" command
  [[ "$(readlink -f "$FERRY_BIN")" == "$(readlink -f "$REPO_ROOT/bin/ferry")" && -f "$jar" ]] || return 0
  mkdir -p "$snap/bin" "$snap/bench/target"
  cp "$REPO_ROOT/bin/ferry" "$REPO_ROOT/bin/jvm-flags" "$snap/bin/"
  cp "$REPO_ROOT/pom.xml" "$snap/"
  cp "$jar" "$snap/bench/target/ferry.jar"
  touch "$snap/bench/target/ferry.jar"
  for command in "$@"; do
    if ! launcher_check "$snap/bin/ferry" "" "$WORK/logs/ferry-snapshot-$command.log" "$command" --help; then
      tail -n 15 "$WORK/logs/ferry-snapshot-$command.log" >&2 || true
      die "the snapshot of $jar does not run '$command' (rebuilt while copied?); try again"
    fi
  done
  FERRY_RUN_BIN="$snap/bin/ferry"
  [[ -n "${FACTS:-}" ]] && echo "ferry_jar=$(date -u -r "$jar" +%Y-%m-%dT%H:%M:%SZ) sha256:$(sha256sum "$snap/bench/target/ferry.jar" | cut -c1-12)" >>"$FACTS"
  note "daemons run from a snapshot of $jar"
}

# make_certs DIR: a CA and the certificates of the agent (CN $AGENT_ID) and receiver ($RECEIVER_ID).
make_certs() {
  local dir="$1" log="$WORK/logs/certs.log"
  mkdir -p "$dir"
  if ! { env -C "$REPO_ROOT" "$FERRY_RUN_BIN" cert ca --out "$dir" &&
         env -C "$REPO_ROOT" "$FERRY_RUN_BIN" cert issue --ca "$dir" --name "$AGENT_ID" --out "$dir" &&
         env -C "$REPO_ROOT" "$FERRY_RUN_BIN" cert issue --ca "$dir" --name "$RECEIVER_ID" --out "$dir"; } >"$log" 2>&1; then
    cat "$log" >&2
    die "ferry cert failed (log above)"
  fi
}

# ---------------------------------------------------------------- daemons

# agent_yaml FILE DATA_DIR NBD_PORT SOCKET_OR_EMPTY API_PORT RAW SIZE_BYTES RPO [RECEIVER_ADDR CERT_DIR]
agent_yaml() {
  local file="$1" data="$2" nbd_port="$3" sock="$4" api_port="$5" raw="$6" size="$7" rpo="$8"
  local receiver="${9:-}" certs="${10:-}"
  {
    echo "id: $AGENT_ID"
    echo "dataDir: $data"
    echo "nbd:"
    echo "  listen: 127.0.0.1:$nbd_port"
    [[ -n "$sock" ]] && echo "  socket: $sock"
    echo "api: { listen: 127.0.0.1:$api_port }"
    if [[ -n "$receiver" ]]; then
      echo "receiver: $receiver"
      echo "tls: { ca: $certs/ca.pem, cert: $certs/$AGENT_ID.pem, key: $certs/$AGENT_ID.key }"
    fi
    cat <<EOF
groups:
  - name: bench
    rpo: $rpo
    volumes:
      - name: vol
        path: $raw
        size: $size
EOF
  } >"$file"
}

# start_receiver TAG CERT_DIR: a receiver with a fresh, empty dataDir (WORK/run/TAG-rdata) that
# admits the agent for group "bench"; waits until its API answers /healthz. Sets RECEIVER_ADDR
# (its replication port), RECEIVER_API, RECEIVER_TOKEN, RECEIVER_LOG, RECEIVER_DATA_DIR.
start_receiver() {
  local tag="$1" certs="$2"
  local pidfile="$WORK/run/$tag-receiver.pid" yaml="$WORK/run/$tag-receiver.yaml" listen_port api_port
  RECEIVER_DATA_DIR="$WORK/run/$tag-rdata"
  RECEIVER_LOG="$WORK/logs/$tag-receiver.log"
  rm -rf "$RECEIVER_DATA_DIR" "$pidfile"; mkdir -p "$RECEIVER_DATA_DIR"
  listen_port="$(free_port)"; api_port="$(free_port)"
  RECEIVER_ADDR="127.0.0.1:$listen_port"
  RECEIVER_API="127.0.0.1:$api_port"
  RECEIVER_TOKEN="$RECEIVER_DATA_DIR/api.token"
  cat >"$yaml" <<EOF
id: $RECEIVER_ID
dataDir: $RECEIVER_DATA_DIR
listen: $RECEIVER_ADDR
api: { listen: $RECEIVER_API }
tls: { ca: $certs/ca.pem, cert: $certs/$RECEIVER_ID.pem, key: $certs/$RECEIVER_ID.key }
agents:
  - id: $AGENT_ID
    groups: [bench]
EOF
  PID_FILES+=("$pidfile")
  env -C "$REPO_ROOT" "$FERRY_RUN_BIN" receiver --config "$yaml" --pid-file "$pidfile" >"$RECEIVER_LOG" 2>&1 &
  local pid=$! deadline=$((SECONDS + FERRY_START_TIMEOUT_S))
  STARTED_PIDS+=("$pid")
  until curl -sf -m 2 "http://$RECEIVER_API/healthz" >/dev/null 2>&1 && [[ -s "$RECEIVER_TOKEN" ]]; do
    if ! alive "$pid"; then
      note "the receiver exited before its API answered; last lines of $RECEIVER_LOG:"
      tail -n 20 "$RECEIVER_LOG" >&2 || true
      return 1
    fi
    if (( SECONDS >= deadline )); then
      note "the receiver's API $RECEIVER_API did not answer in ${FERRY_START_TIMEOUT_S}s; last lines of $RECEIVER_LOG:"
      tail -n 20 "$RECEIVER_LOG" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# api_get ADDR TOKEN_FILE PATH: the JSON body, or fails.
api_get() {
  curl -sf -m 2 -H "Authorization: Bearer $(<"$2")" "http://$1$3"
}

# json_field JSON KEY: the first number or boolean under "KEY" in compact JSON (one group).
json_field() {
  local re="\"$2\":(-?[0-9.]+([eE][-+]?[0-9]+)?|true|false)"
  [[ "$1" =~ $re ]] && echo "${BASH_REMATCH[1]}"
}

# wait_agent_connected API TOKEN_FILE TIMEOUT_S: until the agent reports its receiver link up.
wait_agent_connected() {
  local deadline=$((SECONDS + $3)) json
  while (( SECONDS < deadline )); do
    json="$(api_get "$1" "$2" /v1/status 2>/dev/null)" || json=""
    [[ "$json" == *'"receiver":{'*'"connected":true'* ]] && return 0
    sleep 0.1
  done
  note "the agent did not connect to its receiver in $3 s; status: ${json:-none}"
  return 1
}

# wait_caught_up API TOKEN_FILE TIMEOUT_S [SAMPLES_FILE [SINCE_US]]: polls the agent's status
# every 100 ms until its group's ackedSeq reaches capturedSeq. Sets CAUGHT_UP (yes|no), CATCHUP_S
# (seconds from SINCE_US, default the call, to the first caught-up status, or to the timeout) and
# LAST_STATUS. Each status is appended to SAMPLES_FILE as "EPOCH_US<TAB>catchup<TAB>JSON" when given.
wait_caught_up() {
  local api="$1" token="$2" timeout_s="$3" samples="${4:-}" t0="${5:-}"
  local t deadline_us json captured acked
  [[ -n "$t0" ]] || t0="$(now_us)"
  deadline_us=$((t0 + timeout_s * 1000000))
  CAUGHT_UP=no; LAST_STATUS=""
  while :; do
    t="$(now_us)"
    json="$(api_get "$api" "$token" /v1/status 2>/dev/null)" || json=""
    if [[ -n "$json" ]]; then
      LAST_STATUS="$json"
      [[ -n "$samples" ]] && printf '%s\tcatchup\t%s\n' "$t" "$json" >>"$samples"
      captured="$(json_field "$json" capturedSeq)" || captured=""
      acked="$(json_field "$json" ackedSeq)" || acked=""
      if [[ -n "$captured" && -n "$acked" ]] && (( acked >= captured )); then
        CAUGHT_UP=yes
        break
      fi
    fi
    (( t >= deadline_us )) && { t="$(now_us)"; break; }
    sleep 0.1
  done
  CATCHUP_S="$(us_to_s $((t - t0)))"
}
