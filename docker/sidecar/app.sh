#!/usr/bin/env bash
# A stand-in application: plain redis-cli, keys spread over all slots. It talks to slotgate on the
# unix socket SLOTGATE_SOCKET when set (shared volume), else on REDIS_HOST:REDIS_PORT
# (default localhost:6379, the pod's loopback).
set -euo pipefail
if [[ -n ${SLOTGATE_SOCKET:-} ]]; then
  cli=(redis-cli -s "$SLOTGATE_SOCKET")
else
  cli=(redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}")
fi
i=0
while true; do
  "${cli[@]}" set "app:key:$i" "$i" >/dev/null
  "${cli[@]}" mget "app:key:$i" "app:key:$((i / 2))" "app:other:$i"
  i=$((i + 1))
  sleep 1
done
