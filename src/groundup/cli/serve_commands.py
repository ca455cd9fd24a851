"""`groundup serve`: run the web app (with demo data if asked)."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from groundup.cli.main import app, fail, out
from groundup.config import get_settings


@app.command("serve")
def serve_command(
    demo: Annotated[
        bool, typer.Option(help="start on a fresh demo database with demo people")
    ] = False,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="run the job worker (reminders) in each process; default GROUNDUP_WORKER or yes",
        ),
    ] = None,
) -> None:
    """Run the web app for people and clinicians (and the API under /api/v1)."""
    import uvicorn

    from groundup.knowledge import load_rules
    from groundup.services import Services
    from groundup.services.accounts import Accounts
    from groundup.storage.database import Database, DatabaseError

    if jobs is not None:  # the server's processes read it from the environment
        os.environ["GROUNDUP_WORKER"] = "true" if jobs else "false"
        get_settings.cache_clear()
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    # The workers read their settings from the environment: the address chosen here is the
    # one the links fall back to when no public address is configured.
    os.environ["GROUNDUP_HOST"], os.environ["GROUNDUP_PORT"] = host, str(port)
    if demo:
        os.environ["GROUNDUP_DEMO"] = "true"
        # Each demo server has its own fresh database, removed when it stops: two demo
        # servers side by side never wipe each other's.
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="demo-", dir=settings.data_dir))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        # Stopped with SIGTERM, exit through Python so the folder above is removed (the
        # server hands the signal back to this handler once it has shut down).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        path = folder / "demo-web.db"
        os.environ["GROUNDUP_DATABASE_URL"] = f"sqlite:///{path}"
        get_settings.cache_clear()
        settings = get_settings()
        from groundup.demo import SECOND_FACTOR_KEYS, seed

        out.print(f"Preparing demo data in {path} …")
        try:
            database = Database(settings.url)
        except DatabaseError as exc:
            raise fail(str(exc)) from exc
        services = Services(database, load_rules(), actor="demo")
        people = seed(services, Accounts(services), dt.date.today())
        database.dispose()
        table = Table(title="Demo sign-ins")
        for column in ("role", "e-mail", "password", "who"):
            table.add_column(column, no_wrap=column in ("e-mail", "password"))
        for login in people:
            table.add_row(login.role, login.email, login.password, login.name)
        out.print(table)
        out.print(
            "The admin and the clinician also need a second factor: on this demo server the "
            "code page shows the code. To use an authenticator app instead, add these keys:"
        )
        for email, key in SECOND_FACTOR_KEYS.items():
            out.print(f"  {email}  {key}", soft_wrap=True)
    else:
        try:
            Database(settings.url).dispose()
        except DatabaseError as exc:
            raise fail(str(exc)) from exc
    get_settings.cache_clear()
    settings = get_settings()
    if settings.public_url is None and host in ("0.0.0.0", "::"):
        out.print(
            "Links the app writes (invites, calendar links) will start with "
            f"{settings.base_url}: set GROUNDUP_PUBLIC_URL to the address people use."
        )
    out.print(f"groundup is running at http://{host}:{port}/  (stop with Ctrl-C)")
    uvicorn.run(
        "groundup.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # The client's address is the connection's, or from X-Forwarded-For only when the
        # connection comes from a configured trusted proxy (`web.deps.client_address`).
        proxy_headers=False,
    )
