"""The production-like stack the server benchmarks run against, all on 127.0.0.1: PostgreSQL and
S3 (SeaweedFS), then `migrate` and `collectstatic`, then the app under gunicorn with the
project's gunicorn.conf.py (2 gthread workers × 8 threads) in production mode (DEBUG off).

The servers are the benchmark's own (testing/services.py), or the test run's when its variables
are set (VIEWPORT_TEST_DATABASE_URL, VIEWPORT_TEST_S3_ENDPOINT_URL and the AWS_* keys): the
benchmark then works in a database and a bucket of its own on them.
"""

import http.client
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from django.core.management import call_command

from bench.baseline import BaselineApp, NoBaseline
from bench.measure import proc_status
from testing.appserver import AppServer, collect_static, production_env
from testing.services import Database, PostgresServer, S3Server, create_bucket


class Stack:
    def __init__(self, workers=2, threads=8):
        self.workers, self.threads = workers, threads
        self.tmp = Path(tempfile.mkdtemp(prefix="viewport-bench-"))
        test_database = os.environ.get("VIEWPORT_TEST_DATABASE_URL")
        test_s3 = os.environ.get("VIEWPORT_TEST_S3_ENDPOINT_URL")
        self.postgres = None if test_database else PostgresServer()
        self.database = Database(test_database or self.postgres.url, prefix="bench")
        self.s3 = None if test_s3 else S3Server(bucket="viewport-bench")
        if test_s3:
            s3_env = {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
            s3_env.update(AWS_S3_ENDPOINT_URL=test_s3, AWS_STORAGE_BUCKET_NAME=f"viewport-bench-{uuid.uuid4().hex[:8]}")
        else:
            s3_env = self.s3.env()
        self.env = production_env(
            DATABASE_URL=self.database.url,
            **s3_env,
            DJANGO_SECURE_SSL_REDIRECT="false",  # requests come straight from here, not through a TLS proxy
            # The test suite's smoke run hands over the static files it has collected.
            VIEWPORT_STATIC_ROOT=os.environ.get("VIEWPORT_BENCH_STATIC_ROOT") or str(self.tmp / "static"),
            VIEWPORT_DATA_DIR=str(self.tmp / "data"),
            VIEWPORT_UPLOAD_TEMP_DIR=str(self.tmp / "uploads"),
            VIEWPORT_LOG_LEVEL="WARNING",
            VIEWPORT_MAX_FILES_PER_REQUEST="20",  # the upload part's batch is one POST of 20 photos
            VIEWPORT_ZIP_STREAMS_PER_NETWORK="16",  # every client here is on 127.0.0.1
            VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK="16",
        )
        self.app = AppServer(self.env, workers=workers, threads=threads, timeout=120)
        self.started = False
        self._baseline = None
        self.quick = False  # a smoke run (--quick) starts no baseline: its figures would mean nothing

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self.started = True
        if self.postgres:
            self.postgres.start()
        self.database.create()
        if self.s3:
            self.s3.start()
        else:
            create_bucket(
                self.env["AWS_S3_ENDPOINT_URL"],
                self.env["AWS_STORAGE_BUCKET_NAME"],
                self.env["AWS_ACCESS_KEY_ID"],
                self.env["AWS_SECRET_ACCESS_KEY"],
            )
        (self.tmp / "uploads").mkdir()
        call_command("migrate", "--noinput", verbosity=0)  # this process runs Django with self.env
        collect_static(self.env["VIEWPORT_STATIC_ROOT"], self.env)
        self.start_app()
        return self

    def start_app(self):
        self.app.start()
        time.sleep(0.5)  # let every worker finish booting

    def restart_app(self):
        """Fresh workers, so memory readings start from a known state."""
        self.app.stop()
        self.start_app()

    def baseline(self):
        """Today's code (bench/baseline.py) under gunicorn beside the app, started on first use:
        its AppServer, or None when this clone has no baseline."""
        if self._baseline is None and self.quick:
            self._baseline = False
        if self._baseline is None:
            try:
                self._baseline = BaselineApp(self)
                self._baseline.app.start()
                time.sleep(0.5)
            except NoBaseline as error:
                print(f"(no baseline to compare with: {error})", flush=True)
                self._baseline = False
        return self._baseline.app if self._baseline else None

    def stop(self):
        self.app.stop()
        if self._baseline:
            self._baseline.app.stop()
        try:
            if self.started and not self.postgres:  # a server of our own goes away whole
                self.database.drop()
        finally:
            for server in (self.s3, self.postgres):
                if server:
                    server.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def worker_memory(self):
        """{pid: {"VmRSS": KiB, "VmHWM": KiB}} for each gunicorn worker."""
        return {pid: proc_status(pid) for pid in self.app.worker_pids()}

    # -- HTTP ------------------------------------------------------------------------------------
    @property
    def base_url(self):
        return self.app.url

    def connection(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, cookies=None):
        """(status, headers, body); redirects are answers, not followed."""
        connection = self.connection()
        try:
            headers = dict(headers or {})
            if cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()
