#!/usr/bin/env bash
# Makes sure the real Prometheus server and promtool are on this machine, for the tests that
# scrape members and check every dashboard query: Debian's `prometheus` package (2.x; both
# binaries in /usr/bin) when either is missing. Prints the directory holding them on its last line.
# Exit 3 (with one line on stderr) when they are missing and cannot be installed here
# (not Linux with apt-get, or not root): tests skip on that, and fail on any other error.
set -euo pipefail

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "prometheus/promtool not installed, and installing Debian's prometheus package needs root and apt-get" >&2
    exit 3
  fi
  echo "installing prometheus from Debian..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package would start a system Prometheus on :9090 (and keep it running); the tests run
  # their own. A policy-rc.d that refuses every start (Debian Policy §9.3.3) keeps it stopped,
  # unless the machine already has a policy of its own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends prometheus >&2
  (service prometheus stop || true) >/dev/null 2>&1
fi
dirname "$(command -v prometheus)"
