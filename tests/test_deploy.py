"""The Dockerfile is lint-clean, and the commands it runs work: collectstatic, migrate, gunicorn."""

import os
import re
import subprocess

import pytest

from testing.appserver import BIN, ROOT, AppServer, manage, production_env
from testing.services import Database


def test_dockerfile_passes_hadolint():
    result = subprocess.run([BIN / "hadolint", ROOT / "Dockerfile"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_non_root_user_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.M)
    assert "gunicorn" in dockerfile and "collectstatic" in dockerfile


def compose_commands():
    """{service: the manage.py command it runs} for the services of docker-compose.yml that run one."""
    commands, service = {}, None
    for line in (ROOT / "docker-compose.yml").read_text().splitlines():
        if re.match(r"^  [a-z][\w-]*:$", line):
            service = line.strip(" :")
        elif match := re.match(r'^    command: \["python", "manage.py", (.*)\]$', line):
            commands[service] = [arg.strip(' "') for arg in match.group(1).split(",")]
    return commands


def test_compose_runs_a_worker_and_one_scheduler_with_commands_that_exist():
    commands = compose_commands()
    assert commands["worker"][0] == "db_worker" and commands["scheduler"][0] == "crontask"
    assert [args[0] for args in commands.values()].count("crontask") == 1  # no lock without Redis: one only
    assert "while true" not in (ROOT / "docker-compose.yml").read_text()  # no shell loops for periodic work
    env = production_env()
    for args in commands.values():
        result = manage(*args, "--help", env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        for option in args[1:]:
            assert option in result.stdout, option


@pytest.fixture
def fresh_database_env(tmp_path):
    """Production settings (DEBUG off) on a fresh database of the test PostgreSQL server."""
    database = Database(os.environ["VIEWPORT_TEST_DATABASE_URL"], prefix="deploy").create()
    yield production_env(DATABASE_URL=database.url, VIEWPORT_STATIC_ROOT=str(tmp_path / "static"))
    database.drop()


def test_collectstatic_migrate_and_gunicorn_serve_the_site(fresh_database_env):
    env = fresh_database_env
    assert manage("collectstatic", "--noinput", env=env).returncode == 0
    migrate = manage("migrate", "--noinput", env=env)
    assert migrate.returncode == 0, migrate.stderr
    assert manage("makemigrations", "--check", "--dry-run", env=env).returncode == 0

    app = AppServer(env, workers=1).start()
    try:
        status, _, body = app.get("/healthz/")
        assert status == 200 and b'"database": "ok"' in body

        status, headers, body = app.get("/accounts/login/")
        assert status == 200
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        stylesheet = re.search(rb'href="(/static/css/viewport\.[0-9a-f]+\.css)"', body)
        assert stylesheet, "static files are served under hashed names"
        status, headers, _ = app.get(stylesheet.group(1).decode(), headers={"Accept-Encoding": "gzip"})
        max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
        assert max_age >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"]
        assert headers["Content-Encoding"] == "gzip"
        status, headers, brotli = app.get(stylesheet.group(1).decode(), headers={"Accept-Encoding": "br, gzip"})
        assert status == 200 and headers["Content-Encoding"] == "br"  # whitenoise, with the Brotli package
        assert len(brotli) < int(headers["Content-Length"]) + 1 < 0.3 * len(app.get(stylesheet.group(1).decode())[2])
    finally:
        app.stop()


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
    result = manage("check", env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_djangos_own_commands_work_on_a_fresh_clone_with_the_embedded_default(tmp_path):
    """`DJANGO_DEBUG=true python manage.py migrate` (and createsuperuser, runserver) before
    scripts/run ever made the data folder: settings make it."""
    data = tmp_path / "no-such-folder-yet"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "AWS_"))}
    env.update(DJANGO_DEBUG="true", VIEWPORT_DATA_DIR=str(data))
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    assert (data / "db.sqlite3").is_file()
