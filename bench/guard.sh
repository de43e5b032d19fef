#!/usr/bin/env bash
# Guards benchmark: precision/recall of the secrets and PII detectors on a generated labelled
# set, against Presidio's pattern recognizers and detect-secrets (PyPI, in bench/.venv-guard).
# Usage: bench/guard.sh [--n N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-guard/bin/python ] || ! bench/.venv-guard/bin/python -c "import presidio_analyzer, detect_secrets, phonenumbers" 2>/dev/null; then
  python3 -m venv bench/.venv-guard
  bench/.venv-guard/bin/pip install -q "presidio-analyzer==2.2.366" "detect-secrets==1.5.0" phonenumbers
fi
cargo build --release -q
exec bench/.venv-guard/bin/python bench/guard.py "$@" 2> >(grep -v -E "tldextract|Traceback|publicsuffix|^\s|Error|error|During handling|^$" >&2)
