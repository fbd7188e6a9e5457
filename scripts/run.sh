#!/usr/bin/env bash
# Sets up (Debian packages), builds, and runs gemma3n-server. Without --model it serves the
# embedded demo model (random weights, real tokenizer) created on first run.
#   scripts/run.sh [gemma3n-server flags, e.g. --model DIR --port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
bash scripts/make-demo-model.sh build/bin
exec build/bin/gemma3n-server "$@"
