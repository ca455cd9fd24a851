"""E-mail: confirming a new address, resetting a password, telling the owner of an address
that someone tried to register it. Sent only when a mail server is configured
(GROUNDUP_SMTP_URL); otherwise nothing is sent and the pages say what to do instead.

Mail goes out from a background thread, so that how long a request takes never tells
whether an e-mail was sent (and so whether an address has an account).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage

from groundup.config import Settings
from groundup.reminders.mail import SmtpServer

log = logging.getLogger("groundup.mail")


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return self.settings.sends_mail

    def send(self, to: str, subject: str, body: str) -> threading.Thread | None:
        """Send in the background; the thread, for whoever must wait for it (tests)."""
        if not self.configured:
            return None
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        thread = threading.Thread(target=self._deliver, args=(message,), daemon=True)
        thread.start()
        return thread

    def _deliver(self, message: EmailMessage) -> None:
        assert self.settings.smtp_url is not None
        try:
            server = SmtpServer.parse(self.settings.smtp_url)
            context = ssl.create_default_context()
            smtp = (
                smtplib.SMTP_SSL(server.host, server.port, timeout=30, context=context)
                if server.security == "tls"
                else smtplib.SMTP(server.host, server.port, timeout=30)
            )
            with smtp:
                if server.security == "starttls":
                    smtp.starttls(context=context)
                if server.user:
                    smtp.login(server.user, server.password or "")
                smtp.send_message(message)
        except (OSError, ValueError, smtplib.SMTPException) as exc:
            log.warning("could not send an e-mail: %s", exc)
