#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions below are called indirectly (traps, wait_for)
# demo_cluster.sh — a throw-away Redis Cluster (3 masters + 3 replicas on loopback) with slotgate
# in front of it on 127.0.0.1:7777. Used by `make run`.
#
#   scripts/demo_cluster.sh [path/to/slotgate]      (default: build/slotgate)
#
# Environment: SLOTGATE_PORT (default 7777), SLOTGATE_THREADS (default 2),
#              SLOTGATE_LOG_LEVEL (default info).
# Ctrl-C (or SIGTERM, or any failure) stops slotgate and every node and removes the temp dir.
set -euo pipefail

SLOTGATE_BIN=${1:-build/slotgate}
LISTEN_PORT=${SLOTGATE_PORT:-7777}
THREADS=${SLOTGATE_THREADS:-2}
LOG_LEVEL=${SLOTGATE_LOG_LEVEL:-info}
HOST=127.0.0.1
NODES=6                # 3 masters + 3 replicas
FIRST_PORT=30001       # data ports 30001.. and cluster-bus ports 31001..: both below the
BUS_OFFSET=1000        # kernel's ephemeral range (32768+), so outgoing connections never take them
LAST_PORT=30999

die() { echo "demo_cluster: $*" >&2; exit 1; }
say() { echo "demo_cluster: $*"; }

[[ -x $SLOTGATE_BIN ]] || die "slotgate binary '$SLOTGATE_BIN' not found or not executable (build it first)"
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools)"
done

# True if something accepts connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s, at most SECONDS.
wait_for() {
  local seconds=$1 what=$2 tries
  shift 2
  for ((tries = seconds * 10; tries > 0; tries--)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  die "timed out after ${seconds}s waiting for $what"
}

port_in_use "$LISTEN_PORT" && die "port $LISTEN_PORT is already in use; stop whatever listens there (or set SLOTGATE_PORT)"

WORKDIR=$(mktemp -d -t slotgate-demo.XXXXXX)
NODE_PIDS=()
SLOTGATE_PID=

stop_pid() {  # SIGTERM, then SIGKILL after 5 s
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  echo
  say "stopping"
  [[ -n $SLOTGATE_PID ]] && stop_pid "$SLOTGATE_PID"
  local pid
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORKDIR"
  say "stopped slotgate and ${#NODE_PIDS[@]} redis-server nodes, removed $WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- pick ports: data port P and bus port P+1000, both free ------------------------------------
PORTS=()
port=$FIRST_PORT
while ((${#PORTS[@]} < NODES)); do
  ((port <= LAST_PORT)) || die "not enough free ports in $FIRST_PORT-$LAST_PORT"
  if ! port_in_use "$port" && ! port_in_use $((port + BUS_OFFSET)); then
    PORTS+=("$port")
  fi
  port=$((port + 1))
done

node_answers() { [[ $(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

# --- start the nodes -------------------------------------------------------------------------
for port in "${PORTS[@]}"; do
  dir=$WORKDIR/$port
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<EOF
port $port
cluster-port $((port + BUS_OFFSET))
bind $HOST
protected-mode no
daemonize no
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
appendonly no
save ""
dir $dir
logfile $dir/redis.log
EOF
  redis-server "$dir/redis.conf" >"$dir/stdout.log" 2>&1 &
  NODE_PIDS+=($!)
done
for port in "${PORTS[@]}"; do
  wait_for 10 "redis-server on port $port" node_answers "$port"
done
say "started ${#PORTS[@]} redis-server nodes on ports ${PORTS[*]} (data in $WORKDIR)"

# --- create the cluster ----------------------------------------------------------------------
ADDRS=()
for port in "${PORTS[@]}"; do ADDRS+=("$HOST:$port"); done
if ! redis-cli --cluster create "${ADDRS[@]}" --cluster-replicas 1 --cluster-yes \
    >"$WORKDIR/cluster-create.log" 2>&1 </dev/null; then
  cat "$WORKDIR/cluster-create.log" >&2
  die "redis-cli --cluster create failed"
fi

# Every node says cluster_state:ok and already knows all 3 replicas (so slotgate sees them too).
cluster_ok() {
  local port replicas
  for port in "${PORTS[@]}"; do
    redis-cli -h "$HOST" -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    replicas=$(redis-cli -h "$HOST" -p "$port" cluster nodes 2>/dev/null | awk '$3 ~ /slave/' | wc -l)
    ((replicas == NODES / 2)) || return 1
  done
}
wait_for 30 "cluster_state:ok and all replicas attached on every node" cluster_ok
MASTER_PORTS=$(redis-cli -h "$HOST" -p "${PORTS[0]}" cluster nodes | awk '$3 ~ /master/ && $9 != "" { split($2, a, "[:@]"); print a[2] }' | sort -n | tr '\n' ' ')
say "cluster is up (masters: ${MASTER_PORTS% })"

# --- start slotgate ----------------------------------------------------------------------------
SEEDS=$(IFS=,; echo "${ADDRS[*]}")
"$SLOTGATE_BIN" --seeds "$SEEDS" --listen "$HOST:$LISTEN_PORT" --threads "$THREADS" \
  --log-level "$LOG_LEVEL" &
SLOTGATE_PID=$!

slotgate_ready() {
  kill -0 "$SLOTGATE_PID" 2>/dev/null || die "slotgate exited during start-up"
  [[ $(redis-cli -h "$HOST" -p "$LISTEN_PORT" set slotgate:demo:ready 1 2>/dev/null) == OK ]]
}
wait_for 20 "slotgate to answer on $HOST:$LISTEN_PORT" slotgate_ready
redis-cli -h "$HOST" -p "$LISTEN_PORT" del slotgate:demo:ready >/dev/null 2>&1 || true

echo
echo "slotgate is listening on $HOST:$LISTEN_PORT in front of a 3-master cluster (ports ${PORTS[*]})." \
  "Connect with: redis-cli -p $LISTEN_PORT   (Ctrl-C stops everything)"
echo

# Runs until Ctrl-C / SIGTERM (the traps exit, and the EXIT trap cleans up) or until slotgate exits.
set +e
wait "$SLOTGATE_PID"
status=$?
set -e
SLOTGATE_PID=
# Ctrl-C in a terminal reaches slotgate too: it shuts down cleanly (status 0), and so does this.
((status == 0)) && exit 0
die "slotgate exited on its own with status $status"
