"""Running a source document's curl lines, as written, against a test server."""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

from tests.servers import Server


def run_curl(server: Server, line: str, documented_base: str) -> tuple[int, Any]:
    """Run one documented curl command with its base URL pointed at `server`; returns
    the HTTP status and the parsed JSON body."""
    words = shlex.split(line.replace("\\\n", " ").replace(documented_base, server.base_url))
    assert words[0] == "curl", line
    done = subprocess.run(
        [*words, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)
