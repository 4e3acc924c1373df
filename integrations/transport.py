"""One signed POST to a webhook URL, to the address checked by integrations/addresses.py,
with a connect and a read timeout (together at most 5 seconds)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from integrations.addresses import url_addresses

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass
class Response:
    status: int
    milliseconds: int


class _Pinned(http.client.HTTPConnection):
    """A connection to a chosen address, whatever the host name resolves to now."""

    def __init__(self, host, port, *, address, tls):
        super().__init__(host, port, timeout=CONNECT_TIMEOUT)
        self._address, self._tls = address, tls

    def connect(self):
        sock = socket.create_connection((self._address, self.port), timeout=CONNECT_TIMEOUT)
        sock.settimeout(READ_TIMEOUT)
        if self._tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body`; the answer's status and how long it took. Raises UnsafeUrl for a URL
    that may not be posted to, OSError (timeouts included) for a network failure."""
    host, port, addresses = url_addresses(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    connection = _Pinned(host, port, address=addresses[0], tls=parts.scheme == "https")
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(MAX_RESPONSE_BYTES)
        status = answer.status
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {exc.__class__.__name__}") from exc
    finally:
        connection.close()
    return Response(status=status, milliseconds=int((time.monotonic() - started) * 1000))
