"""Where the time of one request goes: the today API, the today page and logging a
session, called in-process under cProfile.

    .venv/bin/python benchmarks/profile_requests.py [--requests 300] [--database URL]
        [--only today-api|today-page|log] [--top 30] [--history-days 0]

Seeds a few people like benchmarks/serving.py does (a fresh SQLite file unless --database
names another; with --history-days, people with that much history), then prints each
endpoint's mean time per request and cProfile's top functions by cumulative time. For
finding hot paths; the throughput figures come from serving.py.

The profile is of the app's own work: requests go to the ASGI app on this thread's event
loop (httpx's ASGI transport), and the work FastAPI would hand to a worker thread (sync
routes and dependencies) runs inline on the same thread. (Starlette's TestClient runs the
app on another thread, so a profile of the calling thread shows mostly waiting.)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import seed, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--database", default=None)
    parser.add_argument("--only", choices=["today-api", "today-page", "log"], default=None)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--history-days", type=int, default=0)
    args = parser.parse_args()

    import anyio.to_thread
    import httpx

    from groundup.config import Settings
    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.storage.database import Database
    from groundup.web.app import create_app

    async def inline(func, *call_args, **_options):  # type: ignore[no-untyped-def]
        return func(*call_args)

    anyio.to_thread.run_sync = inline  # the app's thread hand-offs run on this thread

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'profile.db'}"
        today = dt.date.today()
        people, body = seed(url, args.people, today, args.history_days)
        services = Services(Database(url), load_rules(), actor="web")
        app = create_app(services, Settings(database_url=url, data_dir=Path(folder)))
        start = (
            today
            - dt.timedelta(days=span(args.history_days))
            + dt.timedelta(days=args.history_days)
        )
        asyncio.run(run(app, people, body, start, args, httpx))
        print(json.dumps({"database": url.split(":")[0]}))


async def run(app, people, body, start, args, httpx) -> None:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

        async def today_api(n: int) -> None:
            p = people[n % len(people)]
            r = await client.get(
                f"/api/v1/patients/{p.patient_id}/today",
                headers={"Authorization": f"Bearer {p.token}"},
            )
            assert r.status_code == 200, r.text

        async def today_page(n: int) -> None:
            p = people[n % len(people)]
            r = await client.get(
                "/me/session", headers={"Cookie": f"gu_session={p.cookie}"}, follow_redirects=False
            )
            assert r.status_code == 200, r.status_code

        async def log(n: int) -> None:
            p = people[n % len(people)]
            day = start + dt.timedelta(days=n // len(people))
            payload = body.replace("@ID@", f"profile-{n:06d}").replace("@DATE@", day.isoformat())
            r = await client.post(
                f"/api/v1/patients/{p.patient_id}/sessions",
                content=payload,
                headers={"Authorization": f"Bearer {p.token}", "Content-Type": "application/json"},
            )
            assert r.status_code == 201, r.text

        cases = {"today-api": today_api, "today-page": today_page, "log": log}
        for name, call in cases.items():
            if args.only and name != args.only:
                continue
            await call(0)  # warm up
            profile = cProfile.Profile()
            began = time.perf_counter()
            cpu = time.process_time()
            profile.enable()
            for n in range(1, args.requests + 1):
                await call(n)
            profile.disable()
            took = time.perf_counter() - began
            cpu = time.process_time() - cpu
            print(
                f"\n== {name}: {took / args.requests * 1000:.2f} ms per request, "
                f"{cpu / args.requests * 1000:.2f} ms of processor time (profiled)"
            )
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
