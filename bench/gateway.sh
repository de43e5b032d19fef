#!/usr/bin/env bash
# Gateway benchmark: direct mock vs nginx vs Rampart (with and without guards) vs LiteLLM's
# proxy, in one run. Needs wrk and nginx (Debian packages); LiteLLM is installed from PyPI
# into bench/.venv-litellm. Usage: bench/gateway.sh [--secs 10] [--secs-100 N] [--soak 600] [--no-litellm] [--pin]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx-light)" >&2; exit 2; }
done
if [[ " $* " != *" --no-litellm "* ]] && [ ! -x bench/.venv-litellm/bin/litellm ]; then
  python3 -m venv bench/.venv-litellm
  bench/.venv-litellm/bin/pip install -q "litellm[proxy]"
fi
cargo build --release -q -p rampart
cargo build --release -q -p rampart-gateway --example loadgen
exec python3 bench/gateway.py "$@"
