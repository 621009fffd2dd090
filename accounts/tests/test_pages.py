import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CSS = Path(django_settings.BASE_DIR, "static", "css", "viewport.css").read_text()


def test_home_page_introduces_viewport_to_anonymous_visitors(client):
    response = client.get("/")

    assert response.status_code == 200
    assert f'href="{reverse("accounts:signup")}"' in response.content.decode()
    assert f'href="{reverse("accounts:login")}"' in response.content.decode()


def test_home_page_sends_logged_in_photographers_to_their_galleries(client):
    client.force_login(UserFactory())

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/galleries/"


def test_header_shows_the_photographers_name_and_a_logout_form(client):
    client.force_login(UserFactory(display_name="Ana Studio"))

    html = client.get(reverse("accounts:profile")).content.decode()

    assert "Ana Studio" in html
    assert f'<form method="post" action="{reverse("accounts:logout")}">' in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize(
    "url_name", ["home", "accounts:login", "accounts:signup", "accounts:password_reset", "accounts:password_reset_done"]
)
def test_public_account_pages_have_no_inline_styles_or_scripts(client, url_name):
    response = client.get(reverse(url_name))

    html = response.content.decode()
    assert response.status_code == 200
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\b(src|nonce)=)", html)
    assert "style-src 'self';" in response["Content-Security-Policy"]


def test_pages_with_forms_keep_a_same_origin_referrer_policy(client):
    response = client.get(reverse("accounts:login"))

    assert response["Referrer-Policy"] == "same-origin"


def test_messages_are_shown_with_their_level_class(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"email": user.email, "display_name": "Ana"}, follow=True)

    assert '<li class="message message--success">Your profile has been saved.</li>' in response.content.decode()


def test_unknown_page_renders_the_404_template(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We couldn’t find that page" in response.content.decode()


def test_500_template_renders_without_any_context():
    html = render_to_string("500.html")

    assert "Something went wrong" in html
    assert "viewport.css" in html


@pytest.mark.parametrize("template", ["403.html", "503_storage.html", "429_locked_out.html", "404.html"])
def test_error_templates_render(template):
    html = render_to_string(template)

    assert "viewport.css" in html
    assert "style=" not in html


def test_storage_page_is_public_and_says_to_try_again():
    html = render_to_string("503_storage.html")

    assert "Photo storage is unavailable right now — please try again in a minute" in html
    assert 'class="public' in html
    assert "site-header" not in html
    assert "Powered by Viewport" in html


@pytest.mark.parametrize(
    "class_name",
    [
        "container",
        "page-header",
        "btn",
        "btn--primary",
        "btn--danger",
        "btn--ghost",
        "btn--small",
        "card",
        "empty-state",
        "field",
        "field-help",
        "field-error",
        "form-inline",
        "badge",
        "badge--danger",
        "badge--success",
        "messages",
        "message--success",
        "message--error",
        "message--info",
        "message--warning",
        "muted",
        "visually-hidden",
        "stack",
        "cluster",
        "table",
    ],
)
def test_stylesheet_provides_the_shared_classes(class_name):
    assert re.search(rf"\.{re.escape(class_name)}[\s,{{:>.\[]", CSS)


def test_stylesheet_has_dark_scheme_and_visible_focus():
    assert "@media (prefers-color-scheme: dark)" in CSS
    assert ":focus-visible" in CSS
