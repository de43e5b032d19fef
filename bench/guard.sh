#!/usr/bin/env bash
# Guards benchmark: precision/recall of the secrets and PII detectors on a generated labelled
# set, against Presidio's pattern recognizers and detect-secrets (PyPI, in bench/.venv-guard)
# and LLM Guard's Secrets scanner (PyPI, in bench/.venv-llmguard).
# Usage: bench/guard.sh [--n N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-guard/bin/python ] || ! bench/.venv-guard/bin/python -c "import presidio_analyzer, detect_secrets, phonenumbers" 2>/dev/null; then
  python3 -m venv bench/.venv-guard
  bench/.venv-guard/bin/pip install -q "presidio-analyzer==2.2.366" "detect-secrets==1.5.0" phonenumbers
fi
# LLM Guard's Secrets scanner in its own venv: its engine (bc-detect-secrets) installs the same
# `detect_secrets` module as detect-secrets above. Without deps: the scanner needs neither
# torch nor transformers, which the package requires for its model-based scanners.
if [ ! -x bench/.venv-llmguard/bin/python ] || ! bench/.venv-llmguard/bin/python -c "import importlib.util as u; assert u.find_spec('llm_guard') and u.find_spec('detect_secrets') and u.find_spec('presidio_anonymizer') and u.find_spec('structlog')" 2>/dev/null; then
  python3 -m venv bench/.venv-llmguard
  bench/.venv-llmguard/bin/pip install -q --no-deps "llm-guard==0.3.16"
  bench/.venv-llmguard/bin/pip install -q "bc-detect-secrets==1.5.43" "presidio-anonymizer==2.2.358" "structlog>=24"
fi
cargo build --release -q
exec bench/.venv-guard/bin/python bench/guard.py "$@" 2> >(grep -v -E "tldextract|Traceback|publicsuffix|^\s|Error|error|During handling|^$" >&2)
