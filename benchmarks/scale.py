"""The clinician's pages at clinic scale: 10,000 people, 50 clinicians, ~2 million set logs.

    .venv/bin/python benchmarks/scale.py [--fractions 0.1 1.0] [--databases sqlite postgresql]
        [--samples 40] [--people 10000] [--clinicians 50] [--explain]

For each database and each fraction of the clinic it loads a fresh synthetic clinic
(groundup.synthetic: every patient follows a real program through the real engine, moved
to a start day within the year; a caseload of people/clinicians each), then times, through
the real code:

- the clinician dashboard: `dashboard.attention()` for one clinician's whole caseload;
- a patient's detail page: GET /clinic/patients/{id}, rendered in-process (TestClient)
  with a signed-in clinician's cookie — program, decisions, LSI and pain charts;
- the progress charts' data: `progress_data()` for one patient.

It prints p50 and p95 per measure and fraction side by side (a fraction keeps each
caseload and each person's history the same size and scales the number of people, so the
total number of logs grows tenfold between 0.1 and 1.0), and with --explain the query plan
of every statement the three make (PostgreSQL EXPLAIN, SQLite EXPLAIN QUERY PLAN), with
any full scan of a table flagged.

PostgreSQL: the server named by GROUNDUP_BENCH_POSTGRES_URL (by default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); databases groundup_bench_scale_*
are dropped and made afresh. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BIG_TABLES = (
    "session_logs",
    "decisions",
    "checkins",
    "scheduled_sessions",
    "program_versions",
    "audit_log",
    "assessments",
    "screens",
)


def fresh_postgres(name: str) -> str:
    from groundup.synthetic import fresh_postgres_database

    return fresh_postgres_database(
        os.environ.get("GROUNDUP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES), name
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cuts[18]  # p50, p95


@contextmanager
def captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs inside the block, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def keep(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        if not many and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def explain(engine: Any, statements: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if statement in seen:
                continue
            seen.add(statement)
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            cursor.execute(prefix + statement, parameters)
            lines = [str(row[-1]) for row in cursor.fetchall()]
            flagged = [
                line
                for line in lines
                if any(
                    (f"Seq Scan on {t}" in line) or line.strip().startswith(f"SCAN {t}")
                    for t in BIG_TABLES
                )
            ]
            head = " ".join(statement.split())[:150]
            print(f"\n  -- {head}{' …' if len(statement) > 150 else ''}")
            for line in lines:
                print(f"     {line}{'   <-- full scan' if line in flagged else ''}")
    finally:
        raw.close()


def measure(call: Callable[[int], Any], samples: int) -> tuple[float, float, float]:
    """p50 and p95 of the wall time, and the mean processor time this process spent (on
    SQLite that includes the queries; on PostgreSQL the server's share is not in it)."""
    call(0)  # warm up caches and connections
    times = []
    cpu = time.process_time()
    for n in range(1, samples + 1):
        began = time.perf_counter()
        call(n)
        times.append((time.perf_counter() - began) * 1000)
    mean_cpu = (time.process_time() - cpu) * 1000 / samples
    return (*percentiles(times), mean_cpu)


def run(
    database_name: str, fraction: float, args: argparse.Namespace, folder: Path
) -> dict[str, tuple[float, float, float]]:
    from fastapi.testclient import TestClient

    from groundup.config import Settings
    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.services.accounts import Account, Accounts
    from groundup.services.dashboard import attention
    from groundup.services.workflow import progress_data
    from groundup.storage.database import Database
    from groundup.storage.models import ClinicianPatient
    from groundup.synthetic import build_clinic
    from groundup.web.app import create_app

    tag = f"{round(fraction * 100)}"
    if database_name == "sqlite":
        url = f"sqlite:///{folder / f'clinic-{tag}.db'}"
    else:
        url = fresh_postgres(f"groundup_bench_scale_{tag}")
    people = max(1, round(args.people * fraction))
    clinicians = max(1, round(args.clinicians * fraction))
    today = dt.date.today()
    rules = load_rules()
    database = Database(url)
    began = time.perf_counter()
    counts = build_clinic(database, rules, people=people, clinicians=clinicians, today=today)
    print(
        f"\n{database_name}, {fraction:.0%}: {counts.people:,} people, {counts.clinicians} clinicians, "
        f"{counts.sessions:,} sessions, {counts.sets:,} set logs, {counts.checkins:,} check-ins, "
        f"{counts.decisions:,} decisions, {counts.program_versions:,} program versions, "
        f"{counts.scheduled:,} scheduled sessions; loaded in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    services = Services(database, rules, actor="bench", clock=lambda: today)
    accounts = Accounts(services)
    with database.reading() as session:
        caseloads: dict[int, list[str]] = {}
        for clinician_id, patient_id in session.execute(
            text("SELECT clinician_id, patient_id FROM clinician_patients ORDER BY patient_id")
        ):
            caseloads.setdefault(clinician_id, []).append(patient_id)
    assert ClinicianPatient.__tablename__ == "clinician_patients"
    staff = [
        Account(
            cid, f"clinician{cid}@clinic.groundup.example", f"Clinician {cid}", "clinician", None
        )
        for cid in sorted(caseloads)
    ]
    cookies = {a.id: accounts.start_session(a, second_factor=True)[0] for a in staff}
    app = create_app(services, Settings(database_url=url, data_dir=folder))
    client = TestClient(app, base_url="http://127.0.0.1")
    rng = random.Random(7)
    picks = [
        (a, rng.choice(caseloads[a.id]))
        for a in (rng.choice(staff) for _ in range(args.samples + 1))
    ]

    def dashboard(n: int) -> None:
        clinician, _ = picks[n]
        attention(services, accounts, clinician, today)

    def detail(n: int) -> None:
        clinician, patient_id = picks[n]
        client.cookies.set("gu_session", cookies[clinician.id])
        response = client.get(f"/clinic/patients/{patient_id}")
        if response.status_code != 200:
            raise RuntimeError(f"detail page answered {response.status_code}")

    def charts(n: int) -> None:
        progress_data(services, picks[n][1], today)

    results = {
        "dashboard (attention)": measure(dashboard, args.samples),
        "patient detail page": measure(detail, args.samples),
        "progress charts data": measure(charts, args.samples),
    }
    for name, (p50, p95, cpu) in results.items():
        print(f"  {name:<24} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   cpu {cpu:6.1f} ms", flush=True)
    if args.explain:
        print(f"\n  query plans ({database_name}, {fraction:.0%}):")
        with captured(database.engine) as statements:
            dashboard(0)
            detail(0)
            charts(0)
        explain(database.engine, statements)
    client.close()
    database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--clinicians", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="print every statement's plan")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.samples} samples per measure",
        flush=True,
    )
    table: dict[tuple[str, str], dict[float, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="groundup-scale-") as folder:
        for database_name in args.databases:
            for fraction in args.fractions:
                results = run(database_name, fraction, args, Path(folder))
                for measure_name, figures in results.items():
                    table.setdefault((database_name, measure_name), {})[fraction] = figures
    print()
    header = "".join(f"{f'{fraction:.0%} p50/p95/cpu ms':>26}" for fraction in args.fractions)
    print(f"{'db':<11}{'measure':<26}{header}")
    for (database_name, measure_name), by_fraction in table.items():
        cells = "".join(
            f"{'{:.1f} / {:.1f} / {:.1f}'.format(*by_fraction[f]):>26}" for f in args.fractions
        )
        print(f"{database_name:<11}{measure_name:<26}{cells}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
