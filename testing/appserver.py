"""The app as production runs it: gunicorn with gunicorn.conf.py, DEBUG off, collected static
files, on a free loopback port. The fault, load and deploy tests and the benchmarks all start it
this way."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

from testing.http import get
from testing.services import die_with_parent, free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def production_env(**extra):
    """The environment the app runs with in production, on this process's database and S3 server
    (DATABASE_URL and the AWS_* variables are passed on; no DJANGO_* setting of the tests is)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SECRET_KEY="app-server-" + "s" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        VIEWPORT_LOG_LEVEL="ERROR",
    )
    env.update(extra)
    return env


def running_database_url():
    """The database this test's Django uses (pytest-django's test database), for a server or
    worker started in a process of its own to see the test's rows."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def manage(*args, env, check=False, timeout=120, root=ROOT):
    """Run a manage.py command in a process of its own, as a deployment does (of the code at
    `root`: the benchmarks run an earlier version beside this one)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        check=check,
        timeout=timeout,
        capture_output=True,
        text=True,
    )


def collect_static(root, env, code=ROOT):
    """collectstatic (of the code at `code`) into `root`, unless a collection is there already
    (its manifest is written last): whitenoise's manifest storage answers 500 without it."""
    if not (Path(root) / "staticfiles.json").exists():
        manage(
            "collectstatic", "--noinput", "-v0", env={**env, "VIEWPORT_STATIC_ROOT": str(root)}, check=True, root=code
        )
    return root


class AppServer:
    """gunicorn serving viewport.wsgi with the project's gunicorn.conf.py, in a process of its own.

    The config file takes its numbers from GUNICORN_* variables: they are set here, so the app
    runs exactly as deployed, only smaller.
    """

    def __init__(self, env, workers=2, threads=4, timeout=30, root=ROOT):
        self.root = root  # the code to serve: this checkout, or another version of it
        self.port = free_port()
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_TIMEOUT": str(timeout),
            "GUNICORN_GRACEFUL_TIMEOUT": "2",
        }
        descriptor, log = tempfile.mkstemp(prefix="viewport-gunicorn-", suffix=".log")
        os.close(descriptor)
        self.log = Path(log)
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [BIN / "gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi"],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                self.get("/healthz/", timeout=5)  # any answer: a worker is serving
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start within 30 s: {self.log.read_text()[-3000:]}")

    def get(self, path, headers=None, timeout=15):
        """(status, headers, body) of a GET through a TLS-terminating proxy's eyes."""
        return get(self.url + path, headers={"X-Forwarded-Proto": "https", **(headers or {})}, timeout=timeout)

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self):
        stop_process(self.process, signal.SIGTERM)
        self.process = None
        self.log.unlink(missing_ok=True)
