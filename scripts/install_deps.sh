#!/usr/bin/env bash
# Installs the Debian packages slotgate needs to build, test and run its demo, if any is missing.
#   install_deps.sh           build, test, demo
#   install_deps.sh docker    the docker engine, compose and debootstrap (make test-docker)
#   install_deps.sh package   what cpack -G DEB uses to find the runtime dependencies
set -euo pipefail

PACKAGES=(cmake g++ make pkg-config libuv1-dev liburing-dev libyaml-cpp-dev libspdlog-dev libfmt-dev catch2
          libcli11-dev libssl-dev redis-server redis-tools python3 python3-redis python3-yaml
          python3-pytest  # runs the integration tests
          clang-format    # scripts/format.sh
          redis-redisearch  # a module whose commands no table knows, for the tests
          clang libclang-rt-14-dev)  # libFuzzer and the sanitizers' runtimes for make fuzz
case ${1:-} in
  docker) PACKAGES=(docker.io docker-compose debootstrap) ;;
  package) PACKAGES=(dpkg-dev file) ;;
  "") ;;
  *) echo "install_deps: unknown group '$1'" >&2; exit 2 ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install_deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a redis-server service on install; the tests and the demo run their own nodes.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
fi
