"""The README's walkthrough, run as written against a live server and the demo tenant: the
partner's client-credentials token and its first call, and the operator's minted token. Only
the server's address, the demo's data directory and tenant differ from `make run`'s."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def _shell(script: str, live_server: str, demo: Any, settings: Any) -> str:
    script = (script.replace("http://127.0.0.1:8000", live_server)
              .replace(".data/demo-credentials.txt", str(demo.data_dir / "demo-credentials.txt"))
              .replace(".venv/bin/cornerstone", str(Path(sys.executable).parent / "cornerstone"))
              .replace("--tenant demo", f"--tenant {demo.slug}"))
    done = subprocess.run(["/bin/bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT_ROOT, env={**os.environ, "CORNERSTONE_ISSUER": settings.issuer})
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_partner_walkthrough_runs_as_written(live_server: str, demo: Any, settings: Any) -> None:
    text = README.read_text()
    block = re.search(r"Then, in another shell.*?```sh\n(.*?)```", text, re.S)
    assert block, "the README's walkthrough block is gone"
    answer = json.loads(_shell(block.group(1), live_server, demo, settings))
    assert {b["code"] for b in answer["items"]} == {"SZ", "GZ"}


def test_the_minted_token_sees_the_group(live_server: str, demo: Any, settings: Any) -> None:
    command = re.search(r"`(\.venv/bin/cornerstone tokens mint --tenant demo[^`]*)`", README.read_text())
    assert command, "the README no longer shows how to mint a token"
    answer = _shell(f'TOKEN=$({command.group(1)})\n'
                    f'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/org/branches',
                    live_server, demo, settings)
    assert {b["code"] for b in json.loads(answer)["items"]} == {"SZ", "GZ"}
