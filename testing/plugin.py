"""A pytest plugin that starts the real services the suite runs against.

Loaded with `-p testing.plugin` from pytest.ini, so its hook runs before pytest-django reads the
settings: it starts a throwaway PostgreSQL server, a SeaweedFS S3 server and an SMTP server on
free loopback ports, exports DATABASE_URL, the AWS_* variables, EMAIL_URL and
VIEWPORT_TEST_MAIL_DIR (where the SMTP server keeps what it receives), and stops them when
pytest exits.

Set VIEWPORT_TEST_DATABASE_URL (and VIEWPORT_TEST_S3_ENDPOINT_URL with the AWS_* variables) to use
running servers instead. Processes the tests start (gunicorn, the benchmarks' smoke run) find the
servers through the same variables.
"""

import atexit
import os
import signal
import sys

import pytest

from testing.services import PostgresServer, S3Server, SMTPServer, create_bucket

_started = []


def _stop_all(*_):
    while _started:
        _started.pop().cleanup()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "x" * 50)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    # The live server builds its middleware once, before per-test settings apply: plain HTTP there.
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        # The controller started the servers and exported their addresses. pytest-django gives
        # each worker a database of its own; a bucket and a mailbox of its own, too, so that a
        # worker listing the bucket or reading mail sees only its own tests'.
        os.environ["AWS_STORAGE_BUCKET_NAME"] = f"{os.environ['AWS_STORAGE_BUCKET_NAME']}-{worker}"
        create_bucket(os.environ["VIEWPORT_TEST_S3_ENDPOINT_URL"], os.environ["AWS_STORAGE_BUCKET_NAME"])
        atexit.register(_stop_all)
        _start_mail_server()
        return
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.environ.get("VIEWPORT_TEST_DATABASE_URL"):
        postgres = PostgresServer().start()
        _started.append(postgres)
        os.environ["VIEWPORT_TEST_DATABASE_URL"] = postgres.url
    os.environ["DATABASE_URL"] = os.environ["VIEWPORT_TEST_DATABASE_URL"]
    if not os.environ.get("VIEWPORT_TEST_S3_ENDPOINT_URL"):
        s3 = S3Server().start()
        _started.append(s3)
        os.environ["VIEWPORT_TEST_S3_ENDPOINT_URL"] = s3.endpoint_url
        os.environ.update(s3.env())
    if not os.environ.get("VIEWPORT_TEST_MAIL_DIR"):
        _start_mail_server()


def _start_mail_server():
    smtp = SMTPServer().start()
    _started.append(smtp)
    os.environ["VIEWPORT_TEST_MAIL_DIR"] = str(smtp.dir)
    os.environ["EMAIL_URL"] = smtp.url


def pytest_unconfigure(config):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        _stop_all()
