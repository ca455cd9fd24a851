"""`python -m groundup`: the same as the `groundup` command."""

from groundup.cli.main import run

run()
