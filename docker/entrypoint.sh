#!/usr/bin/env bash
# slotgate's container entrypoint.
#
#   entrypoint.sh [slotgate options...]   run slotgate (exec: it is PID 1 and gets the signals)
#   entrypoint.sh healthcheck             exit 0 if GET /healthz on the admin port answers 200
#   entrypoint.sh check                   validate the configuration file and exit
#
# Configuration: the YAML file at $SLOTGATE_CONFIG (default /etc/slotgate/slotgate.yaml) when it
# exists; otherwise, or on top of it, these variables (command-line options override the file):
#   SLOTGATE_SEEDS         host:port[,host:port...]   cluster nodes to start from
#   SLOTGATE_LISTEN        data address (default 0.0.0.0:7777 without a file)
#   SLOTGATE_ADMIN_LISTEN  admin address or off (default 0.0.0.0:9121 without a file)
#   SLOTGATE_PROTECTED_MODE yes|no (default no without a file: a container serves other hosts;
#                          configure users or keep the port private)
#   SLOTGATE_UNIX_SOCKET   also serve this unix socket path (e.g. /run/slotgate/slotgate.sock)
#   SLOTGATE_THREADS, SLOTGATE_LOG_LEVEL
#   SLOTGATE_BIN           the binary (default: slotgate on PATH)
#   SLOTGATE_ADMIN_ADDR    where `healthcheck` connects (default 127.0.0.1:<admin port>)
set -euo pipefail

BIN=${SLOTGATE_BIN:-slotgate}
CONFIG=${SLOTGATE_CONFIG:-/etc/slotgate/slotgate.yaml}

args=()
if [[ -f $CONFIG ]]; then
  args+=(-c "$CONFIG")
else
  args+=(--listen "${SLOTGATE_LISTEN:-0.0.0.0:7777}" --admin-listen "${SLOTGATE_ADMIN_LISTEN:-0.0.0.0:9121}")
  args+=(--protected-mode "${SLOTGATE_PROTECTED_MODE:-no}")
fi
[[ -f $CONFIG && -n ${SLOTGATE_PROTECTED_MODE:-} ]] && args+=(--protected-mode "$SLOTGATE_PROTECTED_MODE")
[[ -n ${SLOTGATE_SEEDS:-} ]] && args+=(--seeds "$SLOTGATE_SEEDS")
[[ -f $CONFIG && -n ${SLOTGATE_LISTEN:-} ]] && args+=(--listen "$SLOTGATE_LISTEN")
[[ -f $CONFIG && -n ${SLOTGATE_ADMIN_LISTEN:-} ]] && args+=(--admin-listen "$SLOTGATE_ADMIN_LISTEN")
[[ -n ${SLOTGATE_UNIX_SOCKET:-} ]] && args+=(--unix-socket "$SLOTGATE_UNIX_SOCKET")
[[ -n ${SLOTGATE_THREADS:-} ]] && args+=(--threads "$SLOTGATE_THREADS")
[[ -n ${SLOTGATE_LOG_LEVEL:-} ]] && args+=(--log-level "$SLOTGATE_LOG_LEVEL")

# The admin address: the variable, else admin.listen in the file, else the default.
admin_addr() {
  if [[ -n ${SLOTGATE_ADMIN_ADDR:-} ]]; then echo "$SLOTGATE_ADMIN_ADDR"; return; fi
  local listen=${SLOTGATE_ADMIN_LISTEN:-}
  if [[ -z $listen && -f $CONFIG ]]; then
    # admin: listen: in the file, in bash alone (the image has no other tools).
    local line in_admin=0 pattern='^[[:space:]]+listen:[[:space:]]*"?([^"#[:space:]]*)'
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line == admin:* ]]; then in_admin=1; continue; fi
      [[ $line =~ ^[^[:space:]#] ]] && in_admin=0
      if ((in_admin)) && [[ $line =~ $pattern ]]; then listen=${BASH_REMATCH[1]}; break; fi
    done <"$CONFIG"
  fi
  listen=${listen:-0.0.0.0:9121}
  echo "127.0.0.1:${listen##*:}"
}

case ${1:-} in
  healthcheck)
    addr=$(admin_addr)
    exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
    printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
    IFS= read -r -t 3 status <&3 || exit 1
    exec 3<&-
    [[ $status == "HTTP/1.1 200"* ]] && exit 0
    exit 1
    ;;
  check)
    if [[ ! -f $CONFIG ]]; then echo "no configuration file at $CONFIG" >&2; exit 2; fi
    exec "$BIN" --check-config "$CONFIG"
    ;;
esac

exec "$BIN" "${args[@]}" "$@"
