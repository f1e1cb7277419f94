#!/usr/bin/env bash
# A stand-in application: plain redis-cli against localhost:6379, keys spread over all slots.
set -euo pipefail
i=0
while true; do
  redis-cli -h 127.0.0.1 -p 6379 set "app:key:$i" "$i" >/dev/null
  redis-cli -h 127.0.0.1 -p 6379 mget "app:key:$i" "app:key:$((i / 2))" "app:other:$i"
  i=$((i + 1))
  sleep 1
done
