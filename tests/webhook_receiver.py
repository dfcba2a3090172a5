"""A real HTTP receiver for webhook tests: a threaded http.server on 127.0.0.1 that records every request
and answers with the status codes it is told, in turn (200 once they run out)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # Verified on arrival with the receiver's secret (when it was given one), as a live receiver does:
    # the signature's timestamp must be within 5 minutes of the receiver's clock.
    payload: dict | None = None
    verify_error: str = ""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict:
        """The payload, verified with the Standard Webhooks library as any receiver would."""
        return standardwebhooks.Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    redirect_to: str = ""
    secret: str = ""

    def __post_init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.secret:
                    try:
                        request.payload = request.verified(receiver.secret)
                    except standardwebhooks.webhooks.WebhookVerificationError as error:
                        request.verify_error = str(error)
                receiver.received.append(request)
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", receiver.redirect_to or receiver.url)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answered {code}".encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def payloads(self, secret: str) -> list[dict]:
        return [request.verified(secret) for request in self.received]
