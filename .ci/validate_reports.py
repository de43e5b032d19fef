#!/usr/bin/env python3
"""Validate Rampart's SARIF against the official SARIF 2.1.0 schema (shipped in the npm package
@microsoft/jest-sarif) and its JSON report against docs/scan-report.schema.json.

usage: validate_reports.py RAMPART_BINARY SARIF_SCHEMA
"""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema

rampart, sarif_schema = sys.argv[1], sys.argv[2]
repo = Path(__file__).resolve().parent.parent
targets = [str(repo / "fixtures/malicious"), str(repo / "fixtures/benign"), str(repo / "fixtures/malformed"), "/no/such/path"]

sarif = json.loads(subprocess.run([rampart, "scan", "--format", "sarif", *targets], capture_output=True, text=True).stdout)
schema = json.loads(Path(sarif_schema).read_text())
jsonschema.validate(sarif, schema, cls=jsonschema.Draft7Validator)
n = len(sarif["runs"][0]["results"])
assert n > 50, n
print(f"SARIF valid against {Path(sarif_schema).name}: {n} results")

report = json.loads(subprocess.run([rampart, "scan", "--format", "json", *targets], capture_output=True, text=True).stdout)
jsonschema.validate(report, json.loads((repo / "docs/scan-report.schema.json").read_text()), cls=jsonschema.Draft7Validator)
print(f"JSON report valid against docs/scan-report.schema.json: {len(report['findings'])} findings")
