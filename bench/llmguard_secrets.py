"""LLM Guard's Secrets input scanner (PyPI llm-guard, with its bc-detect-secrets engine and
custom plugins) over a JSONL file of {"text": ...}; prints one JSON line per text with the
secret spans it finds, then the wall time. Runs in bench/.venv-llmguard (see guard.sh).

The package's `__init__.py` imports every scanner, and with them torch and transformers; the
Secrets scanner needs neither, so its module is loaded on its own (the packages above it are
registered without running their `__init__`)."""
import importlib.util, json, os, sys, tempfile, time, types

root = os.path.dirname(importlib.util.find_spec("llm_guard").origin)
base = os.path.join(root, "input_scanners")
for name, path in [("llm_guard", root), ("llm_guard.input_scanners", base)]:
    pkg = types.ModuleType(name)
    pkg.__path__ = [path]
    sys.modules[name] = pkg
spec = importlib.util.spec_from_file_location("llm_guard.input_scanners.secrets", os.path.join(base, "secrets.py"))
mod = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = mod
spec.loader.exec_module(mod)

from detect_secrets.core.secrets_collection import SecretsCollection  # noqa: E402
from detect_secrets.settings import transient_settings  # noqa: E402

scanner = mod.Secrets()
texts = [json.loads(l)["text"] for l in open(sys.argv[1]) if l.strip()]
t0 = time.perf_counter()
out = []
for prompt in texts:
    # Scanner.scan's own steps (temporary file, its plugin configuration, the value located
    # with str.find), keeping the spans instead of the redacted text.
    spans = []
    if prompt.strip():
        secrets = SecretsCollection()
        f = tempfile.NamedTemporaryFile(delete=False)
        f.write(prompt.encode("utf-8"))
        f.close()
        with transient_settings(scanner._detect_secrets_config):
            secrets.scan_file(str(f.name))
        os.remove(f.name)
        for file in secrets.files:
            for s in secrets[file]:
                if s.secret_value is None:
                    continue
                i = prompt.find(s.secret_value)
                if i >= 0:
                    spans.append([i, i + len(s.secret_value)])
    out.append(spans)
dt = time.perf_counter() - t0
for s in out:
    print(json.dumps(s))
print(json.dumps({"seconds": dt}))
