"""Two `groundup serve --demo` on one data folder: each has its own demo database, so
the second does not wipe the first's; each removes its own when it stops."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    env = {**os.environ, "GROUNDUP_DATA_DIR": str(home), "NO_COLOR": "1", "COLUMNS": "400"}
    env.pop("GROUNDUP_DATABASE_URL", None)
    log = home / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "groundup", "serve", "--demo", "--no-jobs", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(480):
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    found = re.search(r"Preparing demo data in (\S+)", log.read_text())
    assert found, log.read_text()
    return process, url, Path(found.group(1))


def test_two_demo_servers_keep_their_own_databases(tmp_path: Path) -> None:
    first, first_url, first_db = _serve(tmp_path, "first")
    try:
        second, second_url, second_db = _serve(tmp_path, "second")
        try:
            assert first_db != second_db
            assert first_db.exists() and second_db.exists()
            for url in (first_url, second_url):
                with urllib.request.urlopen(f"{url}/login", timeout=10) as page:
                    assert page.status == 200
        finally:
            second.terminate()
            second.wait(timeout=30)
        assert not second_db.exists(), "a demo server removes its database when it stops"
        assert first_db.exists(), "stopping the second leaves the first's alone"
        with urllib.request.urlopen(f"{first_url}/healthz", timeout=10) as page:
            assert page.status == 200
    finally:
        first.terminate()
        first.wait(timeout=30)
