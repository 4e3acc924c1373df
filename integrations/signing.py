"""Signing secrets: made, stored encrypted at rest, and used the Standard Webhooks way.

A secret reads `whsec_<base64>`; the HMAC key is the base64-decoded part. The raw secret
is needed to sign, so it is encrypted (Fernet, with a key derived from SECRET_KEY), never
hashed; it is shown once, when made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "whsec_"


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"slaops.integrations.secrets:" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str | None:
    """The secret, or None when it cannot be read (SECRET_KEY changed)."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return (
        "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
    )


def signature_matches(
    secrets_: list[str], *, header: str, message_id: str, timestamp: str, body: bytes
) -> bool:
    """Whether any `v1,` signature of the (space-separated) header is by one of the secrets."""
    offered = [part for part in header.split() if part.startswith("v1,")]
    if not offered or not timestamp.isdigit():
        return False
    for secret in secrets_:
        expected = signature(secret, message_id=message_id, timestamp=int(timestamp), body=body)
        if any(hmac.compare_digest(expected.encode(), found.encode()) for found in offered):
            return True
    return False


def secrets_of(owner, *, at: datetime) -> list[str]:
    """An endpoint's or source's valid secrets: the current one, and the previous one for
    24 hours after a rotation."""
    found = [secret_decrypt(owner.secret_encrypted)]
    expires = owner.previous_secret_expires_at
    if owner.previous_secret_encrypted and expires is not None and expires > at:
        found.append(secret_decrypt(owner.previous_secret_encrypted))
    return [secret for secret in found if secret]
