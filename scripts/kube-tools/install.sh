#!/usr/bin/env bash
# Installs the real Kubernetes parts the tests run against, cached outside the repo:
#   kube-apiserver, kube-controller-manager  built from k8s.io/kubernetes (pinned in go.mod here)
#   helm            built from helm.sh/helm/v3 (pinned below)
#   etcd            Debian's etcd-server (the tests turn off the feature that wants etcd ≥ 3.4.31)
# With --node, also what a real single-node cluster needs (test/cluster/, scripts/real-cluster/):
#   kubelet, kube-scheduler, kube-proxy, kubectl  from the same pinned module
#   coredns         CoreDNS with the plugins a one-node cluster uses (coredns/, pinned)
# Prints the cache directory on its last line. Only the first run builds (minutes on 2 cores:
# the kubelet alone takes ~8). Builds run one at a time; a failed build leaves no binary behind.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SWITCHYARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-tools}"
kube_version="v1.33.13"
helm_version="v3.21.4"
coredns_version="v1.15.0"   # must match coredns/go.mod
# helm's default Kubernetes version for `helm template` and lint comes from its k8s.io modules,
# set by its Makefile through ldflags; `go install` must set them too (else it assumes 1.20).
helm_k8s_minor="36"
helm_build="$helm_version-k8s1.$helm_k8s_minor"
mkdir -p "$cache"
# One build at a time: the test runner's prefetch (scripts/prefetch-tools.sh) and a suite may both ask.
exec 8>"$cache/.kube-tools.lock"
flock 8

components=(kube-apiserver kube-controller-manager)
node=false
[ "${1:-}" = "--node" ] && { node=true; components+=(kubelet kube-scheduler kube-proxy kubectl); }

minor="${kube_version#v1.}"; minor="${minor%%.*}"
for component in "${components[@]}"; do
  if [ ! -x "$cache/$component-$kube_version" ]; then
    echo "building $component $kube_version (first run only)..." >&2
    (cd "$here" && go build -trimpath -o "$cache/$component-$kube_version.tmp" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
      "k8s.io/kubernetes/cmd/$component")
    mv "$cache/$component-$kube_version.tmp" "$cache/$component-$kube_version"
  fi
  ln -sf "$component-$kube_version" "$cache/$component"
done

if $node && [ ! -x "$cache/coredns-$coredns_version" ]; then
  echo "building coredns $coredns_version (first run only)..." >&2
  (cd "$here/coredns" && go build -trimpath -ldflags "-s -w" -o "$cache/coredns-$coredns_version.tmp" .)
  mv "$cache/coredns-$coredns_version.tmp" "$cache/coredns-$coredns_version"
fi
$node && ln -sf "coredns-$coredns_version" "$cache/coredns"

if [ ! -x "$cache/helm-$helm_build" ]; then
  echo "building helm $helm_version (first run only)..." >&2
  tmp="$(mktemp -d)"
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$helm_k8s_minor \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$helm_k8s_minor" \
    "helm.sh/helm/v3/cmd/helm@$helm_version"
  mv "$tmp/helm" "$cache/helm-$helm_build"
  rmdir "$tmp"
fi

if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
  echo "installing etcd-server from Debian..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends etcd-server >&2
  # The package starts a system etcd on the default ports; the tests run their own.
  (service etcd stop || pkill -x etcd || true) >/dev/null 2>&1
fi

ln -sf "helm-$helm_build" "$cache/helm"
echo "$cache"
