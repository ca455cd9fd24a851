"""`groundup reminders` and `groundup worker` through the real command."""

from __future__ import annotations

from pathlib import Path

from test_cli_e2e import EXAMPLE, ok, run


def test_reminders_from_the_terminal(tmp_path: Path) -> None:
    ok(tmp_path, "start", str(EXAMPLE), "--name", "Robin", "--date", "2025-03-04")
    assert "off" in ok(tmp_path, "reminders", "show")
    shown = ok(
        tmp_path,
        "reminders",
        "set",
        "--email",
        "robin@example.org",
        "--kinds",
        "training,checkin",
        "--training-time",
        "18:05",
        "--quiet",
        "22:00-06:30",
        "--time-zone",
        "Europe/Oslo",
    )
    for words in ("on", "robin@example.org", "18:05", "22:00 to 06:30", "Europe/Oslo"):
        assert words in shown
    assert "not set up here" in shown, "no SMTP server is configured for this run"
    assert "retest" not in shown.split("of", 1)[1].splitlines()[0]

    preview = ok(tmp_path, "reminders", "preview", "training", "--day", "2025-03-05")
    assert "Today is a training day" in preview and "Hello Robin," in preview
    assert "Your next session: Friday 7 March." in ok(
        tmp_path, "reminders", "preview", "checkin", "--day", "2025-03-06"
    )
    assert "job(s) run" in ok(tmp_path, "worker", "--once")

    # Bad choices: one line each, and what was saved stays.
    for args, words in (
        (("set", "--training-time", "7pm"), "HH:MM"),
        (("set", "--time-zone", "Mars/Olympus"), "is not known"),
        (("preview", "lunch"), "choose training"),
    ):
        result = run(tmp_path, "reminders", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1

    assert "Reminders stopped." in ok(tmp_path, "reminders", "off")
    shown = ok(tmp_path, "reminders", "show")
    assert "off" in shown.splitlines()[0] and "18:05" in shown
