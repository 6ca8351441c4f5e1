#!/usr/bin/env bash
# make-busybox-rootfs.sh DIR: a minimal root file system in DIR from Debian's
# busybox-static: the static binary, a symlink per applet, and the few files
# programs expect (/etc/passwd, /etc/group, /tmp, ...). No libc: it also
# shows that containers run without one. Put DIR on a tmpfs.
set -euo pipefail

dir=${1:?usage: make-busybox-rootfs.sh DIR}
busybox=${BUSYBOX:-/bin/busybox}
if ! file_out=$(LC_ALL=C file -L "$busybox" 2>/dev/null) || ! grep -q "statically linked" <<<"$file_out"; then
  # Without file(1), ldd tells a static binary by refusing it.
  if ldd "$busybox" >/dev/null 2>&1; then
    echo "make-busybox-rootfs: $busybox is not statically linked (install busybox-static)" >&2
    exit 1
  fi
fi

mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,run,var/tmp,home}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  [ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
done
cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP
echo "berth" > "$dir/etc/hostname"
: > "$dir/etc/hosts"
: > "$dir/etc/resolv.conf"
