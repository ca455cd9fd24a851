"""Helpers for tests that run the real `groundup serve` as a subprocess over real HTTP, with
people seeded straight into its database: a program that started `days` ago with a session
every day, and a clinician's API token that reaches all of them."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from groundup.cli.files import read_document, validate
from groundup.clinical.intake import Intake
from groundup.clinical.program import Program
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clear-left-calf.yaml"
PASSWORD = "a long enough secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Person:
    id: str
    program: Program
    start: dt.date
    acknowledged: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    sent: int = 0

    def body(self, day: int) -> dict[str, Any]:
        date = self.start + dt.timedelta(days=day)
        return {
            "id": f"live-{self.id[:8]}-{day:03d}-{uuid.uuid4().hex[:8]}",
            "date": date.isoformat(),
            "exercises": [
                {
                    "exercise_id": slot.exercise_id,
                    "side": dose.side.value if dose.side else None,
                    "sets": [{"amount": dose.amount, "rpe": 6, "pain": 2}] * dose.sets,
                }
                for slot in self.program.slots
                for dose in slot.doses
            ],
        }


class Server:
    """`groundup serve` in its own process group, so SIGKILL takes all of it at once."""

    def __init__(
        self, url: str, home: Path, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.workers = workers
        self.env = env or {}
        self.url = url
        self.home = home
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        env = {
            **os.environ,
            "GROUNDUP_DATABASE_URL": self.url,
            "GROUNDUP_DATA_DIR": str(self.home),
            "NO_COLOR": "1",
            **self.env,
        }
        self.runs += 1
        log = (self.home / f"server-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "groundup",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log())
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"the server did not start in time:\n{self.log()}")

    def log(self) -> str:
        return (self.home / f"server-{self.runs}.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def seed(url: str, people: int, days: int) -> tuple[list[Person], str]:
    """People with programs that started `days` ago (a session every day), and a clinician's
    API token that reaches all of them."""
    database = Database(url)
    try:
        services = Services(database, load_rules(), actor="test")
        accounts = Accounts(services)
        clinician = accounts.create_user("live@example.org", "Dr Live", "clinician", PASSWORD)
        intake = validate(Intake, read_document(EXAMPLE), str(EXAMPLE))
        assert intake.assessment is not None
        start = dt.date.today() - dt.timedelta(days=days + 1)
        preferences = intake.preferences.model_copy(update={"training_days": tuple(range(7))})
        found = []
        for n in range(people):
            pid, _ = accounts.create_patient(clinician, f"Crash Person {n}")
            services.record_screen(pid, intake.screen, start)
            program = services.start_program(
                pid, intake.assessment.model_copy(update={"date": start}), preferences, day=start
            )
            found.append(Person(pid, program, start))
        return found, accounts.new_api_token(clinician, "live test", days=1)
    finally:
        database.dispose()
