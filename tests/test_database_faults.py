"""PostgreSQL restarted or down under a running app: gunicorn, as in production, on a PostgreSQL
server of these tests' own (the session's server is never stopped).

Django keeps connections for CONN_MAX_AGE seconds; after a restart they are dead, and
CONN_HEALTH_CHECKS makes the next request notice and reconnect instead of failing.
"""

import time
import uuid

import pytest

from testing.appserver import AppServer, manage, production_env
from testing.services import PostgresServer


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def app(postgres, static_root):
    env = production_env(DATABASE_URL=postgres.url, VIEWPORT_STATIC_ROOT=str(static_root), DATABASE_CONNECT_TIMEOUT="2")
    manage("migrate", "--noinput", "-v0", env=env, check=True)
    server = AppServer(env, workers=1, threads=2).start()
    yield server
    server.stop()


@pytest.fixture
def running(postgres, app):
    if postgres.process is None:
        postgres.start()
    return app


def page_that_reads_the_database():
    return f"/s/{uuid.uuid4()}/"  # a share link lookup: an unknown one is a 404 page


def assert_app_healthy(app, requests=6):
    for _ in range(requests):
        status, _, body = app.get("/healthz/")
        assert status == 200, body
        assert app.get(page_that_reads_the_database())[0] == 404


def test_requests_succeed_right_after_postgresql_restarts(running, postgres):
    assert_app_healthy(running)  # every worker thread now holds a persistent connection
    postgres.stop()
    postgres.start()
    # The first requests after the restart find their connections dead: checked, replaced, no error.
    assert_app_healthy(running)


def test_while_postgresql_is_down_the_app_fails_fast_and_recovers(running, postgres):
    assert_app_healthy(running, requests=2)
    postgres.stop()
    started = time.monotonic()
    status, _, body = running.get("/healthz/")
    assert status == 503 and b'"database": "error' in body
    assert running.get(page_that_reads_the_database())[0] == 500
    assert time.monotonic() - started < 5  # refused at once, not a hang

    postgres.start()
    assert_app_healthy(running)
