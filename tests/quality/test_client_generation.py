"""The document generates a clean client: openapi-python-client, with its default
configuration, reads the served document and warns about nothing the document could fix.

What it does warn about is listed below with its reason: media types the generator has no
reader for (a CSV request body, an XLSX download). Everything else (an enum it cannot name,
two schemas with one title, a header or body it cannot type) fails here, naming the warning.
The generated client must also carry the operations and headers partners need.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

# Warnings about the generator's own limits, not about the document: these media types are
# what the API really takes and gives.
GENERATOR_LIMITS = (
    "Unsupported content type text/csv",
    "Unsupported content_type application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "Unsupported content_type application/zip",
)
LIMITED_OPERATIONS = ("POST /api/v1/customers/imports", "GET /api/v1/complaints/statistics/exports/{job_id}/xlsx",
                      "POST /api/v1/collections/feed",  # a CSV body, as the customers' import
                      "GET /api/v1/collections/packages/{job_id}/zip")


def _warnings(output: str) -> list[str]:
    """The generator's warning blocks: a headline ("WARNING parsing ...") and the details up to
    the next blank line after them."""
    blocks = re.split(r"\n\s*\n", output)
    return [b.strip() for b in blocks if re.search(r"WARNING|Unable|Cannot|Unsupported|Invalid", b)]


async def test_openapi_python_client_generates_a_clean_client(client: Any, tmp_path: Path) -> None:
    document = (await client.get("/schema/openapi.json")).content
    _generate_and_check(document, tmp_path)


def _generate_and_check(document: bytes, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(document)
    bin_dir = Path(sys.executable).parent
    generated = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(tmp_path / "client")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    unexpected = [w for w in _warnings(output)
                  if not any(limit in w for limit in GENERATOR_LIMITS)
                  and not any(op in w for op in LIMITED_OPERATIONS)
                  and not w.startswith(("Warning(s) encountered", "If you believe"))]
    assert not unexpected, "the generator warns about the document:\n\n" + "\n\n".join(unexpected)

    api = tmp_path / "client" / "api"
    sources = {p.relative_to(api).as_posix(): p.read_text() for p in api.rglob("*.py")}
    # The operation that two `AnswerIn` schemas used to push out of generated clients.
    assert "return_visits/record_survey_result.py" in sources
    created = sources["complaints/create_complaint.py"]
    assert '"Idempotency-Key"' in created and '"X-Request-Id"' in created and '"Change-Reason"' in created
    assert '"If-Match"' in sources["customers/update_customer.py"]
