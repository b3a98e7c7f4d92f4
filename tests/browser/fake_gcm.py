"""A stand-in for Google's GCM/FCM registration servers, so that headless Chromium's
PushManager.subscribe() works on a machine with no internet.

Why it is needed (evidence in docs/patient-app.md, "Testing push in a browser"): Chromium
implements the Push API through its built-in GCM client. In Playwright's default
(incognito) browser context subscribe() fails at once ("AbortError: Registration failed -
permission denied"; the console says "Chrome currently does not support the Push API in
incognito mode"). In a persistent (normal) profile, subscribe() first makes the GCM client
check the device in at https://android.clients.google.com/checkin; here that name does not
resolve (net::ERR_NAME_NOT_RESOLVED in a net-log; chrome://gcm-internals shows the client
stuck in INITIAL_DEVICE_CHECKIN), so the promise never settles.

Chromium's own switches --gcm-checkin-url and --gcm-registration-url point the GCM client
at this server instead: the check-in answers an AndroidCheckinResponse (protobuf: stats_ok,
time_msec, android_id, security_token) and each registration answers "token=<token>". The
browser then makes a real subscription: its own P-256 key pair and auth secret (the private
key stays in the browser), and an endpoint built from the token
(https://<host>.google.com/fcm/send/<token>). Delivery to the browser would need Google's
MCS connection (protobuf over TLS, --gcm-mcs-endpoint) and is not faked: tests deliver a push
to the service worker through the DevTools protocol instead (ServiceWorker.deliverPushMessage).
"""

from __future__ import annotations

import secrets
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ANDROID_ID = 0x11F71FB04CB
SECURITY_TOKEN = 0xE5F4A3B2C1D0


def _checkin_response() -> bytes:
    # AndroidCheckinResponse: 1 stats_ok (bool) = true, 3 time_msec (int64) = 1,
    # 7 android_id (fixed64), 8 security_token (fixed64).
    return (
        b"\x08\x01"
        + b"\x18\x01"
        + b"\x39"
        + struct.pack("<Q", ANDROID_ID)
        + b"\x41"
        + struct.pack("<Q", SECURITY_TOKEN)
    )


class FakeGCM:
    def __init__(self):
        self.registrations: list[dict] = []
        self.checkins = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/checkin"):
                    fake.checkins += 1
                    answer, kind = _checkin_response(), "application/x-protobuf"
                else:
                    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    fake.registrations.append(fields)
                    answer, kind = f"token=fake{secrets.token_hex(12)}".encode(), "text/plain"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def chromium_args(self) -> list[str]:
        return [
            f"--gcm-checkin-url={self.url}/checkin",
            f"--gcm-registration-url={self.url}/register",
            # Nothing listens here: the MCS connection (delivery) just backs off.
            "--gcm-mcs-endpoint=https://127.0.0.1:9",
        ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
