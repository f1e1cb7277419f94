#!/usr/bin/env bash
# Creates the compose file's cluster from its six nodes, once. Usage: cluster-init.sh [node...]
# REDIS_CLI_OPTS: more redis-cli options, e.g. "--tls --cacert /tls/ca.crt --cert ... --key ..."
# for nodes that serve TLS (docker-compose.tls.yml).
set -euo pipefail
NODES=("$@")
[[ ${#NODES[@]} -eq 0 ]] && NODES=(172.28.0.11:6379 172.28.0.12:6379 172.28.0.13:6379
                                   172.28.0.14:6379 172.28.0.15:6379 172.28.0.16:6379)
read -r -a OPTS <<< "${REDIS_CLI_OPTS:-}"
first=${NODES[0]}
if redis-cli "${OPTS[@]}" -h "${first%:*}" -p "${first##*:}" cluster info | grep -q '^cluster_state:ok'; then
  echo "cluster-init: the cluster already exists"
  exit 0
fi
redis-cli "${OPTS[@]}" --cluster create "${NODES[@]}" --cluster-replicas 1 --cluster-yes
for _ in $(seq 1 60); do
  if redis-cli "${OPTS[@]}" -h "${first%:*}" -p "${first##*:}" cluster info | grep -q '^cluster_state:ok'; then
    echo "cluster-init: cluster_state:ok"
    exit 0
  fi
  sleep 1
done
echo "cluster-init: the cluster did not reach cluster_state:ok" >&2
exit 1
