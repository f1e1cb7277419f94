#!/usr/bin/env bash
# Makes the certificates the TLS examples mount (docker-compose.tls.yml, sidecar/docker-compose.tls.yml):
# a CA, one certificate for the six nodes, slotgate's server certificate (for its TLS clients) and
# its client certificate (for nodes with tls-auth-clients yes), and a client certificate for an app.
# They are mounted as volumes, never copied into an image. Bring your own in production: the file
# names below are what the example configurations expect.
#   make-certs.sh [DIR] [EXTRA_IPS]     DIR defaults to docker/tls/certs; does nothing if DIR/ca.crt exists
# EXTRA_IPS: more addresses for the node and slotgate certificates (comma-separated), e.g. 127.0.0.1.
set -euo pipefail
DIR=${1:-$(dirname "$0")/certs}
EXTRA=${2:-}
DAYS=${SLOTGATE_CERT_DAYS:-365}
if [[ -f $DIR/ca.crt ]]; then
  echo "make-certs: $DIR/ca.crt exists, nothing to do"
  exit 0
fi
mkdir -p "$DIR"
cd "$DIR"

sans() {  # sans "DNS:a" "172.28.0.1" ... -> subjectAltName value, with EXTRA's addresses
  local out=() item
  for item in "$@" ${EXTRA//,/ }; do
    [[ $item == *:* ]] && out+=("$item") || out+=("IP:$item")
  done
  (IFS=,; echo "${out[*]}")
}

issue() {  # issue NAME CN USAGE [SAN]
  local name=$1 cn=$2 usage=$3 san=${4:-}
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } > "$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
    -out "$name.csr" -subj "/O=slotgate example/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
  -days "$DAYS" -subj "/O=slotgate example/CN=slotgate example CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
# The nodes: one certificate naming every address they announce (slotgate checks the name
# against the address CLUSTER SHARDS gives); server and client use (bus and replication links).
issue node redis-node serverAuth,clientAuth \
  "$(sans DNS:localhost 172.28.0.11 172.28.0.12 172.28.0.13 172.28.0.14 172.28.0.15 172.28.0.16)"
issue slotgate slotgate serverAuth "$(sans DNS:slotgate DNS:localhost 172.28.0.30)"
issue slotgate-client slotgate-client clientAuth
issue app app clientAuth
rm -f ca.srl
# The containers run as other users than the one running this script (slotgate uid 10001, the
# redis image's redis user): the keys must be readable by them. Tighten this in production
# (owner and mode 0600 per container).
chmod 0644 ./*.key ./*.crt
chmod 0600 ca.key  # no container needs it
echo "make-certs: wrote $(ls | tr '\n' ' ')in $DIR"
