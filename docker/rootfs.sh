#!/usr/bin/env bash
# Assembles the runtime image's whole filesystem in DIR: the given binaries, the shared libraries
# they load (ldd) and the loader's cache, a passwd entry for the unprivileged user, /tmp and
# /run/slotgate (for a unix socket on a shared volume). Nothing else: no shell tools, no apt.
#   rootfs.sh DIR BINARY...        (run in the image's build stage)
set -euo pipefail
DIR=$1
shift
mkdir -p "$DIR"/{etc,tmp,run/slotgate,usr/local/bin}
chmod 1777 "$DIR/tmp"
for bin in "$@"; do
  cp -L "$bin" "$DIR/usr/local/bin/"
  # "libx.so => /lib/.../libx.so (0x...)" and the loader's own "/lib64/ld-linux-x86-64.so.2 (0x...)".
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    cp -L --parents "$lib" "$DIR"
  done
done
printf '%s\n' /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu > "$DIR/etc/ld.so.conf"
ldconfig -r "$DIR"
printf 'root:x:0:0:root:/root:/usr/local/bin/bash\nslotgate:x:10001:10001::/nonexistent:/usr/sbin/nologin\n' \
  > "$DIR/etc/passwd"
printf 'root:x:0:\nslotgate:x:10001:\n' > "$DIR/etc/group"
chown 10001:10001 "$DIR/run/slotgate"
