#!/usr/bin/env bash
# Builds every tool the Kubernetes and Prometheus suites need (scripts/kube-tools, real-cluster,
# prometheus-operator, prometheus), in the order the suites ask for them, so that on a fresh machine
# the builds (≈ 25 min on 2 cores) overlap the suites that need none. scripts/run-tests.mjs starts it
# in the background for a whole run as root on Linux; each installer takes a lock, so a suite asking
# for a tool meanwhile waits for it rather than building it twice. A failure here only ends the
# prefetch: the suite that needs the tool runs its installer itself and reports what went wrong.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for step in "kube-tools/install.sh" "real-cluster/install.sh" "prometheus-operator/install.sh" "prometheus/install.sh"; do
  t0=$SECONDS
  if ! bash "$here/$step" >/dev/null; then
    echo "prefetch: $step failed after $((SECONDS - t0)) s; the suite that needs it will run it again" >&2
    exit 1
  fi
  echo "prefetch: $step done in $((SECONDS - t0)) s" >&2
done
