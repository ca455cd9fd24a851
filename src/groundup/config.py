"""groundup's settings, in one place, read from the environment (prefix GROUNDUP_)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AnyHttpUrl, Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return platformdirs.user_data_path("groundup", appauthor=False)


class Settings(BaseSettings):
    """Where groundup keeps its data, and how it shows numbers.

    GROUNDUP_DATABASE_URL picks the database: by default a SQLite file in the user's data
    folder; `postgresql+psycopg://user@host/db` selects PostgreSQL with the same code.
    """

    model_config = SettingsConfigDict(env_prefix="GROUNDUP_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    length_unit: Literal["cm", "in"] = "cm"
    mass_unit: Literal["kg", "lb"] = "kg"
    cookie_secure: bool = Field(
        default=False, description="send cookies only over HTTPS (set behind a TLS proxy)"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="the address people reach the web app at (https://groundup.example.org); "
        "every link the app writes (invites, calendar links, e-mails) starts with it. Unset: "
        "http://HOST:PORT. Never taken from a request's Host header, which anyone can set",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="addresses of the proxies in front of the app (e.g. 127.0.0.1/32); only "
        "from these is X-Forwarded-For believed for the client's address. Empty: the "
        "address of the connection itself, whatever the headers say",
    )
    demo: bool = Field(default=False, description="a demo server (`groundup serve --demo`)")
    smtp_url: str | None = Field(
        default=None,
        description="where e-mail goes: smtp://user:password@host:587?starttls=true or "
        "smtps://host:465; unset: no e-mail (no reminders by e-mail, resets through an admin)",
    )
    mail_from: str = Field(
        default="groundup <groundup@groundup.invalid>", description="the From of e-mails"
    )
    push_contact: str | None = Field(
        default=None,
        description="a mailto: or https: address push services can reach the operator at; "
        "default: the mail_from address",
    )
    worker: bool = Field(
        default=True, description="run the job worker (reminders) inside `groundup serve`"
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    plan_every_seconds: int = Field(
        default=60, ge=1, le=3600, description="how often due reminders are looked for"
    )
    job_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="how long a claimed job stays a worker's before another may take it over",
    )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'groundup.db'}"

    @property
    def base_url(self) -> str:
        """The start of every link the app writes, without a trailing slash."""
        if self.public_url is not None:
            return str(self.public_url).rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def sends_mail(self) -> bool:
        return bool(self.smtp_url)


@cache
def get_settings() -> Settings:
    return Settings()
