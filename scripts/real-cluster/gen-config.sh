#!/usr/bin/env bash
# Writes $B/etc: kubeconfigs, containerd.toml, kubelet.yaml, kube-proxy.yaml, the Corefile and the CNI
# configuration. Each workaround says which limit of these VMs it is for.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
P="$B/pki"; E="$B/etc"
mkdir -p "$E/manifests" "$B/cni/net.d"
kubeconfig() { # file user cert
cat > "$E/$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: switchyard
  cluster: {server: "https://$NODE_IP:16443", certificate-authority: $P/ca.crt}
users:
- name: $2
  user: {client-certificate: $P/$3.crt, client-key: $P/$3.key}
contexts:
- name: switchyard
  context: {cluster: switchyard, user: $2}
current-context: switchyard
YAML
}
kubeconfig admin.kubeconfig switchyard-admin admin
kubeconfig kubelet.kubeconfig "system:node:$NODE" kubelet-client

cat > "$E/containerd.toml" <<TOML
version = 2
root = "$B/containerd/root"
state = "$(dirname "$CTR_SOCK")"
[grpc]
  address = "$CTR_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # No CAP_SYS_RESOURCE in these VMs: a negative oom_score_adj (the kubelet gives pause -998) makes runc
  # fail ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied"). Clamp to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # crun fails on the hybrid cgroup layout here ("cgroups in hybrid mode not supported").
        BinaryName = "/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$B/cni/net.d"
TOML

cat > "$E/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CTR_SOCK
cgroupDriver: cgroupfs
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
resolvConf: /etc/resolv.conf
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
staticPodPath: $E/manifests
serializeImagePulls: false
# Secrets and ConfigMaps mounted as volumes are refreshed on a pod's periodic sync (default 1m); the
# configuration the Prometheus Operator regenerates for a new testbed is such a Secret. (It shortened
# the first testbed's dashboard wait in a part-run; later testbeds in a full run still wait ~2 min.)
syncFrequency: 10s
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
# No CAP_SYS_RESOURCE: the kubelet can neither lower its oom_score_adj nor raise RLIMIT_NOFILE (hard 20000).
oomScoreAdj: 0
maxOpenFiles: 20000
YAML

cat > "$E/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $E/admin.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE
bindAddress: $NODE_IP
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
oomScoreAdj: 0
YAML

# Cluster names only: nothing is forwarded to an outside resolver (pod traffic stays on this machine).
cat > "$E/Corefile" <<COREFILE
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $E/admin.kubeconfig switchyard
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
COREFILE

cat > "$B/cni/net.d/10-switchyard.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "switchyard-net",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$B/cni/ipam",
              "ranges": [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
