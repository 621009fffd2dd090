"""Login throttling and password reset under gunicorn in production mode (DEBUG off), behind one
proxy as nginx talks to the app: from 127.0.0.1, with `X-Forwarded-Proto: https` and
`X-Forwarded-For: $proxy_add_x_forwarded_for` (what the client sent, then the address nginx saw)."""

import http.client
import socket
import sqlite3
import threading
import time
from contextlib import closing
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.tests.factories import UserFactory
from testing.appserver import AppServer, manage, production_env, running_database_url
from testing.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


class SlowMailServer:
    """An SMTP server that takes `delay` seconds to say anything, then turns the sender away."""

    def __init__(self, delay):
        self.delay = delay
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer_slowly, args=(connection,), daemon=True).start()

    def answer_slowly(self, connection):
        with connection:
            time.sleep(self.delay)
            connection.sendall(b"421 Too busy, try later\r\n")

    def close(self):
        self.listener.close()


@pytest.fixture
def mail_server():
    server = SlowMailServer(delay=3)
    yield server
    server.close()


@pytest.fixture
def app(static_root, mail_server):
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_PROXY_COUNT="1",
        EMAIL_URL=f"smtp://127.0.0.1:{mail_server.port}",
    )
    server = AppServer(env, workers=1, threads=4).start()
    yield server
    server.stop()


@pytest.fixture
def user(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # one the app knows
    return UserFactory(email="ana@example.com")


class ClientBehindProxy:
    """A browser at `address`, seen through nginx: its cookies, and the headers nginx adds."""

    def __init__(self, app, address):
        self.app = app
        self.address = address
        self.cookies = {}

    def request(self, method, path, form=None, forwarded_for=None):
        """(status, headers, body). `forwarded_for` is an X-Forwarded-For the client wrote itself."""
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"{forwarded_for}, {self.address}" if forwarded_for else self.address,
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://127.0.0.1:{self.app.port}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";")[0].partition("=")
            self.cookies[name.strip()] = value
        return response.status, response.headers, content

    def log_in(self, email, password, forwarded_for=None):
        if "csrftoken" not in self.cookies:
            self.request("GET", reverse("accounts:login"))
        status, _, body = self.request(
            "POST", reverse("accounts:login"), {"email": email, "password": password}, forwarded_for
        )
        return status

    def ask_for_reset(self, email):
        self.request("GET", reverse("accounts:password_reset"))
        started = time.monotonic()
        status, headers, _ = self.request("POST", reverse("accounts:password_reset"), {"email": email})
        return status, headers.get("Location"), time.monotonic() - started


def test_five_failures_lock_out_one_client_behind_the_proxy_and_not_another(app, user):
    attacker = ClientBehindProxy(app, "203.0.113.66")
    failures = [attacker.log_in(f"someone{n}@example.com", "guess") for n in range(5)]

    assert failures == [200, 200, 200, 200, 429]
    assert attacker.log_in(user.email, PASSWORD) == 429
    assert ClientBehindProxy(app, "203.0.113.67").log_in(user.email, PASSWORD) == 302


def test_a_client_cannot_dodge_its_lockout_with_its_own_forwarded_for(app, user):
    attacker = ClientBehindProxy(app, "203.0.113.66")
    for n in range(5):
        attacker.log_in(f"someone{n}@example.com", "guess", forwarded_for=f"192.0.2.{n}")

    for forwarded_for in ["192.0.2.100", "203.0.113.67", "127.0.0.1", "garbage"]:
        assert attacker.log_in(user.email, PASSWORD, forwarded_for=forwarded_for) == 429, forwarded_for


def test_a_password_reset_answers_at_once_and_alike_for_known_and_unknown_addresses(app, user, mail_server):
    known = ClientBehindProxy(app, "203.0.113.1").ask_for_reset(user.email)
    unknown = ClientBehindProxy(app, "203.0.113.2").ask_for_reset("nobody@example.com")

    assert known[:2] == unknown[:2] == (302, reverse("accounts:password_reset_done"))
    assert known[2] < 1.5 and unknown[2] < 1.5, (known, unknown)
    deadline = time.monotonic() + 5
    while not mail_server.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mail_server.connections == 1  # the known address's mail was still sent, after the answer


@pytest.fixture
def sqlite_app(static_root, tmp_path):
    """The app on the embedded default: SQLite and local files in a data folder of its own."""
    env = production_env(
        VIEWPORT_DATA_DIR=str(tmp_path), VIEWPORT_STATIC_ROOT=str(static_root), VIEWPORT_PROXY_COUNT="1"
    )
    for name in [name for name in env if name == "DATABASE_URL" or name.startswith("AWS_")]:
        del env[name]
    manage("migrate", "--noinput", "-v0", env=env, check=True)
    server = AppServer(env, workers=2, threads=8).start()
    yield server
    server.stop()


def test_concurrent_logins_on_sqlite_are_all_counted_and_checked_no_more_than_the_limit(sqlite_app, tmp_path):
    owner = ClientBehindProxy(sqlite_app, "192.0.2.1")
    owner.request("GET", reverse("accounts:signup"))
    form = {"email": "ana@example.com", "password1": PASSWORD, "password2": PASSWORD}
    assert owner.request("POST", reverse("accounts:signup"), form)[0] == 302
    guessers = [ClientBehindProxy(sqlite_app, f"203.0.113.{n}") for n in range(20)]
    for guesser in guessers:
        guesser.request("GET", reverse("accounts:login"))
    start = threading.Barrier(len(guessers))
    statuses = []

    def guess(guesser):
        start.wait()
        statuses.append(guesser.log_in("ana@example.com", f"guess{guesser.address}"))

    threads = [threading.Thread(target=guess, args=(guesser,)) for guesser in guessers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(statuses)) == [200, 429], statuses  # no 500 "database is locked"
    with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as db:
        (counted,) = db.execute("SELECT sum(failures_since_start) FROM axes_accessattempt").fetchone()
    # A failure counts only where its password was checked: no more checks than the limit.
    assert counted <= settings.AXES_FAILURE_LIMIT
    assert ClientBehindProxy(sqlite_app, "192.0.2.2").log_in("ana@example.com", PASSWORD) == 429
