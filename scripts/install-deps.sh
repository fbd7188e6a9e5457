#!/usr/bin/env bash
# Installs every build/test dependency from Debian packages (bookworm). Idempotent.
# Used by the README's setup command, by .ci/run and by docker/Dockerfile: one recipe.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev nlohmann-json3-dev libopenblas-dev libtbb-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libcli11-dev
  libsndfile1-dev libsoxr-dev libfftw3-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  libstb-dev libpng-dev libjpeg-dev libwebp-dev libgif-dev
  libssl-dev
  python3 python3-numpy curl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
