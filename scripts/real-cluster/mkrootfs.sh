#!/usr/bin/env bash
# Root filesystem of the members' base image: Debian trixie minbase with Debian's Node.js 20 and npm
# (bookworm's Node is 18, below the project's engines field). Usage: mkrootfs.sh DIR
set -euo pipefail
R="$1"
rm -rf "$R"
debootstrap --variant=minbase --components=main trixie "$R" http://deb.debian.org/debian >&2
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2>/dev/null || true' EXIT
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
chroot "$R" apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get install -y -q --no-install-recommends nodejs npm ca-certificates >&2
chroot "$R" apt-get clean
rm -rf "$R/var/lib/apt/lists/"* "$R/usr/sbin/policy-rc.d"
: > "$R/etc/resolv.conf"
echo "node $(chroot "$R" node --version), npm $(chroot "$R" npm --version), Debian $(cat "$R/etc/debian_version")" >&2
