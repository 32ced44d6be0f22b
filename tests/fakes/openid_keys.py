"""A fake of Bot Framework's OpenID metadata and signing keys, on a thread of its own.

botbuilder fetches the keys with blocking `requests` calls from inside the event loop, so the
fake cannot share the test's loop: it runs `http.server` in a thread (127.0.0.1, port 0). `sign`
makes tokens with its one RSA key (`kid` "key-1", endorsed for the channels given), so tests can
present tokens that are well signed but wrong in one way at a time.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_ID = "key-1"
ISSUER = "https://api.botframework.com"


class FakeOpenIdKeys:
    def __init__(self, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.keys = {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "endorsements": list(endorsements)}]}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = {"jwks_uri": fake.url + "/keys"} if self.path == "/openid" else fake.keys
                data = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.metadata_url = self.url + "/openid"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, app_id: str, service_url: str, *, kid: str = KEY_ID, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": app_id, "serviceurl": service_url, "nbf": now - 60, "exp": now + 600}
        payload = {k: v for k, v in {**payload, **claims}.items() if v is not None}  # None: leave the claim out
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": kid})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
