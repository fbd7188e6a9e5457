#!/bin/sh
# Container entry: checks that a model is mounted, then runs the server (flags pass through;
# GEMMA3N_* environment variables configure the rest).
set -eu
MODEL="${GEMMA3N_MODEL:-/models}"
if [ ! -f "$MODEL/config.json" ]; then
  echo "entrypoint: no model in $MODEL (mount a Gemma 3n model directory there, e.g." >&2
  echo "  docker run -v ~/models/gemma-3n-E2B-it:/models:ro ...)" >&2
  exit 64
fi
exec /usr/local/bin/gemma3n-server "$@"
