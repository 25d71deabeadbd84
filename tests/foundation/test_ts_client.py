"""Issue #15 point 11: the mini-program team builds from the OpenAPI document alone.

The TypeScript types are generated from the document the app serves (openapi-typescript, in
``clients/ts``) and a resident's flow written against them (``clients/ts/src/resident-flow.ts``:
log in, ask for a category, file a complaint, list my cases, rate one) is type-checked with
``tsc --noEmit``.  A field the document renames, retypes or drops fails here as it would fail the
mini-program's build.  Needs Node.js and npm (``scripts/setup --test`` installs them and runs
``npm ci``); skipped only where there is no ``node``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "clients" / "ts"
GENERATED = TS / "generated"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (node)")


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=TS, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def generated(app) -> Path:
    """``clients/ts/generated/schema.d.ts``, generated from the app's own document."""
    if not (TS / "node_modules" / ".package-lock.json").is_file():
        done = _run("npm", "ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr
    GENERATED.mkdir(exist_ok=True)
    with app.test_client() as client:
        doc = client.get("/api/v1/openapi.json").get_json()
    (GENERATED / "openapi.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    done = _run("node", "node_modules/openapi-typescript/bin/cli.js", "generated/openapi.json",
                "-o", "generated/schema.d.ts")
    assert done.returncode == 0, done.stdout + done.stderr
    return GENERATED / "schema.d.ts"


def _tsc(project: str = ".") -> subprocess.CompletedProcess:
    return _run("node", "node_modules/typescript/bin/tsc", "--noEmit", "-p", project)


def test_the_resident_flow_type_checks_against_the_generated_client(generated):
    done = _tsc()
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_types_say_what_the_api_sends(generated):
    text = generated.read_text(encoding="utf-8")
    # Decimals are exact strings on the wire, and the document says so.
    assert "area?: string | null;" in text
    # A nullable nested object is that object or null (not "any object").
    assert 'lead?: components["schemas"]["OrgRef"] | null;' in text
    assert "Record<string, never> | null" not in text


def test_a_flow_that_breaks_the_document_fails_the_check(generated, tmp_path):
    """The check has teeth: a rating sent as text, a field the document lacks, are type errors."""
    broken = GENERATED / "broken-flow.ts"
    broken.write_text(
        'import type { components } from "./schema";\n'
        'const rating: components["schemas"]["Rating"] = { rating: "five" };\n'
        'const c: components["schemas"]["Complaint"] = {};\n'
        "console.log(rating, c.no_such_field);\n", encoding="utf-8")
    config = GENERATED / "tsconfig.broken.json"
    config.write_text(json.dumps({"extends": "../tsconfig.json", "include": ["broken-flow.ts", "schema.d.ts"]}),
                      encoding="utf-8")
    try:
        done = _tsc("generated/tsconfig.broken.json")
    finally:
        broken.unlink()
        config.unlink()
    assert done.returncode != 0
    assert "TS2322" in done.stdout and "no_such_field" in done.stdout, done.stdout
