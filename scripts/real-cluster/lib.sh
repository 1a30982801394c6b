# Shared settings for the real-cluster scripts (sourced, not run).
#   SWITCHYARD_CLUSTER_DIR  the cluster's state: pki, configs, etcd data, kubelet and containerd roots, logs
#   SWITCHYARD_TOOLS        the tool cache (binaries from scripts/kube-tools/install.sh, base images)
kube_version="v1.33.13"
B="${SWITCHYARD_CLUSTER_DIR:-/var/tmp/switchyard-cluster}"
TOOLS="${SWITCHYARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-tools}"
IMAGES="$TOOLS/images"
NODE=switchyard-node
# The node's address: pods reach the API server and CoreDNS there.
NODE_IP="${NODE_IP:-$(ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')}"
EXT_IF="$(ip -4 route get 1.1.1.1 | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
CTR_SOCK=/run/switchyard-cluster/containerd/containerd.sock
# The image every member and the operator run, built from the project's Dockerfile on a local base.
SWITCHYARD_IMAGE=localhost/switchyard/switchyard:dev
BASE_IMAGE=localhost/switchyard/node:20-trixie
PATH="$TOOLS:$PATH"
export KUBECONFIG="$B/etc/admin.kubeconfig"
ctrk8s() { ctr -a "$CTR_SOCK" -n k8s.io "$@"; }
