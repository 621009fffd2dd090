import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("url_name", ["accounts:profile", "accounts:password_change", "accounts:password_change_done"])
def test_account_pages_redirect_anonymous_visitors_to_login(client, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


def test_profile_page_shows_current_details(client):
    user = UserFactory(email="ana@example.com", display_name="Ana Studio")
    client.force_login(user)

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200
    assert 'value="ana@example.com"' in response.content.decode()
    assert 'value="Ana Studio"' in response.content.decode()


def test_profile_changes_display_name_and_email(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"),
        {"display_name": "Ana Lens", "email": "Ana.Lens@Example.com", "current_password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    user.refresh_from_db()
    assert user.display_name == "Ana Lens"
    assert user.email == "ana.lens@example.com"
    assert "Your profile has been saved." in client.get(reverse("accounts:profile")).content.decode()


def test_profile_keeps_own_email_in_another_case(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"display_name": "", "email": "ANA@example.com"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "ana@example.com"
    assert user.display_name is None


def test_profile_refuses_email_of_another_account_in_any_case(client):
    UserFactory(email="taken@example.com")
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"),
        {"display_name": "Ana", "email": "Taken@EXAMPLE.com", "current_password": PASSWORD},
    )

    assert response.status_code == 200
    assert "An account with this email address already exists." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ana@example.com"


def test_profile_edit_is_csrf_protected(client):
    csrf_client = Client(enforce_csrf_checks=True)
    user = UserFactory(email="ana@example.com")
    csrf_client.force_login(user)

    response = csrf_client.post(reverse("accounts:profile"), {"display_name": "Mallory", "email": "m@example.com"})

    assert response.status_code == 403
    user.refresh_from_db()
    assert user.email == "ana@example.com"


def test_the_time_zone_is_guessed_at_signup_and_changed_in_the_profile(client):
    form = {"email": "ana@example.com", "display_name": "Ana", "password1": PASSWORD, "password2": PASSWORD}
    client.post(reverse("accounts:signup"), {**form, "time_zone": "America/Sao_Paulo"})
    user = User.objects.get(email="ana@example.com")
    assert user.time_zone == "America/Sao_Paulo"
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:signup"), {**form, "email": "ben@example.com", "time_zone": "Mars/Olympus"})
    assert User.objects.get(email="ben@example.com").time_zone == "UTC"  # a guess: never an error

    client.force_login(user)
    page = client.get(reverse("accounts:profile")).text
    assert '<option value="America/Sao_Paulo" selected>America/Sao Paulo</option>' in page
    response = client.post(
        reverse("accounts:profile"), {"display_name": "Ana", "email": user.email, "time_zone": "Asia/Kolkata"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Asia/Kolkata"
    response = client.post(
        reverse("accounts:profile"), {"display_name": "Ana", "email": user.email, "time_zone": "Nowhere"}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.text


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules", "EST5EDT"])
def test_time_zones_that_are_no_place_are_refused(client, name):
    form = {"email": "ana@example.com", "display_name": "Ana", "password1": PASSWORD, "password2": PASSWORD}
    client.post(reverse("accounts:signup"), {**form, "time_zone": name})
    user = User.objects.get(email="ana@example.com")
    assert user.time_zone == "UTC"  # a guess: never an error

    client.force_login(user)
    page = client.get(reverse("accounts:profile")).text
    assert f'value="{name}"' not in page
    assert '<option value="Etc/GMT+5">' in page and '<option value="Europe/Kyiv">' in page
    response = client.post(reverse("accounts:profile"), {"display_name": "Ana", "email": user.email, "time_zone": name})
    assert response.status_code == 200 and "Select a valid choice" in response.text
    user.time_zone = name
    with pytest.raises(ValidationError):
        user.full_clean()
