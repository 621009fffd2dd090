"""The Dockerfile is lint-clean, and the commands it runs work: collectstatic, migrate, gunicorn."""

import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid

import psycopg
import pytest

from pytest_services import free_port
from tests.conftest import BIN, ROOT, production_env


def test_dockerfile_passes_hadolint():
    result = subprocess.run([BIN / "hadolint", ROOT / "Dockerfile"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_non_root_user_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.M)
    assert "gunicorn" in dockerfile and "collectstatic" in dockerfile


@pytest.fixture
def fresh_database_env(tmp_path):
    """Production settings (DEBUG off) on a fresh database of the test PostgreSQL server."""
    name = f"deploy_{uuid.uuid4().hex[:8]}"
    server_url = os.environ["VIEWPORT_TEST_DATABASE_URL"]
    with psycopg.connect(server_url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return production_env(
        DATABASE_URL=server_url.rsplit("/", 1)[0] + f"/{name}", VIEWPORT_STATIC_ROOT=str(tmp_path / "static")
    )


def run(args, env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def fetch(url, **headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_collectstatic_migrate_and_gunicorn_serve_the_site(fresh_database_env, tmp_path):
    env = fresh_database_env
    assert run(["manage.py", "collectstatic", "--noinput"], env).returncode == 0
    migrate = run(["manage.py", "migrate", "--noinput"], env)
    assert migrate.returncode == 0, migrate.stderr
    assert run(["manage.py", "makemigrations", "--check", "--dry-run"], env).returncode == 0

    port = free_port()
    gunicorn = subprocess.Popen(
        [BIN / "gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi"],
        cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, body = fetch(f"{base}/healthz/")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        assert status == 200 and b'"database": "ok"' in body

        status, headers, body = fetch(f"{base}/accounts/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        stylesheet = re.search(rb'href="(/static/css/viewport\.[0-9a-f]+\.css)"', body)
        assert stylesheet, "static files are served under hashed names"
        status, headers, _ = fetch(base + stylesheet.group(1).decode(), **{"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"})
        max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
        assert max_age >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"]
        assert headers["Content-Encoding"] == "gzip"
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_ALLOWED_HOSTS", None, "DJANGO_ALLOWED_HOSTS must list"),
    ],
)
def test_production_mode_refuses_to_start_without_a_secret_key_and_hosts(setting, value, message):
    env = production_env()
    if value is None:
        del env[setting]
    else:
        env[setting] = value
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert message in result.stderr
