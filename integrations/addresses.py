"""Server-side request forgery: which webhook URLs slaops may post to.

A URL must be https (http only with WEBHOOKS_ALLOW_PRIVATE_URLS) and every address its
host resolves to must be public: not private, loopback, link-local, multicast, reserved
or unspecified. Checked on save and again before each send, whose connection then goes
to the very address checked (the DNS answer cannot change in between).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    """The URL may not be posted to; the message says why."""


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def url_addresses(url: str) -> tuple[str, int, list[str]]:
    """(host, port, addresses to connect to) for a URL slaops may post to; raises
    UnsafeUrl saying why not."""
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_URLS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}.") from exc
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeUrl("Must start with https://.")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("Must name a host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Must not carry a user name or password.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not allow_private:
        for text in addresses:
            if not _public(ipaddress.ip_address(text.split("%")[0])):
                raise UnsafeUrl(
                    f"The host {host!r} resolves to {text}, a private, loopback or reserved "
                    "address; such URLs are refused unless WEBHOOKS_ALLOW_PRIVATE_URLS is on."
                )
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} does not resolve.")
    return host, port, addresses
