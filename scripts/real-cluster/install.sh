#!/usr/bin/env bash
# Installs everything a real single-node cluster needs, cached outside the repo (idempotent; only
# what is missing is installed or built):
#   Debian packages  containerd, runc, CNI plugins, iptables, etcd, podman, debootstrap, …
#   Go binaries      kube-apiserver … kubelet, kubectl, CoreDNS, helm (scripts/kube-tools/install.sh --node)
#   images           pause (built from the kubernetes module's pause.c) and the members' base image
#                    (Debian trixie + Node 20, made with debootstrap) as OCI archives in $TOOLS/images
# The project's own image is built per checkout by build-image.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
T0=$SECONDS; t() { echo "[install $((SECONDS - T0))s] $*" >&2; }
mkdir -p "$TOOLS"
# One install at a time: the test runner's prefetch (scripts/prefetch-tools.sh) and the suite may both ask.
exec 7>"$TOOLS/.real-cluster-install.lock"
flock 7

packages=(containerd runc containernetworking-plugins iptables conntrack ethtool ebtables socat
  debootstrap etcd-server podman buildah uidmap fuse-overlayfs gcc libc6-dev python3 openssl curl bc)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  t "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >&2
  # Packages may start their own daemons (etcd, containerd) where no policy-rc.d forbids it; the cluster runs its own.
  for s in etcd containerd; do (service "$s" stop || true) >/dev/null 2>&1; done
fi

bash "$here/../kube-tools/install.sh" --node >/dev/null
t "Go binaries in $TOOLS"

mkdir -p "$IMAGES"
if [ ! -f "$IMAGES/pause.tar" ]; then
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  kmod="$(cd "$here/../kube-tools" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)"
  mkdir -p "$work/root"
  gcc -Os -static -Wall -DVERSION=v3.10-switchyard -o "$work/root/pause" "$kmod/build/pause/linux/pause.c"
  strip "$work/root/pause"
  python3 "$here/mkimage.py" registry.k8s.io/pause:3.10 "$work/root" "$IMAGES/pause.tar.tmp" \
    --entrypoint '["/pause"]' --user 65535:65535 >&2
  mv "$IMAGES/pause.tar.tmp" "$IMAGES/pause.tar"
  rm -rf "$work"; trap - EXIT
  t "pause image"
fi
if [ ! -f "$IMAGES/node-base.tar" ]; then
  t "making the members' base image (debootstrap, a few minutes)"
  root="$IMAGES/node-base-root"
  bash "$here/mkrootfs.sh" "$root"
  python3 "$here/mkimage.py" "$BASE_IMAGE" "$root" "$IMAGES/node-base.tar.tmp" --cmd '["node"]' >&2
  mv "$IMAGES/node-base.tar.tmp" "$IMAGES/node-base.tar"
  rm -rf "$root"
  t "base image $BASE_IMAGE"
fi
echo "$TOOLS"
