"""A database connection terminated (pg_terminate_backend) under a worker's check pass,
and under a web request: the pass recovers on its next run with nothing lost, the request
in flight answers a clean 503, and the next request works."""

import json
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from sla.models import Flag, Notification
from tests.faults.conftest import clocks_bulk
from tests.faults.harness import wait_for

# Real PostgreSQL and Redis, the database shared with the processes the test starts.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

MANY = 2500


def backends(where: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            f"AND pid <> pg_backend_pid() AND {where}"
        )
        return [row[0] for row in cursor.fetchall()]


def terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_pass_whose_connection_is_terminated_recovers_on_the_next_run(procs, tasks, sales_world):
    now = timezone.now()
    clocks_bulk(
        agreement=sales_world["agreement"],
        owner=sales_world["rep"],
        count=MANY,
        due_at=lambda n: now - timedelta(minutes=30, seconds=n % 1000),
    )
    worker = procs.worker()

    # When the worker's connection is terminated while its pass writes flags
    tasks("sla.tasks.run_checks")

    def writing():
        """the worker's statement on the flags is running"""
        return backends("state = 'active' AND query ILIKE '%%sla_flag%%'")

    terminate(wait_for(writing, 60, every=0.02))
    wait_for(lambda: "run_checks" in worker.output() and "ERROR" in worker.output(), 30)
    assert worker.alive(), "the worker died with its connection"
    assert Flag.objects.filter(kind="first_touch_breached").count() < MANY

    # Then the same worker's next pass flags every miss once, with its messages
    tasks("sla.tasks.run_checks")

    def flagged():
        """every breach is flagged"""
        return Flag.objects.filter(kind="first_touch_breached").count() >= MANY

    wait_for(flagged, 90)
    tasks("sla.tasks.run_checks")
    wait_for(lambda: worker.succeeded("sla.tasks.run_checks") >= 2, 30)
    assert Flag.objects.filter(kind="first_touch_breached").count() == MANY
    breach_rows = Notification.objects.filter(flag__kind="first_touch_breached")
    assert breach_rows.count() == 3 * MANY


def fetch(url: str, headers: dict) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local)
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture
def web(procs, web_port):
    """gunicorn serving the app (DEBUG off) on a port of its own, with one sync worker."""
    server = procs.start(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "slaops.wsgi:application",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "1",
            "--timeout",
            "30",
        ],
    )
    server.wait_output("Booting worker", 60)

    def up():
        """gunicorn answers"""
        try:
            return fetch(f"http://127.0.0.1:{web_port}/healthz", {})[0] in (200, 503)
        except OSError:
            return False

    wait_for(up, 60)
    return f"http://127.0.0.1:{web_port}"


def test_a_request_whose_connection_is_terminated_answers_503_and_the_next_one_works(
    web, sales_world
):
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from accounts.models import Role
    from tests.factories import UserFactory

    admin = UserFactory(username="ada", role=Role.ADMIN)
    api = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    browser = Client()
    browser.force_login(admin)
    page = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}

    for path, headers, kind in [("/api/teams/", api, "json"), ("/teams/", page, "html")]:
        assert fetch(web + path, headers)[0] == 200, path  # the app's connection is open
        answers = []
        # When the app's connection is terminated while its request waits on a lock
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE accounts_team IN ACCESS EXCLUSIVE MODE")
            request = threading.Thread(
                target=lambda url, sent, into: into.append(fetch(url, sent)),
                args=(web + path, headers, answers),
            )
            request.start()

            def waiting():
                """the request waits on the lock"""
                return backends("wait_event_type = 'Lock'")

            terminate(wait_for(waiting, 20, every=0.05))
            request.join(30)
        # Then the request in flight answers a clean 503, saying so in its own format
        [(status, content_type, body)] = answers
        assert status == 503, (path, body[:500])
        if kind == "json":
            assert content_type.startswith("application/json")
            assert "database" in json.loads(body)["detail"]
        else:
            assert content_type.startswith("text/html")
            assert b"Service unavailable" in body and b"Traceback" not in body
        # ... and the next request works
        assert fetch(web + path, headers)[0] == 200, path


def test_healthz_reports_the_worker_missing_until_a_first_worker_starts(web, procs):
    # Given the web app up, and no worker ever started: not healthy, saying why
    status, _, body = fetch(web + "/healthz", {})
    report = json.loads(body)
    assert (status, report["worker"], report["database"], report["broker"]) == (
        503,
        "missing",
        "ok",
        "ok",
    )

    # When a worker starts, its first heartbeat makes the app healthy
    procs.worker()

    def healthy():
        """/healthz answers 200"""
        return fetch(web + "/healthz", {})[0] == 200

    wait_for(healthy, 30)
    assert json.loads(fetch(web + "/healthz", {})[2])["worker"] == "ok"
