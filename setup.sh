#!/usr/bin/env bash
# setup.sh — install the Debian packages spadit builds against (idempotent).
# Usage: ./setup.sh        (needs root or sudo; does nothing when all are present)
set -euo pipefail
PKGS=(build-essential cmake pkg-config libopenblas-dev libopenblas-openmp-dev libcjson-dev libstb-dev
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
      chromium)  # chromium: the test that renders the A/B report in a headless browser
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
