"""Settings come from the environment and fail loudly when a value is malformed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env):
    """Import the settings in a fresh interpreter with exactly these variables set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_need_no_server():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]


def test_postgres_url_selects_postgres():
    result = load_settings(
        DEBUG="1",
        DATABASE_URL="postgres://u:p@db:5432/slaops",
        CELERY_BROKER_URL="redis://r:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://r:6379/0", "True"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "1", "DATABASE_URL": "not a url"}, "is not a database URL"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "unsupported scheme 'mysql'"),
        ({"DEBUG": "1", "CELERY_BROKER_URL": "amqp://guest@x//"}, "CELERY_BROKER_URL"),
        (
            {"DEBUG": "1", "EMAIL_PORT": "twenty-five"},
            "EMAIL_PORT='twenty-five' is not a whole number",
        ),
    ],
    ids=["bool", "secret-key", "db-url", "db-scheme", "broker", "int"],
)
def test_malformed_variable_stops_start_up_naming_it(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def _security(**env):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.REST_FRAMEWORK['NUM_PROXIES'], "
            "s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in SECURITY_VARIABLES},
            "SECRET_KEY": "x" * 50,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


SECURITY_VARIABLES = {
    "DEBUG",
    "BEHIND_HTTPS_PROXY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_COOKIES",
    "TRUSTED_PROXIES",
    "CACHE_URL",
}


def test_behind_a_tls_proxy_https_hsts_and_secure_cookies_are_on():
    found = _security(DEBUG="0", BEHIND_HTTPS_PROXY="1")
    assert found == ["True", "31536000", "True", "True", "0", "LocMemCache"]


def test_serving_plain_http_leaves_the_https_settings_off():
    assert _security(DEBUG="0")[:4] == ["False", "0", "False", "False"]
    assert _security(DEBUG="1")[:4] == ["False", "0", "False", "False"]


def test_each_https_setting_can_be_set_on_its_own():
    found = _security(DEBUG="0", BEHIND_HTTPS_PROXY="1", SECURE_HSTS_SECONDS="600")
    assert found[:2] == ["True", "600"]
    assert _security(DEBUG="0", SECURE_SSL_REDIRECT="1")[:4] == ["True", "31536000", "True", "True"]


def test_a_redis_cache_url_shares_the_cache_and_proxies_are_counted():
    found = _security(DEBUG="0", CACHE_URL="redis://127.0.0.1:6379/3", TRUSTED_PROXIES="1")
    assert found[4:] == ["1", "RedisCache"]
