#!/usr/bin/env bash
# Makes the debian:bookworm image from Debian's own packages when no registry can be reached:
# debootstrap (minbase) into a directory, packed once into a cached rootfs tarball, imported.
# Usage: base_image.sh TAG [CACHE_DIR]   (does nothing if TAG exists; prints "built" if it made it)
set -euo pipefail
TAG=${1:?usage: base_image.sh TAG [CACHE_DIR]}
CACHE=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/slotgate}
DOCKER=${DOCKER:-docker}

if $DOCKER image inspect "$TAG" >/dev/null 2>&1; then exit 0; fi

# The mirror apt uses on this host, so debootstrap works wherever apt-get does.
mirror=$(sed -n 's/^URIs:[[:space:]]*\(.*debian\/\?\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources \
           2>/dev/null | grep -v security | head -n1)
[[ -z $mirror ]] && mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' \
                               /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

tarball=$CACHE/debian-bookworm-minbase.tar
if [[ ! -s $tarball ]]; then
  command -v debootstrap >/dev/null || { echo "base_image: debootstrap is not installed" >&2; exit 1; }
  mkdir -p "$CACHE"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  echo "base_image: debootstrap bookworm from $mirror (a few minutes, once)" >&2
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
$DOCKER import --change 'CMD ["bash"]' "$tarball" "$TAG" >/dev/null
echo built
