#!/usr/bin/env bash
# Builds the project's Dockerfile with podman on the local base image (no registry) and writes the
# image as an OCI archive to $B/images/switchyard.tar for containerd. Usage: build-image.sh [PROJECT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
project="$(cd "${1:-$here/../..}" && pwd)"
mkdir -p "$B/images"
# crun (podman's default runtime) refuses the hybrid cgroup layout of these VMs: use runc.
podman=(podman --runtime /usr/sbin/runc)
"${podman[@]}" image exists "$BASE_IMAGE" || "${podman[@]}" load -q -i "$IMAGES/node-base.tar" >&2
# The build context is the checkout without its build outputs (the Dockerfile builds dist/ itself).
ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
(cd "$project" && tar --exclude=./.git --exclude=./node_modules --exclude=./dist -cf - .) | tar -C "$ctx" -xf -
# RUN steps use the host network and the host's CA bundle: this sandbox re-signs TLS, and the base
# image's own bundle would not trust the npm registry.
"${podman[@]}" build -q --network=host --build-arg "NODE_IMAGE=$BASE_IMAGE" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -t "$SWITCHYARD_IMAGE" "$ctx" >&2
rm -f "$B/images/switchyard.tar"
"${podman[@]}" save -q --format oci-archive -o "$B/images/switchyard.tar" "$SWITCHYARD_IMAGE"
echo "$B/images/switchyard.tar"
