#!/usr/bin/env bash
# The cluster's PKI in $B/pki: a CA; the API server's serving cert; client certs for the admin, the
# kubelet and the API server (towards the kubelet); the kubelet's serving cert; service-account keys.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
P="$B/pki"; mkdir -p "$P"; cd "$P"
openssl genrsa -out ca.key 2048 2>/dev/null
openssl req -x509 -new -nodes -key ca.key -subj "/CN=switchyard-test-ca" -days 3650 -out ca.crt
sign() { # name subject [extensions]
  openssl genrsa -out "$1.key" 2048 2>/dev/null
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  if [ -n "${3:-}" ]; then printf '%s\n' "$3" > "$1.ext"; ext=(-extfile "$1.ext"); else ext=(); fi
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" "${ext[@]}" 2>/dev/null
}
sign apiserver "/CN=kube-apiserver" "subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP
extendedKeyUsage=serverAuth"
sign admin "/O=system:masters/CN=switchyard-admin" "extendedKeyUsage=clientAuth"
sign kubelet-client "/O=system:nodes/CN=system:node:$NODE" "extendedKeyUsage=clientAuth"
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
sign kubelet-serving "/O=system:nodes/CN=system:node:$NODE" "subjectAltName=DNS:$NODE,IP:$NODE_IP,IP:127.0.0.1
extendedKeyUsage=serverAuth"
openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
rm -f ./*.csr ./*.ext
