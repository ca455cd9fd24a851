"""HTTP throughput and latency of groundup served as the README deploys it.

    .venv/bin/python benchmarks/serving.py [--seconds 10] [--connections 2 16]
        [--databases sqlite postgresql] [--people 400] [--workers 2]

For each database it makes a fresh one (a SQLite file in a temporary folder; a new
PostgreSQL database on the server named by GROUNDUP_BENCH_POSTGRES_URL, by default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), seeds people with programs, API
tokens and browser sessions through the real services, starts `groundup serve --workers N`
in its own process and loads it from another process (wrk, over loopback only) for a
bounded time at each connection count:

- GET  /api/v1/patients/{id}/today   today's session, JSON (bearer token)
- GET  /me/session                   today's session page, HTML (session cookie)
- POST /api/v1/patients/{id}/sessions  logging a session: every request a new session
       (its own id, the person's next day), spread over all the seeded people

A bare Starlette and a bare FastAPI hello-world on the same stack (uvicorn, same worker
count) are measured in the same run; every endpoint's throughput is printed as a fraction
of the Starlette one. Any answer that is not 2xx, and any socket error, is counted and
flagged. wrk is installed from Debian if it is missing (needs root and apt).

Prints figures; asserts nothing. On a busy machine the figures are low and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from long_history import clone_person, grow

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "groundup_bench_http"
HISTORY_DAYS = 365  # each person's program started this long ago: that many loggable days
SPARE_DAYS = 60  # with --history-days: days left to log after the history


# ----- wrk ------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit("wrk is not installed and cannot be installed here: apt-get install wrk")
    print("installing wrk from Debian …", flush=True)
    command = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "wrk"]
    if subprocess.run(command, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"], capture_output=True)
        subprocess.run(command, capture_output=True, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("installing wrk failed")
    return found


# Counts every answer that is not 2xx (wrk itself only counts those outside 2xx and 3xx:
# a 303 to the sign-in page must not pass as a page served).
LUA_COUNTING = """
local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end
bad = 0
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("NON2XX %d\\n", total))
end
"""


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def lua_rotating_get(paths: list[str], headers: list[str], header_name: str) -> str:
    """Each request the next person: their path and their credential."""
    return (
        LUA_COUNTING
        + f"""
local paths = {lua_list(paths)}
local creds = {lua_list(headers)}
local n = 0
function request()
  n = n + 1
  local i = ((n + tid * 7919) % #paths) + 1
  return wrk.format("GET", paths[i], {{["{header_name}"] = creds[i]}})
end
"""
    )


def lua_logging(
    people: list[Seeded], dates: list[str], body_template: str, first_day: int, run: str
) -> str:
    """Each request a new session: person i of this thread's share, their next day."""
    paths = [f"/api/v1/patients/{p.patient_id}/sessions" for p in people]
    tokens = [f"Bearer {p.token}" for p in people]
    return (
        LUA_COUNTING
        + f"""
local paths = {lua_list(paths)}
local tokens = {lua_list(tokens)}
local dates = {lua_list(dates)}
local template = {json.dumps(body_template)}
local threads_total = 2
local n = 0
function init(args)
  threads_total = tonumber(args[1]) or 2
end
function request()
  -- this thread's people are tid, tid + threads, tid + 2 threads, ...
  local share = math.floor((#paths - tid - 1) / threads_total) + 1
  local k = n % share
  local day = {first_day} + math.floor(n / share)
  n = n + 1
  local i = tid + k * threads_total + 1
  local id = string.format("bench-{run}-%d-%08d", tid, n)
  local body = string.gsub(string.gsub(template, "@ID@", id), "@DATE@", dates[day + 1] or dates[#dates])
  return wrk.format("POST", paths[i], {{["Authorization"] = tokens[i],
    ["Content-Type"] = "application/json"}}, body)
end
"""
    )


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """The figures out of wrk's --latency report (and the script's own non-2xx count)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    counted = re.search(r"NON2XX (\d+)", output)
    wrk_non = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    non_2xx = int(counted.group(1)) if counted else int(wrk_non.group(1)) if wrk_non else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = sum(int(g) for g in errors.groups()) if errors else 0
    return WrkResult(rps, p50, p99, requests, non_2xx, socket_errors)


def run_wrk(
    wrk: str, url: str, script: Path, connections: int, seconds: int, args: tuple[str, ...] = ()
) -> WrkResult:
    command = [
        wrk,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    if args:
        command += ["--", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# ----- servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not answer within {seconds:.0f} s")


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], probe: str) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_up(probe, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def groundup_server(url: str, data_dir: Path, port: int, workers: int) -> list[str]:
    env_groundup = Path(sys.executable).with_name("groundup")
    return [
        str(env_groundup),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def hello_server(app: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"hello_app:{app}",
        "--app-dir",
        str(BENCHMARKS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


# ----- the database and its people --------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    patient_id: str
    token: str
    cookie: str


def fresh_postgres(server_url: str) -> str:
    from groundup.synthetic import fresh_postgres_database

    return fresh_postgres_database(server_url, BENCH_DB)


def seed(url: str, count: int, today: dt.date, history_days: int = 0) -> tuple[list[Seeded], str]:
    """People with a program that started HISTORY_DAYS ago and trains every day, each
    with an API token and a browser session; and the body of a session done as prescribed,
    with @ID@ and @DATE@ left to fill in.

    With `history_days`, the first person lives that many days of the program through the
    services (`long_history.grow`: daily sessions, check-ins, retests, a flare-up) and
    every other person is a copy of their rows; the body is then today's session of the
    program they reached."""
    from argon2 import PasswordHasher

    from groundup.cli.files import read_document
    from groundup.clinical.assessment import Assessment
    from groundup.clinical.program import Preferences
    from groundup.clinical.screening import ScreenAnswers
    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.services.accounts import Account, Accounts
    from groundup.storage.database import Database
    from groundup.storage.models import User

    intake = read_document(ROOT / "examples" / "clear-left-calf.yaml")
    answers = ScreenAnswers.model_validate(intake["screen"])
    start = today - dt.timedelta(days=span(history_days))
    assessment = Assessment.model_validate({**intake["assessment"], "date": start.isoformat()})
    preferences = Preferences(training_days=(0, 1, 2, 3, 4, 5, 6), minutes_per_session=30)
    database = Database(url)
    services = Services(database, load_rules(), actor="bench", clock=lambda: today)
    accounts = Accounts(services)
    password_hash = PasswordHasher().hash("bench-password-2026")  # one hash, shared
    people: list[Seeded] = []
    program = None
    template: str | None = None
    for n in range(count):
        with database.transaction() as session:
            user = User(
                email=f"person{n}@bench.groundup.example",
                display_name=f"Bench Person {n}",
                role="person",
                password_hash=password_hash,
                active=True,
            )
            session.add(user)
            session.flush()
            user_id = user.id
        if template is not None:
            patient_id = uuid.uuid4().hex
            clone_person(database.engine, template, [(patient_id, user_id, f"Bench Person {n}")])
        else:
            patient_id = services.enrol(f"Bench Person {n}", user_id=user_id)
            services.record_screen(patient_id, answers, start)
            program = services.start_program(patient_id, assessment, preferences, day=start)
            if history_days:
                grow(services, patient_id, history_days)
                program = services.program(patient_id)
                template = patient_id
        account = Account(user_id, f"person{n}@bench.groundup.example", "", "person", patient_id)
        token = accounts.new_api_token(account, "bench")
        cookie, _ = accounts.start_session(account, second_factor=True)
        people.append(Seeded(patient_id, token, cookie))
    database.dispose()
    assert program is not None
    exercises = [
        {
            "exercise_id": slot.exercise_id,
            "side": dose.side.value if dose.side else None,
            "sets": [{"amount": dose.amount, "pain": 1, "rpe": 6} for _ in range(dose.sets)],
        }
        for slot in program.slots
        for dose in slot.doses
    ]
    body = json.dumps(
        {"id": "@ID@", "date": "@DATE@", "exercises": exercises, "pain_after": 1},
        separators=(",", ":"),
    )
    return people, body


def span(history_days: int) -> int:
    """How long ago the seeded programs started: HISTORY_DAYS, or with a history, its days
    and SPARE_DAYS more still to log."""
    return max(HISTORY_DAYS, history_days + SPARE_DAYS) if history_days else HISTORY_DAYS


# ----- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    endpoint: str
    database: str
    connections: int
    result: WrkResult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run's duration")
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 16])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--people", type=int, default=400, help="seeded people per database")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="days of history each person has lived (daily sessions, check-ins, retests, "
        "a flare-up) before the runs; 0: none",
    )
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=["hello", "today-api", "today-page", "log"],
        default=["hello", "today-api", "today-page", "log"],
    )
    args = parser.parse_args()
    if min(args.connections) < 2:
        parser.error("wrk runs two threads: use at least 2 connections")

    wrk = ensure_wrk()
    today = dt.date.today()
    days = span(args.history_days)
    dates = [(today - dt.timedelta(days=days - d)).isoformat() for d in range(days + 1)]
    rows: list[Row] = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDUP_")}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"wrk -t2, {args.seconds} s per run, workers {args.workers}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="groundup-bench-") as folder:
        work = Path(folder)
        for app in ("starlette", "fastapi") if "hello" in args.endpoints else ():
            port = free_port()
            script = work / "hello.lua"
            script.write_text(LUA_COUNTING)
            with serving(
                hello_server(app, port, args.workers), base_env, f"http://127.0.0.1:{port}/"
            ):
                for connections in args.connections:
                    result = run_wrk(
                        wrk, f"http://127.0.0.1:{port}/", script, connections, args.seconds
                    )
                    rows.append(Row(f"hello-world ({app})", "-", connections, result))
                    print_row(rows[-1], None, flush=True)
        ceiling = {
            r.connections: r.result.requests_per_second for r in rows if "starlette" in r.endpoint
        }

        for name in args.databases:
            data_dir = work / name
            data_dir.mkdir()
            if name == "sqlite":
                url = f"sqlite:///{data_dir / 'groundup.db'}"
            else:
                url = fresh_postgres(
                    os.environ.get("GROUNDUP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
                )
            began = time.perf_counter()
            people, body = seed(url, args.people, today, args.history_days)
            logged = json.loads(body.replace("@DATE@", today.isoformat()))["exercises"]
            print(
                f"{name}: seeded {len(people)} people with programs, tokens and sessions "
                f"in {time.perf_counter() - began:.1f} s; a logged session is "
                f"{sum(len(e['sets']) for e in logged)} sets of {len(logged)} exercises",
                flush=True,
            )
            env = base_env | {"GROUNDUP_DATABASE_URL": url, "GROUNDUP_DATA_DIR": str(data_dir)}
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            today_api = work / f"{name}-today-api.lua"
            today_api.write_text(
                lua_rotating_get(
                    [f"/api/v1/patients/{p.patient_id}/today" for p in people],
                    [f"Bearer {p.token}" for p in people],
                    "Authorization",
                )
            )
            today_page = work / f"{name}-today-page.lua"
            today_page.write_text(
                lua_rotating_get(
                    ["/me/session"] * len(people),
                    [f"gu_session={p.cookie}" for p in people],
                    "Cookie",
                )
            )
            first_day = args.history_days
            with serving(groundup_server(url, data_dir, port, args.workers), env, f"{base}/login"):
                for connections in args.connections:
                    for endpoint, script in (
                        ("GET today (API)", today_api),
                        ("GET today (page)", today_page),
                    ):
                        if {"GET today (API)": "today-api", "GET today (page)": "today-page"}[
                            endpoint
                        ] not in args.endpoints:
                            continue
                        result = run_wrk(wrk, base, script, connections, args.seconds)
                        rows.append(Row(endpoint, name, connections, result))
                        print_row(rows[-1], ceiling.get(connections), flush=True)
                    if "log" not in args.endpoints:
                        continue
                    script = work / f"{name}-log-{connections}.lua"
                    script.write_text(
                        lua_logging(people, dates, body, first_day, f"c{connections}")
                    )
                    result = run_wrk(wrk, base, script, connections, args.seconds, ("2",))
                    rows.append(Row("POST log session", name, connections, result))
                    print_row(rows[-1], ceiling.get(connections), flush=True)
                    # The next run starts on days nobody has logged yet.
                    first_day += result.requests // (len(people) // 2) + 3
                    if first_day > days - 30:
                        print("  (not enough unlogged days left for another logging run)")

    print()
    print_table(rows, ceiling)


HEADER = f"{'endpoint':<24} {'db':<10} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'of ceiling':>10} {'non-2xx':>8} {'errors':>7}"


def format_row(row: Row, ceiling: float | None) -> str:
    r = row.result
    share = f"{r.requests_per_second / ceiling:.1%}" if ceiling else "-"
    flag = "  <-- NOT ALL 2xx" if r.non_2xx or r.socket_errors else ""
    return (
        f"{row.endpoint:<24} {row.database:<10} {row.connections:>5} "
        f"{r.requests_per_second:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {share:>10} "
        f"{r.non_2xx:>8} {r.socket_errors:>7}{flag}"
    )


def print_row(row: Row, ceiling: float | None, *, flush: bool = False) -> None:
    print(format_row(row, ceiling), flush=flush)


def print_table(rows: list[Row], ceiling: dict[int, float]) -> None:
    print("ceiling = the bare Starlette hello-world at the same connection count")
    print(HEADER)
    for row in rows:
        print(format_row(row, ceiling.get(row.connections) if row.database != "-" else None))


if __name__ == "__main__":
    main()
