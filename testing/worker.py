"""The task worker (`manage.py db_worker`) and the scheduler (`manage.py crontask`) as production
runs them, in processes of their own, on the database a test committed to."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from testing.appserver import ROOT
from testing.services import die_with_parent, stop_process


class ManageProcess:
    """A long-running manage.py command; stopped with SIGTERM, as a container runtime does."""

    def __init__(self, *args, env):
        self.args = args
        self.env = env
        descriptor, log = tempfile.mkstemp(prefix=f"viewport-{args[0]}-", suffix=".log")
        os.close(descriptor)
        self.log = Path(log)
        self.process = None

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        return self

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        stop_process(self.process, signal.SIGTERM)
        self.process = None
        self.log.unlink(missing_ok=True)


def task_worker(env):
    """db_worker polling every 0.2 s, without the random start-up delay."""
    return ManageProcess("db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload", env=env)


def scheduler(env):
    return ManageProcess("crontask", "--no-heartbeat", env=env)
