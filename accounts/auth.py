"""API tokens that expire, and go when the password changes.

A token is good for `API_TOKEN_DAYS` from when it was issued; the token endpoint then
issues a new one. Setting a new password deletes the person's tokens (User.save), and
`POST /api/auth/token/revoke/` deletes one's own. The check is one comparison on the row
the authentication already read, so it costs no query.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_lifetime() -> timedelta:
    return timedelta(days=settings.API_TOKEN_DAYS)


def token_expired(token: Token, *, now: datetime) -> bool:
    return token.created + token_lifetime() <= now


def token_issue(user) -> Token:
    """The person's token, a new one when theirs has expired (or they have none)."""
    token = Token.objects.filter(user=user).first()
    if token is not None and not token_expired(token, now=timezone.now()):
        return token
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def token_check(token: Token, user) -> None:
    """What DRF checks, plus the token's age: AuthenticationFailed (401) otherwise."""
    if not user.is_active:
        raise AuthenticationFailed(gettext_lazy("User inactive or deleted."))
    if token_expired(token, now=timezone.now()):
        raise AuthenticationFailed(
            gettext_lazy("Token expired: ask /api/auth/token/ for a new one.")
        )


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, refused once the token is older than API_TOKEN_DAYS."""

    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user").get(key=key)
        except Token.DoesNotExist as exc:
            raise AuthenticationFailed(gettext_lazy("Invalid token.")) from exc
        token_check(token, token.user)
        return (token.user, token)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXIES proxies in front, the
    address that many hops from the right of X-Forwarded-For (what DRF's throttle takes
    with NUM_PROXIES); the entries a client wrote itself are further left, never read."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote
