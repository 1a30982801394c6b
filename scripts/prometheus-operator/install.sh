#!/usr/bin/env bash
# Installs the Prometheus Operator and Prometheus for the real-cluster suite
# (test/support/prometheus-operator.ts), cached outside the repo like scripts/kube-tools/install.sh:
#   prometheus-operator, prometheus-config-reloader
#                   built from github.com/prometheus-operator/prometheus-operator (pinned in go.mod here)
#   its CRDs        monitoring.coreos.com, the module's own example/prometheus-operator-crd/ files
#   prometheus      built from github.com/prometheus/prometheus (pinned in server/go.mod: the newest
#                   release the operator is tested with), without its web UI, which the suite never
#                   opens (only the HTTP API): the UI's assets are built with npm, outside the module.
#                   Not Debian's package: it is built without Kubernetes service discovery (Debian has
#                   no client-go), so it cannot run a configuration the operator generates; it
#                   serves the local tests' file-based discovery (scripts/prometheus/install.sh).
# all static (CGO_ENABLED=0), and their images as OCI archives in $cache/images (no registry:
# `ctr images import` loads them), each running its binary as nobody (65534) from the path the
# upstream images use, which the operator's pod templates assume:
#   localhost/switchyard/prometheus-operator:OPERATOR_VERSION            /bin/operator
#   localhost/switchyard/prometheus-config-reloader:OPERATOR_VERSION     /bin/prometheus-config-reloader
#   localhost/switchyard/prometheus:PROMETHEUS_VERSION                   /bin/prometheus
# $cache/prometheus-stack.json names the versions, images and CRD directory for the test.
# Idempotent: only what is missing is built, one thing at a time, and a failed step leaves nothing
# behind. Prints the cache directory on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SWITCHYARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-tools}"
images="$cache/images"
mkimage="$here/../real-cluster/mkimage.py"
mkdir -p "$images"
exec 9>"$cache/.prometheus-install.lock"
flock 9
work="$(mktemp -d "$cache/.prometheus-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

operator_module=github.com/prometheus-operator/prometheus-operator
prometheus_module=github.com/prometheus/prometheus
operator_version="$(cd "$here" && go list -m -f '{{.Version}}' "$operator_module")"
# Prometheus X.Y.Z is published as module version v0.X0Y.Z (3.5.0 as v0.305.0).
prometheus_version="$(cd "$here/server" && go list -m -f '{{.Version}}' "$prometheus_module")"
minor="${prometheus_version#v0.}"; minor="${minor%%.*}"
prometheus_version="v$((10#$minor / 100)).$((10#$minor % 100)).${prometheus_version##*.}"
operator_image="localhost/switchyard/prometheus-operator:$operator_version"
reloader_image="localhost/switchyard/prometheus-config-reloader:$operator_version"
prometheus_image="localhost/switchyard/prometheus:$prometheus_version"

# build NAME VERSION MODULE_DIR PACKAGE: a static binary at $cache/NAME-VERSION.
build() {
  [ -x "$cache/$1-$2" ] && return
  echo "building $1 $2 (first run only)..." >&2
  (cd "$3" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$work/$1" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${2#v}" "$4")
  mv "$work/$1" "$cache/$1-$2"
}
build prometheus-operator "$operator_version" "$here" "$operator_module/cmd/operator"
build prometheus-config-reloader "$operator_version" "$here" "$operator_module/cmd/prometheus-config-reloader"
build prometheus "$prometheus_version" "$here/server" "$prometheus_module/cmd/prometheus"

crds="$cache/prometheus-operator-crds-$operator_version"
if [ ! -d "$crds" ]; then
  (cd "$here" && go mod download "$operator_module")
  dir="$(cd "$here" && go list -m -f '{{.Dir}}' "$operator_module")"
  mkdir "$work/crds"
  install -m 0644 "$dir"/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml "$work/crds/"
  mv "$work/crds" "$crds"
fi

# rootfs DIR BINARY: a root filesystem in $work/DIR with the binary at /bin/DIR, the user the
# images run as (nobody) and a /tmp.
rootfs() {
  local root="$work/$1"
  mkdir -p "$root"/{bin,etc,tmp}
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  install -m 0755 "$2" "$root/bin/$1"
}

# image NAME DIR ARCHIVE [WORKDIR]: the archive of $work/DIR, running /bin/DIR as nobody.
image() {
  python3 "$mkimage" "$1" "$work/$2" "$work/image.tar" --entrypoint "[\"/bin/$2\"]" \
    --user 65534:65534 --workdir "${4:-/}" >&2
  mv "$work/image.tar" "$3"
}

operator_tar="$images/prometheus-operator-$operator_version.tar"
if [ ! -f "$operator_tar" ]; then
  rootfs operator "$cache/prometheus-operator-$operator_version"
  image "$operator_image" operator "$operator_tar"
fi
reloader_tar="$images/prometheus-config-reloader-$operator_version.tar"
if [ ! -f "$reloader_tar" ]; then
  rootfs prometheus-config-reloader "$cache/prometheus-config-reloader-$operator_version"
  image "$reloader_image" prometheus-config-reloader "$reloader_tar"
fi
prometheus_tar="$images/prometheus-$prometheus_version.tar"
if [ ! -f "$prometheus_tar" ]; then
  rootfs prometheus "$cache/prometheus-$prometheus_version"
  # Its data directory, where the pod mounts a writable volume, is also its working directory.
  mkdir -p "$work/prometheus"/{prometheus,etc/prometheus}
  chown 65534:65534 "$work/prometheus/prometheus"
  image "$prometheus_image" prometheus "$prometheus_tar" /prometheus
fi

cat >"$work/stack.json" <<EOF
{
  "operatorVersion": "$operator_version",
  "prometheusVersion": "$prometheus_version",
  "crds": "$crds",
  "images": {
    "operator": { "name": "$operator_image", "archive": "$operator_tar" },
    "configReloader": { "name": "$reloader_image", "archive": "$reloader_tar" },
    "prometheus": { "name": "$prometheus_image", "archive": "$prometheus_tar" }
  }
}
EOF
mv "$work/stack.json" "$cache/prometheus-stack.json"
echo "$cache"
