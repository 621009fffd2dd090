"""Visitors' names in any script, through gunicorn as production runs it: it refuses to send a
header that is not Latin-1, which Django's test client never checks."""

import http.client
import json

import pytest
from django.urls import reverse

from favourites.tests.factories import FavouritesLinkFactory
from sharing.models import LinkVisitor
from testing.appserver import AppServer, production_env, running_database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(static_root, tmp_path):
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        AWS_STORAGE_BUCKET_NAME="",
        VIEWPORT_DATA_DIR=str(tmp_path),
    )
    server = AppServer(env, workers=1, threads=2).start()
    yield server
    server.stop()


class Browser:
    def __init__(self, app):
        self.app = app
        self.cookies = {}

    def request(self, method, path, data=None):
        headers = {"X-Forwarded-Proto": "https"}
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = json.dumps(data)
            origin = f"https://127.0.0.1:{self.app.port}"
            headers.update({"Content-Type": "application/json", "Accept": "application/json", "Origin": origin})
            headers["Referer"] = origin + path
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
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
        return response.status, content


def test_visitors_with_names_in_any_script_register_and_start_a_list(app):
    for name in ("Łukasz Dvořák", "李雷", "Zoë | O’Brien"):
        visit(app, name)


def visit(app, name):
    link = FavouritesLinkFactory(require_email=True)
    browser = Browser(app)
    assert browser.request("GET", link.get_absolute_url())[0] == 401  # the form, and a CSRF cookie
    registration = {"email": "l@example.com", "name": name}
    status, body = browser.request("POST", reverse("sharing:register", args=[link.pk]), registration)
    assert status == 200, body
    assert browser.request("GET", link.get_absolute_url())[0] == 200
    status, body = browser.request("POST", reverse("favourites:favourite_list", args=[link.pk]), {"name": name})
    assert status == 201, body
    assert LinkVisitor.objects.get(link=link).name == name

    # A link that does not ask for an address: the list's name is who the visitor is.
    other = FavouritesLinkFactory()
    browser = Browser(app)
    browser.request("GET", other.get_absolute_url())
    status, body = browser.request("POST", reverse("favourites:favourite_list", args=[other.pk]), {"name": name})
    assert status == 201, body
    assert browser.request("GET", other.get_absolute_url())[0] == 200
