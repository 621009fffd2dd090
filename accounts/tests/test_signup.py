import pytest
from django.contrib.auth import get_user
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from viewport import settings as project_settings

pytestmark = pytest.mark.django_db

PASSWORD = "a quiet lens 42"


def signup(client, **data):
    return client.post(reverse("accounts:signup"), {"password1": PASSWORD, "password2": PASSWORD, **data})


def test_signup_page_labels_every_field(client):
    response = client.get(reverse("accounts:signup"))
    for name in ["email", "display_name", "password1", "password2"]:
        assert f'<label for="id_{name}">' in response.content.decode()


def test_signup_logs_in_and_redirects_to_galleries(client):
    response = signup(client, email="Ana@Example.COM", display_name="Ana Studio")

    assert response.status_code == 302
    assert response["Location"] == "/galleries/"
    user = get_user(client)
    assert user.is_authenticated
    assert user.email == "ana@example.com"
    assert user.display_name == "Ana Studio"


def test_signup_without_display_name_is_allowed(client):
    signup(client, email="nobody@example.com")

    assert User.objects.get().display_name is None


def test_signup_refuses_email_taken_in_other_case(client):
    UserFactory(email="ana@example.com")

    response = signup(client, email="ANA@example.com")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="field-error" id="id_email_error"><p>An account with this email address already exists.' in html
    assert 'aria-describedby="id_email_error"' in html
    assert User.objects.count() == 1
    assert not get_user(client).is_authenticated


def test_signup_applies_django_password_validators(client):
    response = client.post(
        reverse("accounts:signup"), {"email": "ana@example.com", "password1": "12345678", "password2": "12345678"}
    )

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.exists()


def test_signup_refuses_mismatched_passwords(client):
    response = client.post(
        reverse("accounts:signup"), {"email": "ana@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"}
    )

    assert response.status_code == 200
    assert not User.objects.exists()


def test_passwords_are_hashed_with_argon2(client, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # conftest swaps in MD5 for speed
    signup(client, email="ana@example.com")

    user = User.objects.get()
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)
