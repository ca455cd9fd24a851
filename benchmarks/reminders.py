"""How many due reminders a minute one instance sends.

    .venv/bin/python benchmarks/reminders.py [--people 2000] [--database sqlite|postgresql]
        [--delay 0]

It fills a fresh database with people whose training reminder (by e-mail) fell due two
minutes ago, starts a local SMTP server (aiosmtpd, in this process) that accepts and counts
every message, then runs one `groundup worker` process — the same worker every
`groundup serve` runs — and times it from the first message accepted to the last: the
planning run that queues them all, then each one claimed, written from the person's
program and sent. --delay makes the SMTP server take that many seconds over each message
(a slow mail relay). PostgreSQL: the server named by GROUNDUP_BENCH_POSTGRES_URL (by
default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); the database
groundup_bench_reminders is dropped and made afresh. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from groundup.synthetic import fresh_postgres_database, seed_due_reminders  # noqa: E402
from mail_sink import mail_sink  # noqa: E402  (the tests' SMTP server)

EXAMPLE = ROOT / "examples" / "clear-left-calf.yaml"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser(description="reminders a minute, one worker")
    parser.add_argument("--people", type=int, default=2000, help="due reminders (default 2000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--delay", type=float, default=0.0, help="SMTP seconds per message")
    parser.add_argument("--timeout", type=float, default=600, help="give up after (seconds)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        if args.database == "postgresql":
            server = os.environ.get("GROUNDUP_BENCH_POSTGRES_URL", POSTGRES)
            url = fresh_postgres_database(server, "groundup_bench_reminders")
        else:
            url = f"sqlite:///{home / 'reminders.db'}"
        started = time.perf_counter()
        seed_due_reminders(url, args.people, dt.datetime.now(dt.UTC), EXAMPLE)
        print(f"{args.people} due reminders made in {time.perf_counter() - started:.1f} s")
        with mail_sink(delay=args.delay) as sink:
            env = {
                **os.environ,
                "GROUNDUP_DATABASE_URL": url,
                "GROUNDUP_DATA_DIR": str(home),
                "GROUNDUP_SMTP_URL": sink.url,
                "GROUNDUP_PUBLIC_URL": "https://groundup.clinic.example",
                "GROUNDUP_PLAN_EVERY_SECONDS": "1",
                "NO_COLOR": "1",
            }
            log = (home / "worker.log").open("wb")
            worker = subprocess.Popen(
                [sys.executable, "-m", "groundup", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + args.timeout
                while sink.count() == 0:
                    if worker.poll() is not None or time.monotonic() > deadline:
                        sys.exit((home / "worker.log").read_text()[-3000:])
                    time.sleep(0.001)
                first = time.perf_counter()
                while sink.count() < args.people:
                    if worker.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"{sink.count()} arrived\n{(home / 'worker.log').read_text()}")
                    time.sleep(0.001)
                seconds = time.perf_counter() - first
            finally:
                worker.terminate()
                worker.wait(timeout=30)
                log.close()
    per_minute = (args.people - 1) / seconds * 60
    print(
        f"one worker, {args.database}, SMTP delay {args.delay * 1000:.0f} ms: "
        f"{args.people} e-mails in {seconds:.1f} s = {per_minute:,.0f} due reminders a minute"
    )
    print(
        f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
