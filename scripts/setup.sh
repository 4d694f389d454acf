#!/usr/bin/env bash
# Sets up tats on a fresh Debian 12 / Ubuntu 24.04 machine, from the package folder, as root:
# system packages (libtorch, compiler, cmake, ffmpeg; chromium for the dashboard's browser test),
# npm dependencies, the native addon and the TypeScript build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tats setup: run as root (sudo bash scripts/setup.sh) so that apt-get can install packages" >&2
  exit 2
fi

need=(cmake g++ ninja-build ccache libtorch-dev libgloo-dev ffmpeg python3 chromium)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tats setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "tats setup: npm ci" >&2
TATS_SKIP_INSTALL=1 npm ci --no-audit --no-fund
echo "tats setup: building the native addon and the TypeScript sources" >&2
npm run build
echo "tats setup: done. Try: npx tats info" >&2
