"""The one-click unsubscribe of the daily digest (RFC 8058), reached from the digest's
link and its List-Unsubscribe header: no sign-in, the signed token is the proof."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sla.notify.digest import digest_is_off, digest_token_user, digest_unsubscribe


# A mail client's one-click POST carries no session and no CSRF token; the signed token
# in the URL is what a forger cannot make, and the only change it allows is this one.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def digest_unsubscribe_view(request, token: str):
    """GET: a page with a button (link scanners follow GETs); POST: unsubscribe."""
    person = digest_token_user(token)
    if person is None:
        return render(request, "notify/unsubscribe.html", {"state": "invalid"}, status=400)
    if request.method == "POST":
        state = "done" if digest_unsubscribe(user_id=person.id) else "already"
    else:
        state = "already" if digest_is_off(user_id=person.id) else "confirm"
    response = render(request, "notify/unsubscribe.html", {"state": state, "person": person})
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    response["X-Robots-Tag"] = "noindex"
    return response
