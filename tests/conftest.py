"""Shared fixtures: services that may be missing, a real browser, users per role.

Without REQUIRE_SERVICES=1 a test that truly needs a missing service (PostgreSQL,
Redis, Chromium) is skipped, saying why. With it (CI), the same absence is a failure.
"""

import importlib
import os
import shutil

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API + ORM

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(items):
    """Every transactional test restores the migrated data (default funnel, reason codes).

    A transactional test ends with a flush that would otherwise erase what the data
    migrations seeded, and later tests would run on a database no user ever has.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            kwargs = {**marker.kwargs, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


def service_missing(reason: str):
    """Skip on a bare machine; fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _migrated_defaults(request):
    """Make sure what the data migrations seed is there, whatever ran before.

    Serialized rollback restores it after transactional tests, but not in every order
    pytest-django and the live server combine; re-seeding the missing rows is cheap.
    """
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps

    from funnel.models import Stage
    from leads.models import ReasonCode

    if not Stage.objects.exists():
        importlib.import_module("funnel.migrations.0003_default_funnel").seed(apps, None)
        importlib.import_module("funnel.migrations.0004_stage_reopenable").mark_reopenable(
            apps, None
        )
    if not ReasonCode.objects.exists():
        importlib.import_module("leads.migrations.0002_default_reason_codes").seed(apps, None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is for attackers, not for a test suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests do not run collectstatic; serve static files from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")


@pytest.fixture(scope="session")
def redis_url():
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is not reachable at {url} ({exc.__class__.__name__})")
    return url


@pytest.fixture(scope="session")
def chromium_browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        service_missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser, live_server):
    context = chromium_browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def make_user(db):
    from accounts.services import user_create_or_update

    def make(username: str, role: str, team: str | None = None, password: str = "pw-Secret-123"):
        user, _ = user_create_or_update(
            username=username, role=role, password=password, team_name=team
        )
        return user

    return make


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
