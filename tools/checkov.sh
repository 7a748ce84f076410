#!/usr/bin/env bash
# Scan infra/ with checkov (Bicep framework) and fail on any failed check or parsing error.
#
# checkov pins pycep-parser 0.5.1, which clashes with the project venv's 0.7.1, so checkov lives in
# its own venv (.venv-checkov, created on first use). checkov exits 0 when a Bicep file fails to
# parse, so this script reads the JSON report and treats parsing errors as failures too.
#
# Usage: tools/checkov.sh            exit 0 only if passed > 0, failed == 0 and parsing_errors == 0
# Env:   CHECKOV_VENV  venv path (default: <repo>/.venv-checkov)
#        CHECKOV_SPEC  pip requirement (default: checkov)
#        PYTHON        interpreter used to create the venv (default: python3)
#        CHECKOV_DIR   directory to scan (default: infra)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${CHECKOV_VENV:-$root/.venv-checkov}"
spec="${CHECKOV_SPEC:-checkov}"
scan_dir="${CHECKOV_DIR:-infra}"

if [[ ! -x "$venv/bin/checkov" ]]; then
    echo "checkov.sh: installing $spec into $venv (about a minute)" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    # Keep the venv out of git status and out of ruff (which honours .gitignore files).
    printf '*\n' > "$venv/.gitignore"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# --skip-download: no calls to the Prisma Cloud API (unreachable offline, slow otherwise).
# Exit status is ignored here on purpose: the verdict comes from the JSON summary below.
"$venv/bin/checkov" -d "$scan_dir" --framework bicep --skip-download --config-file "$root/.checkov.yaml" \
    -o json > "$report" || true

"$venv/bin/python" - "$report" <<'PY'
import json
import sys

with open(sys.argv[1], encoding="utf-8") as fh:
    raw = fh.read()
try:
    data = json.loads(raw) if raw.strip() else None
except json.JSONDecodeError:
    print("checkov: FAIL (output is not JSON)")
    print(raw[:2000], file=sys.stderr)
    sys.exit(2)
# One framework -> one object; several -> a list; nothing scanned -> a bare summary object.
reports = data if isinstance(data, list) else [data] if data else []
passed = failed = skipped = parsing = resources = 0
failures = []
for rep in reports:
    s = rep.get("summary", rep)
    passed += s.get("passed", 0)
    failed += s.get("failed", 0)
    skipped += s.get("skipped", 0)
    parsing += s.get("parsing_errors", 0)
    resources += s.get("resource_count", 0)
    for chk in rep.get("results", {}).get("failed_checks", []):
        failures.append(
            f"  {chk['check_id']} {chk['resource']} {chk['file_path']}:{chk['file_line_range'][0]} "
            f"{chk['check_name']}"
        )
    for path in rep.get("results", {}).get("parsing_errors", []) or []:
        failures.append(f"  parse error: {path}")
ok = failed == 0 and parsing == 0 and passed > 0
verdict = "OK" if ok else "FAIL"
print(
    f"checkov: {verdict} passed={passed} failed={failed} skipped={skipped} "
    f"parsing_errors={parsing} resources={resources}"
)
if failures:
    print("\n".join(failures), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
