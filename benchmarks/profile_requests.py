"""Where the time of one request goes: the today API, the today page and logging a
session, called in-process (Starlette's TestClient) under cProfile.

    .venv/bin/python benchmarks/profile_requests.py [--requests 300] [--database URL]
        [--only today-api|today-page|log] [--top 30]

Seeds a few people like benchmarks/serving.py does (a fresh SQLite file unless --database
names another), then prints each endpoint's mean time per request and cProfile's top
functions by cumulative time. For finding hot paths; the throughput figures come from
serving.py.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--database", default=None)
    parser.add_argument("--only", choices=["today-api", "today-page", "log"], default=None)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from groundup.config import Settings
    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.storage.database import Database
    from groundup.web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'profile.db'}"
        today = dt.date.today()
        people, body = seed(url, args.people, today)
        services = Services(Database(url), load_rules(), actor="web")
        app = create_app(services, Settings(database_url=url, data_dir=Path(folder)))
        client = TestClient(app, base_url="http://127.0.0.1")
        start = today - dt.timedelta(days=365)

        def today_api(n: int) -> None:
            p = people[n % len(people)]
            r = client.get(
                f"/api/v1/patients/{p.patient_id}/today",
                headers={"Authorization": f"Bearer {p.token}"},
            )
            assert r.status_code == 200, r.text

        def today_page(n: int) -> None:
            p = people[n % len(people)]
            client.cookies.set("gu_session", p.cookie)
            r = client.get("/me/session", follow_redirects=False)
            assert r.status_code == 200, r.status_code

        def log(n: int) -> None:
            p = people[n % len(people)]
            day = start + dt.timedelta(days=n // len(people))
            payload = body.replace("@ID@", f"profile-{n:06d}").replace("@DATE@", day.isoformat())
            r = client.post(
                f"/api/v1/patients/{p.patient_id}/sessions",
                content=payload,
                headers={"Authorization": f"Bearer {p.token}", "Content-Type": "application/json"},
            )
            assert r.status_code == 201, r.text

        cases = {"today-api": today_api, "today-page": today_page, "log": log}
        for name, call in cases.items():
            if args.only and name != args.only:
                continue
            call(0)  # warm up
            profile = cProfile.Profile()
            began = time.perf_counter()
            profile.enable()
            for n in range(1, args.requests + 1):
                call(n)
            profile.disable()
            took = time.perf_counter() - began
            print(f"\n== {name}: {took / args.requests * 1000:.2f} ms per request (profiled)")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
        print(json.dumps({"database": url.split(":")[0]}))


if __name__ == "__main__":
    main()
