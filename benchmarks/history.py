"""What a long history costs: processor time per logged session, and storage per
person-year.

    .venv/bin/python benchmarks/history.py [--sessions 10 100 360 1000] [--samples 10]
        [--databases sqlite postgresql]

For each database (a fresh SQLite file; a fresh PostgreSQL database on the server named by
GROUNDUP_BENCH_POSTGRES_URL, by default postgresql+psycopg://postgres@127.0.0.1:5432/
postgres) one person with the clear-left-calf intake trains every day, through the real
services one event at a time (`long_history.grow`): a session done as prescribed each
day, a morning check-in after it, a retest the first two times the engine asks, and a
flare-up at session 150. It prints:

- the processor time of `Services.log_session` (this process: on SQLite that includes the
  database's work, on PostgreSQL not the server's), the mean of `--samples` logs starting
  at each number of sessions of history;
- the bytes the person's rows take after a year (365 days) with their indexes, per table:
  program history, decisions, sessions and sets, check-ins, the schedule (the database's
  own page counts: SQLite's dbstat, PostgreSQL's pg_total_relation_size; the size right
  after planning is subtracted).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from long_history import Grown, cpu_at, grow, new_person, table_bytes

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
YEAR = 365


def measure(
    name: str, url: str, days: int, milestones: list[int], samples: int
) -> tuple[dict[int, float | None], dict[str, int]]:
    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.storage.database import Database

    database = Database(url)
    today = dt.date.today()
    start = today - dt.timedelta(days=days)
    services = Services(database, load_rules(), actor="bench", clock=lambda: today)
    patient_id = new_person(services, start)
    database.flush_audit()
    empty = table_bytes(database.engine)
    year: dict[str, int] = {}
    began = time.perf_counter()

    def at_day(grown: Grown) -> None:
        if grown.days == YEAR and not year:
            database.flush_audit()
            year.update(table_bytes(database.engine))
            with database.engine.connect() as connection:
                counted = {
                    table: connection.scalar(text(f"SELECT count(*) FROM {table}"))
                    for table in ("program_versions", "decisions", "session_logs")
                }
            print(f"  {name}: rows after a year: {counted}", flush=True)
        if grown.days % 50 == 0:
            print(
                f"  {name}: day {grown.days}, {grown.sessions} sessions, "
                f"{time.perf_counter() - began:.0f} s",
                flush=True,
            )

    grown = grow(services, patient_id, days, at_day=at_day)
    print(
        f"{name}: {grown.days} days, {grown.sessions} sessions, {grown.checkins} "
        f"check-ins, {grown.retests} retests, {grown.decisions} decisions, "
        f"grown in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    database.dispose()
    cpu = {n: cpu_at(grown, n, samples) for n in milestones}
    return cpu, {t: year.get(t, 0) - empty.get(t, 0) for t in year}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 100, 360, 1000])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"]
    )
    args = parser.parse_args()

    from groundup.synthetic import fresh_postgres_database

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    days = max(max(args.sessions) + args.samples + 2, YEAR + 1)
    results: list[tuple[str, dict[int, float | None], dict[str, int]]] = []
    with tempfile.TemporaryDirectory(prefix="groundup-history-") as folder:
        for name in args.databases:
            if name == "sqlite":
                url = f"sqlite:///{Path(folder) / 'history.db'}"
            else:
                url = fresh_postgres_database(
                    os.environ.get("GROUNDUP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                    "groundup_bench_history",
                )
            cpu, per_table = measure(name, url, days, args.sessions, args.samples)
            results.append((name, cpu, per_table))

    print()
    for name, cpu, per_table in results:
        print(f"{name}: CPU per logged session (Services.log_session, mean of {args.samples})")
        print(f"  {'sessions of history':>20} {'ms':>8}")
        for n, value in cpu.items():
            shown = f"{value:8.1f}" if value is not None else "       -"
            print(f"  {n:>20} {shown}")
        first, last = cpu.get(min(cpu)), cpu.get(max(cpu))
        if first and last:
            print(f"  {max(cpu)} against {min(cpu)}: {last / first:.1f}x")
        print(f"{name}: storage of one person-year (rows with their indexes, kB)")
        total = 0
        for table, size in sorted(per_table.items(), key=lambda item: -item[1]):
            if size <= 0 or table == "audit_log":
                continue
            total += size
            print(f"  {table:<24} {size / 1024:10,.0f}")
        print(f"  {'total':<24} {total / 1024:10,.0f}")


if __name__ == "__main__":
    main()
