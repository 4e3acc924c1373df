"""htmx helpers shared by every app's pages."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django_htmx.http import HttpResponseClientRedirect


def login_required_htmx(view):
    """login_required, but an htmx request from an expired session reloads the whole page
    on the login form instead of swapping the form into the fragment."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated and request.htmx:
            next_url = request.htmx.current_url_abs_path or request.path
            return HttpResponseClientRedirect(redirect_to_login(next_url).url)
        return login_required(view)(request, *args, **kwargs)

    return wrapped
