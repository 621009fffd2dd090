"""`bash scripts/run` on the embedded default (SQLite, local files): the site, the task worker
and the scheduler start together, a queued task is run (an e-mail arrives over SMTP, its links on
the port served), the scheduler keeps its routine lines to itself, and Ctrl+C (SIGINT to the
whole process group, as a terminal sends it) stops all of them. And `manage.py` without the
settings production requires says what to set in one line."""

import json
import os
import signal
import subprocess
import time

import pytest

from testing.appserver import ROOT
from testing.http import get
from testing.services import free_port

ENQUEUE_A_MAIL = """
from django.utils import timezone
from accounts.models import User
from accounts.tasks import notify_photographer
user = User.objects.create_user("lena@example.com", "correct horse battery staple", email_verified_at=timezone.now())
notify_photographer.enqueue(str(user.pk), "daily_digest", "run-script", {"day": "2026-11-29", "links": []})
"""


def processes_in_group(pgid):
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.fixture
def run_env(tmp_path):
    """The environment of a fresh clone: nothing configured but the mail server."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AWS_", "DATABASE_URL", "VIEWPORT_"))
    }
    env["VIEWPORT_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_scripts_run_starts_site_worker_and_scheduler_and_ctrl_c_stops_them_all(run_env, smtp_mailbox, tmp_path):
    port = free_port()
    log = open(tmp_path / "run.log", "wb")
    script = subprocess.Popen(
        ["bash", "scripts/run", str(port)],
        cwd=ROOT,
        env=run_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert script.poll() is None, (tmp_path / "run.log").read_text()
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/healthz/", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
                time.sleep(0.3)
        assert status == 200
        assert json.loads(body)["queue"]["backend"] == "database"
        running = "\n".join(processes_in_group(script.pid))
        assert "manage.py db_worker" in running and "manage.py crontask" in running and "manage.py runserver" in running

        # A task queued in the SQLite database is run by the worker beside the site.
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", ENQUEUE_A_MAIL],
            cwd=ROOT,
            env={**run_env, "DJANGO_DEBUG": "true"},
            check=True,
            capture_output=True,
            timeout=60,
        )
        [message] = smtp_mailbox.wait_for(1, timeout=30)
        assert message["To"] == "lena@example.com"
        # Its links point at the port served, not at 8000.
        assert f"http://127.0.0.1:{port}/accounts/profile/" in message.as_string()
        # The scheduler's routine lines (a job added, a job run) stay out of the terminal.
        output = (tmp_path / "run.log").read_text()
        assert "Added job" not in output and "Running job" not in output and "Scheduler started" not in output

        os.killpg(script.pid, signal.SIGINT)  # Ctrl+C
        try:
            script.wait(45)
        except subprocess.TimeoutExpired:
            running = "\n".join(processes_in_group(script.pid))
            pytest.fail(f"scripts/run still runs 45 s after Ctrl+C:\n{running}\n{(tmp_path / 'run.log').read_text()}")
        deadline = time.monotonic() + 15
        while processes_in_group(script.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_in_group(script.pid) == []
    finally:
        if script.poll() is None or processes_in_group(script.pid):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait()
        log.close()


def test_manage_py_without_production_settings_says_what_to_set_in_one_line(run_env):
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "migrate"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "DJANGO_SECRET_KEY" in line and "DJANGO_DEBUG=true" in line
    assert "Traceback" not in result.stderr
