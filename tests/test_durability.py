"""An acknowledged session survives the server being killed (SQLite in WAL mode with
synchronous=NORMAL: a commit is in the write-ahead log before the answer goes out)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from groundup.clinical.logs import ExerciseLog, SessionLog, SetLog
from groundup.clinical.program import Preferences
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.storage.database import Database
from test_services import intake


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_logged_session_survives_a_killed_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'groundup.db'}"
    today = dt.date.today()
    database = Database(url)
    services = Services(database, load_rules())
    accounts = Accounts(services)
    user = accounts.create_user("kill@example.org", "Kim", "person", "a-long-password")
    pid = services.enrol("Kim", user_id=user.id)
    data = intake()
    assert data.screen is not None and data.assessment is not None
    services.record_screen(pid, data.screen, today)
    assessment = data.assessment.model_copy(update={"date": today})
    every_day = Preferences(training_days=(0, 1, 2, 3, 4, 5, 6))
    program = services.start_program(pid, assessment, every_day, day=today)
    token = accounts.new_api_token(Account(user.id, user.email, "Kim", "person", pid), "test")
    database.dispose()
    log = SessionLog(
        id="killed-server-0001",
        date=today,
        exercises=tuple(
            ExerciseLog(
                exercise_id=slot.exercise_id,
                side=dose.side,
                sets=tuple(SetLog(amount=dose.amount, pain=1) for _ in range(dose.sets)),
            )
            for slot in program.slots
            for dose in slot.doses
        ),
    )

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDUP_")}
    env |= {"GROUNDUP_DATABASE_URL": url, "GROUNDUP_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "groundup", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        answer = httpx.post(
            f"{base}/api/v1/patients/{pid}/sessions",
            content=log.model_dump_json(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()

    reopened = Database(url)
    try:
        sessions = [e for e in Services(reopened, load_rules()).history(pid) if e.type == "session"]
        assert sessions == [log]
    finally:
        reopened.dispose()


def test_many_writers_at_once_all_get_their_turn(tmp_path: Path) -> None:
    """Threads of this process and another process write to one SQLite file at once;
    every write is stored (writers queue through the lock file, none gives up)."""
    url = f"sqlite:///{tmp_path / 'groundup.db'}"
    Database(url).dispose()
    script = (
        "import sys\n"
        "from groundup.knowledge import load_rules\n"
        "from groundup.services import Services\n"
        "from groundup.storage.database import Database\n"
        "services = Services(Database(sys.argv[1]), load_rules())\n"
        "for n in range(30):\n"
        "    services.enrol(f'Other {n}')\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script, url])
    database = Database(url)
    services = Services(database, load_rules())
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: services.enrol(f"Here {n}"), range(60)))
    assert other.wait(timeout=120) == 0
    names = [p.display_name for p in services.patients()]
    database.dispose()
    assert len(names) == 90
    assert sum(name.startswith("Other ") for name in names) == 30
