#!/usr/bin/env bash
# Stops everything up.sh started and undoes every host change it made: sysctls, iptables chains,
# bridges, pod network namespaces, mounts, cgroups. Safe to run any number of times.
# --purge also deletes the cluster's state (etcd data, kubelet and containerd roots, logs, images).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
[ -d "$B" ] || exit 0
cd "$B"
stop() { # name: TERM, up to 15 s, then KILL
  local f=run/$1.pid p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
  fi
  rm -f "$f"
}
# 1. controllers first (else StatefulSets recreate the pods being deleted); then the kubelet tears the
#    pods down properly (CNI DEL, unmounts) while it and the API server still run.
stop kube-controller-manager; stop kube-scheduler
if [ -f run/kubelet.pid ] && kill -0 "$(cat run/kubelet.pid)" 2>/dev/null && kubectl get --raw /readyz >/dev/null 2>&1; then
  kubectl delete pods --all --all-namespaces --grace-period=2 --wait=false >/dev/null 2>&1
  for _ in $(seq 90); do [ -z "$(kubectl get pods -A --no-headers 2>/dev/null)" ] && break; sleep 2; done
  for _ in $(seq 20); do [ -z "$(ctrk8s tasks ls -q 2>/dev/null)" ] && break; sleep 1; done
fi
# 2. control plane and node agents
for n in kube-proxy kubelet kube-scheduler kube-controller-manager coredns kube-apiserver etcd; do stop "$n"; done
# 3. what the kubelet left in containerd, then containerd (shims outlive it otherwise)
if ctr -a "$CTR_SOCK" version >/dev/null 2>&1; then
  for t in $(ctrk8s tasks ls -q 2>/dev/null); do ctrk8s tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $(ctrk8s tasks ls -q 2>/dev/null); do ctrk8s tasks rm -f "$t" >/dev/null 2>&1; done
  for c in $(ctrk8s containers ls -q 2>/dev/null); do ctrk8s containers rm "$c" >/dev/null 2>&1; done
fi
stop containerd
pkill -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $CTR_SOCK" 2>/dev/null
# 4. pod network namespaces the kubelet did not tear down (nsfs bind mounts at /run/netns/cni-*)
for m in $(grep ' nsfs ' /proc/self/mountinfo | awk '{print $5}' | grep '^/run/netns/cni-'); do
  umount -l "$m" 2>/dev/null || { umount -l /run/netns 2>/dev/null; umount -l "$m"; }
  rm -f "$m"
done
# 5. mounts under our directories (projected-token tmpfs, overlay root filesystems, shm)
grep -E " ($B|$(dirname "$CTR_SOCK"))" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
# 6. iptables chains of kube-proxy, the kubelet, CNI and ours (the rule set is read into a variable
#    first: `iptables-save | grep -q` under pipefail fails by SIGPIPE on long rule sets)
for tbl in filter nat mangle; do
  rules=$(iptables-save -t "$tbl" 2>/dev/null)
  if grep -qE 'KUBE-|CNI-|SWITCHYARD-' <<<"$rules"; then
    grep -vE 'KUBE-|CNI-|SWITCHYARD-' <<<"$rules" | iptables-restore -T "$tbl"
  fi
done
ip link del cni0 2>/dev/null; ip link del k8s-svc0 2>/dev/null
if [ -f run/sysctl.orig ]; then
  read -r panic oops overcommit oom fwd localnet brnf < run/sysctl.orig
  sysctl -qw kernel.panic="$panic" kernel.panic_on_oops="$oops" vm.overcommit_memory="$overcommit" \
    vm.panic_on_oom="$oom" net.ipv4.ip_forward="$fwd" net.ipv4.conf.all.route_localnet="$localnet" \
    net.bridge.bridge-nf-call-iptables="$brnf"
  rm -f run/sysctl.orig
fi
# 7. empty cgroups the kubelet (kubepods) and containerd (k8s.io) made in each v1 hierarchy
find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io -depth -type d -exec rmdir {} \; 2>/dev/null
rm -rf cni/ipam "$(dirname "$CTR_SOCK")" /run/containerd/runc/k8s.io
# containerd 1.6 keeps shim sockets and fifos under /run/containerd whatever its state directory
rmdir /run/containerd/fifo /run/containerd/s /run/containerd/runc /run/containerd 2>/dev/null
if [ "${1:-}" = "--purge" ]; then cd / && rm -rf "$B"; fi
echo "cluster down"
