"""E-mail out through an SMTP server, delivered at most once per decision to send.

The queue records a reminder as sent in the same instant the message becomes real:
`Mailer.deliver` hands the server the whole message except the dot that ends it, then
opens the caller's record of the delivery (`recording`: a transaction that marks the job
done if it is still this worker's, and locks it), sends the final dot inside it, and lets
it commit. A server keeps no message whose dot never came, so a worker that dies before
that leaves nothing behind and the next worker sends it again; a worker that finds the
job taken over by another (its lease ran out) drops the connection instead; a worker that
dies after the dot but before its commit is sent lets the database roll the record back,
and the message goes twice — the window is the few microseconds between two writes to
two sockets. Each message carries a Message-ID made from the job, so a mail system that
sees a copy can tell it is the same.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT_SECONDS = 30
_LEADING_DOT = re.compile(rb"(?m)^\.")


class MailError(Exception):
    """The message was not delivered. `transient`: worth trying again later."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail goes, from GROUNDUP_SMTP_URL: smtp://[user[:password]@]host[:port]
    with ?starttls=true to upgrade the connection, or smtps:// for TLS from the start."""

    host: str
    port: int
    security: str  # none, starttls, tls
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "GROUNDUP_SMTP_URL: write it as smtp://host:587?starttls=true or smtps://host:465"
            )
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes")
        security = "tls" if parts.scheme == "smtps" else "starttls" if starttls else "none"
        default_port = {"tls": 465, "starttls": 587, "none": 25}[security]
        try:
            port = parts.port or default_port
        except ValueError:
            raise ValueError("GROUNDUP_SMTP_URL: the port is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _refused(code: int, reply: bytes, what: str) -> MailError:
    text = reply.decode(errors="replace")
    return MailError(f"{what}: the mail server answered {code} {text}", transient=400 <= code < 500)


class Mailer:
    """One connection to the SMTP server, kept open from one message to the next."""

    def __init__(self, server: SmtpServer, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.server = server
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context() if server.security != "none" else None
        smtp: smtplib.SMTP
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        # The final dot goes alone, right after the content: without this, Nagle's
        # algorithm holds it until the server acknowledges the content (tens of ms).
        if smtp.sock is not None:
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo()
        if server.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.user:
            smtp.login(server.user, server.password or "")
        return smtp

    def close(self) -> None:
        """Drop the connection; a message sent but not ended with its dot is discarded."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def quit(self) -> None:
        """End the connection politely (between messages)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _stage(self, smtp: smtplib.SMTP, message: EmailMessage) -> None:
        """The envelope and the content, all but the final dot."""
        sender = parseaddr(str(message["From"]))[1]
        recipients = [address for _, address in getaddresses(message.get_all("To", []))]
        code, reply = smtp.mail(sender)
        if code != 250:
            smtp.rset()
            raise _refused(code, reply, "sender")
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                raise _refused(code, reply, f"recipient {recipient}")
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            smtp.rset()
            raise _refused(code, reply, "message")
        content = _LEADING_DOT.sub(b"..", message.as_bytes(policy=SMTP))
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        smtp.send(content)

    def deliver(
        self, message: EmailMessage, recording: Callable[[], AbstractContextManager[bool]]
    ) -> bool:
        """Send `message`, its final dot inside `recording()` (which says whether to send
        it). True when the server accepted it; False when `recording` declined (nothing
        was delivered). Raises MailError when the server refused it or could not be
        reached."""
        for attempt in (1, 2):
            fresh = self._smtp is None
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._stage(self._smtp, message)
                break
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if fresh or attempt == 2:  # a kept connection may simply have timed out
                    raise MailError(
                        f"the mail server closed the connection: {exc}", transient=True
                    ) from None
            except smtplib.SMTPAuthenticationError as exc:
                self.close()
                raise MailError(
                    f"the mail server refused the sign-in: {exc}", transient=False
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                raise MailError(
                    f"the mail server cannot be reached: {exc}", transient=True
                ) from None
        smtp = self._smtp
        assert smtp is not None
        try:
            with recording() as mine:
                if not mine:
                    self.close()
                    return False
                smtp.send(b".\r\n")
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"the message could not be finished: {exc}", transient=True) from None
        except BaseException:
            self.close()
            raise
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(
                f"the mail server did not confirm the message: {exc}", transient=True
            ) from None
        if code != 250:
            raise _refused(code, reply, "message")
        return True
