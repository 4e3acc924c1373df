"""The production path works end to end: DEBUG off, collectstatic, gunicorn, real HTTP.

With DEBUG off the static files go through whitenoise's CompressedManifestStaticFilesStorage,
which fails collectstatic on any reference it cannot resolve (a vendored file's
sourceMappingURL comment naming a .map that is not there) and answers 500 on every page
whose template names a file missing from the manifest. The in-process suite never sees
that (conftest swaps in the plain storage), so this test runs what the Dockerfile runs,
in fresh processes, on a throwaway var directory.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 20
COMMAND_SECONDS = 180

# Every step runs in fresh processes: give the module room beyond the default timeout.
pytestmark = pytest.mark.timeout(COMMAND_SECONDS * 3 + 60)


def settings_variables() -> set[str]:
    """Every variable the settings read, so none leaks in from the caller (CI sets some)."""
    source = "".join(p.read_text() for p in (ROOT / "slaops").glob("*.py"))
    return set(re.findall(r'env_(?:str|bool|int|list|database)\("([A-Z_]+)"', source))


def production_env(var_dir: Path) -> dict[str, str]:
    # tests/conftest.py sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; no deployment does,
    # and `check --deploy` rightly reports it as an error.
    leave_out = settings_variables() | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        SLAOPS_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CELERY_BROKER_URL="filesystem://",
        DJANGO_SETTINGS_MODULE="slaops.settings",
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    assert result.returncode == 0, (
        f"manage.py {' '.join(args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, *, https: bool = True, headers: dict | None = None) -> tuple[int, str, str]:
    """(status, content type, body) for a GET, whatever the status, as the TLS proxy in
    front would forward it (`https`), redirects not followed."""
    request = urllib.request.Request(url, headers={**(headers or {})})
    if https:
        request.add_header("X-Forwarded-Proto", "https")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
            get.headers = response.headers
            return response.status, response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        get.headers = exc.headers
        return exc.code, exc.headers.get("Content-Type", ""), body


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Prepare like the Dockerfile does, start gunicorn, yield its base URL."""
    var_dir = tmp_path_factory.mktemp("var")
    env = production_env(var_dir)

    manage(env, "collectstatic", "--noinput")
    assert (var_dir / "static" / "staticfiles.json").is_file(), "collectstatic wrote no manifest"
    manage(env, "migrate", "--noinput")
    # As docker compose runs it behind a TLS-terminating proxy (which says the request was
    # HTTPS): the production settings pass Django's deployment checklist, warnings included.
    env = {**env, "BEHIND_HTTPS_PROXY": "1"}
    manage(env, "check", "--deploy", "--fail-level", "WARNING")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = var_dir / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "slaops.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"gunicorn exited {proc.returncode} before answering:\n{log_path.read_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"gunicorn did not listen on {port} within {START_SECONDS}s:\n"
                        f"{log_path.read_text()}"
                    )
                time.sleep(0.2)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_login_page_answers_200_with_html(server):
    base, log_path = server
    status, content_type, body = get(f"{base}/login/")
    assert status == 200, f"GET /login/ answered {status}:\n{log_path.read_text()[-4000:]}"
    assert content_type.startswith("text/html")
    assert "<form" in body


def test_api_docs_answer_200(server):
    base, log_path = server
    status, content_type, _ = get(f"{base}/api/docs/")
    assert status == 200, f"GET /api/docs/ answered {status}:\n{log_path.read_text()[-4000:]}"
    assert content_type.startswith("text/html")


def test_login_page_static_files_are_hashed_and_served(server):
    base, _ = server
    _, _, body = get(f"{base}/login/")
    css = re.search(r'href="(/static/vendor/bootstrap\.min\.[0-9a-f]{12}\.css)"', body)
    assert css, "the login page names no hashed bootstrap CSS (is the manifest storage on?)"
    status, content_type, text = get(base + css.group(1))
    assert status == 200
    assert content_type.startswith("text/css")
    assert "sourceMappingURL" not in text

    # Every other static file the page names is served too (the scripts, our own CSS/JS).
    for url in set(re.findall(r'(?:href|src)="(/static/[^"]+)"', body)) - {css.group(1)}:
        status, _, _ = get(base + url)
        assert status == 200, f"GET {url} answered {status}"


def test_plain_http_is_redirected_to_https_and_https_is_told_to_stay(server):
    base, _ = server
    status, _, _ = get(f"{base}/login/", https=False)
    assert status == 301
    assert get.headers["Location"].startswith("https://")
    status, _, _ = get(f"{base}/login/")
    assert status == 200
    assert get.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_session_and_csrf_cookies_are_sent_over_https_only(server):
    base, _ = server
    get(f"{base}/login/")
    cookies = get.headers.get_all("Set-Cookie") or []
    assert cookies, "the login page set no CSRF cookie"
    assert all("Secure" in cookie for cookie in cookies)
