"""Time to build the printed documents for a demo person with five weeks of history.

    .venv/bin/python benchmarks/documents.py [--runs 5] [--weeks 4]

Seeds the demo people into a temporary SQLite database, then builds Sam Steady's handout,
progress report and clinician report `--runs` times each and prints the median, fastest
and slowest seconds with the page count and size. The first WeasyPrint import is timed on
its own and left out of the runs. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium

from groundup import demo
from groundup.documents import build_handout, build_report
from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.storage.database import Database


def _timed(make: Callable[[], bytes], runs: int) -> tuple[list[float], bytes]:
    seconds, pdf = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        pdf = make()
        seconds.append(time.perf_counter() - start)
    return seconds, pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--weeks", type=int, default=4, help="diary weeks in the handout")
    args = parser.parse_args()
    today = dt.date.today()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        services = Services(database, load_rules(), clock=lambda: today)
        start = time.perf_counter()
        demo.seed(services, Accounts(services), today)
        print(f"seeded the demo people in {time.perf_counter() - start:.2f} s")
        sam = next(p.id for p in services.patients() if p.display_name == "Sam Steady")

        start = time.perf_counter()
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401

        print(f"first WeasyPrint import {time.perf_counter() - start:.2f} s")
        cases: dict[str, Callable[[], bytes]] = {
            "handout": lambda: build_handout(services, sam, today, weeks=args.weeks),
            "progress report": lambda: build_report(services, sam, today, "person"),
            "clinician report": lambda: build_report(services, sam, today, "clinician"),
        }
        print(f"{'document':<18}{'median s':>10}{'min s':>8}{'max s':>8}{'pages':>7}{'KB':>6}")
        for name, make in cases.items():
            seconds, pdf = _timed(make, args.runs)
            pages = len(pdfium.PdfDocument(pdf))
            print(
                f"{name:<18}{statistics.median(seconds):>10.2f}{min(seconds):>8.2f}"
                f"{max(seconds):>8.2f}{pages:>7}{len(pdf) // 1024:>6}"
            )
        database.dispose()


if __name__ == "__main__":
    main()
