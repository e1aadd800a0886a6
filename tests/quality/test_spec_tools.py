"""The document as the Node tools partners use see it: Spectral's ``spectral:oas`` ruleset
(.spectral.yaml) finds nothing in it, of any severity; @hey-api/openapi-ts generates a
TypeScript client from it with nothing to say but that it is done; and that client, with a few
lines a partner would write against it, compiles under ``tsc --strict`` with no error.

The tools are pinned in tools/npm/package-lock.json and installed by ``make node-tools``
(which ``make test`` runs). The generator runs with its defaults (the fetch client, types and
SDK, what docs/partners.md tells partners to run) and its document validator on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "npm" / "node_modules" / ".bin"
RULESET = ROOT / ".spectral.yaml"
# Telemetry off and plain text out: the output is read line by line.
ENV = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "DO_NOT_TRACK": "1", "SCARF_ANALYTICS": "false"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Everything the generator says on a clean run; any other line is a warning or an error.
GENERATOR_PROGRESS = (
    re.compile(r"@hey-api/openapi-ts v[\d.]+"),
    re.compile(r"\[Job 1\] ⏳ Generating from 1 input:"),
    re.compile(r"\[Job 1\]\s+\[1\] \S*openapi\.json"),
    re.compile(r"\[Job 1\] ✅ Done! Your output is in \S+"),
)
GENERATOR_CONFIG = """export default {
  input: 'openapi.json',
  output: 'client',
  parser: { validate_EXPERIMENTAL: 'strict' },
  logs: { file: false },
};
"""
TSCONFIG = {
    # What a browser front end builds with; dom.iterable for the client's URLSearchParams.entries().
    # skipLibCheck: TypeScript's own lib.*.d.ts are not checked again (2 s); every .ts file is.
    "compilerOptions": {"target": "es2022", "module": "esnext", "moduleResolution": "bundler",
                        "lib": ["es2022", "dom", "dom.iterable"], "skipLibCheck": True},
    "include": ["client/**/*.ts", "partner.ts"],
}
# A partner's first lines: the headers the document declares are typed options of the calls
# (If-Match required on a change, Idempotency-Key on a creating POST), and the ETag is read.
PARTNER_TS = """import { createComplaint, getGroup, updateCustomer } from './client';
import { client } from './client/client.gen';

export async function firstCalls(token: string, customerId: string, projectId: string, categoryId: string) {
  client.setConfig({ baseUrl: 'http://127.0.0.1:8000', auth: () => token });
  const group = await getGroup({ throwOnError: true });
  const name: string = group.data.name;
  const created = await createComplaint({
    throwOnError: true,
    headers: { 'Idempotency-Key': crypto.randomUUID() },
    body: { channel: 'hotline', projectId, categoryId, customerId, subject: 'Water through the balcony door',
            description: 'After the storm, water came in under the balcony door.', contactNote: 'Call after 6 pm.' },
  });
  const etag: string | null = created.response.headers.get('ETag');
  const moved = await updateCustomer({
    path: { customer_id: customerId },
    headers: { 'If-Match': etag ?? '' },
    body: { source: name },
  });
  return moved.error?.type;
}
"""


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def _operation_ids(document: dict[str, Any]) -> list[str]:
    return [o["operationId"] for item in document["paths"].values() for o in item.values()
            if isinstance(o, dict) and "operationId" in o]


async def test_spectral_finds_nothing_and_a_typescript_client_compiles(client: Any, tmp_path: Path) -> None:
    assert (TOOLS / "spectral").exists(), "the Node tools are not installed: run `make node-tools`"
    document = (await client.get("/schema/openapi.json")).content
    _lint_generate_and_compile(document, tmp_path)


def _lint_generate_and_compile(document: bytes, tmp_path: Path) -> None:
    (tmp_path / "openapi.json").write_bytes(document)

    # Spectral runs while the client is generated (each takes seconds).
    spectral = subprocess.Popen(
        [str(TOOLS / "spectral"), "lint", "--ruleset", str(RULESET), "--format", "json", "--output", "findings.json",
         "--fail-severity", "hint", "openapi.json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=ENV)
    try:
        (tmp_path / "openapi-ts.config.mjs").write_text(GENERATOR_CONFIG)
        generated = _run(TOOLS / "openapi-ts", "--file", "openapi-ts.config.mjs", cwd=tmp_path)
    finally:
        lint_out, lint_err = spectral.communicate(timeout=300)

    # The findings go to a file; the terminal gets Spectral's summary line (or its crash).
    findings_file = tmp_path / "findings.json"
    findings = json.loads(findings_file.read_text()) if findings_file.exists() else None
    assert findings == [] and spectral.returncode == 0, "Spectral (spectral:oas) reports:\n" + (
        "\n".join(f"{f['code']} at {'.'.join(map(str, f['path']))}: {f['message']}" for f in findings)
        if findings else lint_out + lint_err)

    output = ANSI.sub("", generated.stdout + generated.stderr)
    said = [line for line in output.splitlines()
            if line.strip() and not any(p.fullmatch(line.strip()) for p in GENERATOR_PROGRESS)]
    assert generated.returncode == 0 and not said, "the generator says:\n" + "\n".join(said or [output])

    # Complete: every operation of the document is a function of the SDK.
    sdk = (tmp_path / "client" / "sdk.gen.ts").read_text()
    exported = set(re.findall(r"^export const (\w+) =", sdk, re.MULTILINE))
    missing = [o for o in _operation_ids(json.loads(document)) if o not in exported]
    assert not missing, f"operations left out of the TypeScript client: {missing}"

    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    (tmp_path / "partner.ts").write_text(PARTNER_TS)
    compiled = _run(TOOLS / "tsc", "-p", "tsconfig.json", "--noEmit", "--strict", cwd=tmp_path)
    errors = compiled.stdout + compiled.stderr
    assert compiled.returncode == 0 and not errors.strip(), f"tsc --strict:\n{errors}"
