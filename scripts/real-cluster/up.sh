#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster on this machine (etcd, kube-apiserver, controller-manager,
# scheduler, containerd + runc, kubelet, kube-proxy, CoreDNS as a host process) and imports the pause
# image and $B/images/switchyard.tar (build-image.sh). Needs root and install.sh's tools.
# Prints a timestamped line per step; PIDs in $B/run, logs in $B/logs. On failure it tears down what it
# started (down.sh), so a failed start leaves no host change behind.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
mkdir -p "$B"/{run,logs,data,cni/ipam}
cd "$B"
failed() {
  echo "up.sh failed; the last lines of each component's log, then teardown:" >&2
  for f in "$B"/logs/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  bash "$here/down.sh" >&2
}
trap failed ERR
[ -f pki/ca.crt ] || bash "$here/gen-pki.sh"
bash "$here/gen-config.sh"
T0=$SECONDS; t() { echo "[up $((SECONDS - T0))s] $*"; }
start() { # name command...
  local n=$1; shift
  setsid nohup "$@" > "logs/$n.log" 2>&1 < /dev/null &
  echo $! > "run/$n.pid"
}
wait_for() { # description timeout command...
  local d=$1 to=$2; shift 2; local end=$((SECONDS + to))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { t "timed out after ${to}s waiting for: $d"; return 1; }
    sleep 0.5
  done
  t "$d"
}

# --- host network; the original sysctls are saved for down.sh ---
if [ ! -f run/sysctl.orig ]; then
  modprobe br_netfilter 2>/dev/null || true
  sysctl -n kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom net.ipv4.ip_forward \
    net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables | paste -sd' ' > run/sysctl.orig
fi
sysctl -qw net.bridge.bridge-nf-call-iptables=1
# The service CIDR is routed into an empty bridge (these kernels have no dummy driver): ClusterIP traffic
# that kube-proxy has not translated dies here instead of following the default route off the machine.
ip link show k8s-svc0 >/dev/null 2>&1 || ip link add k8s-svc0 type bridge
ip link set k8s-svc0 up
ip route replace "$SERVICE_CIDR" dev k8s-svc0
# Pods talk to each other and to this host only: anything forwarded from the pod CIDR out of the
# default-route interface is dropped.
iptables -N SWITCHYARD-EGRESS 2>/dev/null || iptables -F SWITCHYARD-EGRESS
iptables -A SWITCHYARD-EGRESS -s "$POD_CIDR" -o "$EXT_IF" -j DROP
iptables -C FORWARD -j SWITCHYARD-EGRESS 2>/dev/null || iptables -I FORWARD 1 -j SWITCHYARD-EGRESS
t "host network prepared (node $NODE_IP; pod egress through $EXT_IF dropped)"

# --- containerd and images ---
mkdir -p "$(dirname "$CTR_SOCK")"
start containerd containerd --config etc/containerd.toml
wait_for "containerd up" 60 ctr -a "$CTR_SOCK" version
import() { # archive: a freshly started containerd has been seen to drop the first ingest (EOF); retried
  local n
  for n in 1 2 3; do ctrk8s images import "$1" >/dev/null && return 0; sleep $n; done
  return 1
}
import "$IMAGES/pause.tar"
if [ -f images/switchyard.tar ]; then import images/switchyard.tar; fi
t "images imported"

# --- etcd, API server, controllers ---
start etcd etcd --name switchyard --data-dir "$B/data/etcd" \
  --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
  --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
  --initial-cluster switchyard=http://127.0.0.1:12380 --log-level warn
wait_for "etcd healthy" 60 curl -sf http://127.0.0.1:12379/health
P="$B/pki"
# Debian's etcd 3.4 lacks what ConsistentListFromCache needs (≥ 3.4.31).
start kube-apiserver kube-apiserver --etcd-servers=http://127.0.0.1:12379 \
  --bind-address=0.0.0.0 --secure-port=16443 --advertise-address="$NODE_IP" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$P/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --feature-gates=ConsistentListFromCache=false --v=1
wait_for "kube-apiserver ready" 180 kubectl get --raw /readyz
start kube-controller-manager kube-controller-manager --kubeconfig="$B/etc/admin.kubeconfig" \
  --leader-elect=false --secure-port=0 --controllers='*' --use-service-account-credentials=true \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --v=1
start kube-scheduler kube-scheduler --kubeconfig="$B/etc/admin.kubeconfig" --leader-elect=false --secure-port=0 --v=1
t "controller-manager and scheduler started"

# --- node agents ---
mkdir -p "$B/kubelet"
start kubelet kubelet --config="$B/etc/kubelet.yaml" --kubeconfig="$B/etc/kubelet.kubeconfig" \
  --hostname-override="$NODE" --node-ip="$NODE_IP" --root-dir="$B/kubelet" --v=1
start kube-proxy kube-proxy --config="$B/etc/kube-proxy.yaml" --v=1
wait_for "node registered" 180 kubectl get node "$NODE"
wait_for "node Ready" 180 kubectl wait --for=condition=Ready "node/$NODE" --timeout=2s

# --- cluster DNS: CoreDNS on the host at $NODE_IP:53, published as kube-dns 10.96.0.10 ---
start coredns coredns -conf "$B/etc/Corefile"
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: switchyard-test}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
YAML
wait_for "CoreDNS ready" 60 curl -sf http://127.0.0.1:18181/ready
wait_for "default ServiceAccount exists" 120 kubectl -n default get serviceaccount default
trap - ERR
t "cluster up (KUBECONFIG=$KUBECONFIG)"
