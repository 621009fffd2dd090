from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from galleries.tests.factories import GalleryFactory
from sharing.forms import ShareLinkForm
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db


def create_url(gallery):
    return reverse("sharing:share_link_create", args=[gallery.pk])


# Creating


def test_create_share_link_requires_login(client):
    gallery = GalleryFactory()
    response = client.post(create_url(gallery))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert not ShareLink.objects.exists()


def test_create_share_link_on_another_users_gallery_is_404(client):
    gallery = GalleryFactory()
    client.force_login(UserFactory())
    assert client.post(create_url(gallery)).status_code == 404
    assert not ShareLink.objects.exists()


def test_owner_creates_share_link_that_never_expires(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    response = client.post(create_url(gallery), {"expires_in_days": "", "expires_at": ""})
    link = ShareLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:share_link_detail", args=[link.pk])
    assert link.gallery == gallery
    assert link.expires_at is None


def test_create_share_link_with_json_returns_201_with_public_url(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    response = client.post(
        create_url(gallery), {"expires_at": "2099-06-30 18:00"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 201
    link = ShareLink.objects.get()
    assert response.json() == {
        "id": str(link.pk),
        "url": f"http://testserver/s/{link.pk}/",
        "label": "",
        "expires_at": link.expires_at.isoformat(),
        "is_active": True,
        "has_password": False,
        "has_download_pin": False,
        "require_email": False,
        "allow_zip": True,
        "allow_single": True,
        "download_size": "original",
        "strip_location": True,
        "watermark": False,
        "remind_days": 3,
        "favourites": True,
        "favourites_limit": None,
        "favourites_title": "Favourites",
        "favourites_require_email": False,
        "favourites_comments": False,
        "failed_unlocks_last_hour": 0,
        "failed_unlock_networks_last_hour": 0,
        "under_guessing_attack": False,
    }
    assert link.expires_at == datetime(2099, 6, 30, 18, 0, tzinfo=timezone.get_current_timezone())
    # The link's page gives a script the same JSON.
    detail = reverse("sharing:share_link_detail", args=[link.pk])
    assert client.get(detail, headers={"Accept": "application/json"}).json() == response.json()


def test_create_share_link_accepts_a_date_alone(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    client.post(create_url(gallery), {"expires_at": "2099-01-31"})
    assert ShareLink.objects.get().expires_at.date().isoformat() == "2099-01-31"


def test_create_share_link_accepts_a_browser_datetime_local_value(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    client.post(create_url(gallery), {"expires_at": "2099-01-31T09:30"})
    assert ShareLink.objects.get().expires_at == datetime(2099, 1, 31, 9, 30, tzinfo=timezone.get_current_timezone())


@pytest.mark.parametrize("days", [7, 30, 90])
def test_create_share_link_with_a_preset_expires_that_many_days_from_now(client, days):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    client.post(create_url(gallery), {"expires_in_days": str(days), "expires_at": ""})
    # At the end of that day in the photographer's time zone (UTC here; sharing/tests/test_link_defaults.py).
    expected = datetime.combine(timezone.now().date() + timedelta(days=days), time(23, 59), tzinfo=UTC)
    assert ShareLink.objects.get().expires_at == expected


def test_create_share_link_in_the_past_is_a_form_error(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    response = client.post(create_url(gallery), {"expires_at": past})
    assert response.status_code == 400
    assert "in the future" in response.context["form"].errors["expires_at"][0]
    assert not ShareLink.objects.exists()
    response = client.post(create_url(gallery), {"expires_at": past}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "expires_at" in response.json()["fields"]


def test_create_share_link_in_a_dst_gap_is_a_form_error(client):
    # The photographer's time zone: clocks jump from 02:00 to 03:00 on 31 March 2030.
    gallery = GalleryFactory(owner__time_zone="Europe/Paris")
    client.force_login(gallery.owner)
    response = client.post(create_url(gallery), {"expires_at": "2030-03-31 02:30"})
    assert response.status_code == 400
    assert "couldn’t be interpreted" in response.context["form"].errors["expires_at"][0]
    assert not ShareLink.objects.exists()


def test_create_share_link_with_both_preset_and_date_is_a_form_error(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    response = client.post(create_url(gallery), {"expires_in_days": "7", "expires_at": "2099-01-01"})
    assert response.status_code == 400
    assert not ShareLink.objects.exists()


def test_share_link_form_works_without_arguments():
    form = ShareLinkForm()
    assert not form.is_bound
    assert list(form.fields) == [
        "label",
        "expires_in_days",
        "expires_at",
        "remind_days",
        "password",
        "password_clear",
        "is_active",
        "allow_zip",
        "allow_single",
        "download_size",
        "strip_location",
        "watermark",
        "download_pin",
        "download_pin_clear",
        "require_email",
        "favourites",
        "favourites_limit",
        "favourites_title",
        "favourites_require_email",
        "favourites_comments",
    ]


# Changing the expiry and revoking


def test_update_share_link_requires_login(client):
    link = ShareLinkFactory()
    response = client.post(reverse("sharing:share_link_update", args=[link.pk]), {"expires_in_days": "7"})
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_update_another_users_share_link_is_404(client):
    link = ShareLinkFactory()
    client.force_login(UserFactory())
    response = client.post(reverse("sharing:share_link_update", args=[link.pk]), {"expires_in_days": "7"})
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.expires_at is None


def test_owner_changes_expiry_and_returns_to_the_page_they_came_from(client):
    link = ShareLinkFactory()
    client.force_login(link.gallery.owner)
    url = reverse("sharing:share_link_update", args=[link.pk])
    response = client.post(url, {"expires_at": "2099-02-01 10:00", "next": reverse("sharing:share_link_list")})
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:share_link_list")
    link.refresh_from_db()
    assert link.expires_at == datetime(2099, 2, 1, 10, 0, tzinfo=timezone.get_current_timezone())
    # Empty means never; a foreign `next` falls back to the gallery's sharing.
    response = client.post(url, {"expires_at": "", "next": "https://evil.example/"})
    assert response["Location"] == reverse("galleries:gallery_sharing", args=[link.gallery.pk])
    link.refresh_from_db()
    assert link.expires_at is None


def test_owner_can_make_an_expired_link_work_again(client):
    link = ShareLinkFactory(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(link.gallery.owner)
    client.post(reverse("sharing:share_link_update", args=[link.pk]), {"expires_in_days": "30"})
    link.refresh_from_db()
    assert not link.is_expired


def test_from_the_very_moment_of_its_expiry_a_link_is_expired_in_python_and_in_the_database():
    moment = timezone.now()
    at_the_moment = ShareLinkFactory(expires_at=moment)
    a_microsecond_later = ShareLinkFactory(expires_at=moment + timedelta(microseconds=1))
    # Both clocks stopped at `moment`: Python's, and the database's Now() (PostgreSQL's
    # STATEMENT_TIMESTAMP() moves on with every statement).
    with (
        mock.patch("django.utils.timezone.now", return_value=moment),
        mock.patch.object(Now, "as_postgresql", lambda self, compiler, connection, **extra: ("%s", [moment])),
    ):
        assert at_the_moment.is_expired and at_the_moment.status == "expired"
        assert not a_microsecond_later.is_expired
        assert list(ShareLink.objects.active()) == [a_microsecond_later]
        assert list(ShareLink.objects.expired()) == [at_the_moment]


def test_update_share_link_to_the_past_is_a_form_error(client):
    link = ShareLinkFactory()
    client.force_login(link.gallery.owner)
    response = client.post(reverse("sharing:share_link_update", args=[link.pk]), {"expires_at": "2000-01-01"})
    assert response.status_code == 400
    link.refresh_from_db()
    assert link.expires_at is None


def test_revoke_share_link_requires_login_and_post(client):
    link = ShareLinkFactory()
    url = reverse("sharing:share_link_delete", args=[link.pk])
    assert reverse("accounts:login") in client.post(url)["Location"]
    client.force_login(link.gallery.owner)
    assert client.get(url).status_code == 405
    assert ShareLink.objects.filter(pk=link.pk).exists()


def test_revoke_another_users_share_link_is_404(client):
    link = ShareLinkFactory()
    client.force_login(UserFactory())
    assert client.post(reverse("sharing:share_link_delete", args=[link.pk])).status_code == 404
    assert ShareLink.objects.filter(pk=link.pk).exists()


def test_owner_revokes_share_link_and_it_stops_working(client):
    link = ShareLinkFactory()
    client.force_login(link.gallery.owner)
    response = client.post(reverse("sharing:share_link_delete", args=[link.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("galleries:gallery_sharing", args=[link.gallery.pk])
    assert not ShareLink.objects.filter(pk=link.pk).exists()
    assert client.get(reverse("sharing:public_gallery", args=[link.pk])).status_code == 404


# Listing


def test_share_link_list_requires_login(client):
    response = client.get(reverse("sharing:share_link_list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_share_link_list_shows_only_own_links_with_url_gallery_and_counters(client):
    mine = ShareLinkFactory(
        views=12, zip_downloads=3, single_downloads=4, expires_at=timezone.now() - timedelta(days=1)
    )
    theirs = ShareLinkFactory()
    client.force_login(mine.gallery.owner)
    response = client.get(reverse("sharing:share_link_list"))
    assert response.status_code == 200
    assert list(response.context["share_links"]) == [mine]
    content = response.content.decode()
    assert f"http://testserver/s/{mine.pk}/" in content
    assert str(mine.gallery) in content
    assert "Expired" in content
    assert ">12<" in content and ">3<" in content and ">4<" in content and ">7<" in content
    assert str(theirs.pk) not in content


def test_share_link_list_query_count_does_not_grow_with_links(client):
    owner = UserFactory()
    ShareLinkFactory(gallery=GalleryFactory(owner=owner))
    client.force_login(owner)
    url = reverse("sharing:share_link_list")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(10):
        ShareLinkFactory(gallery=GalleryFactory(owner=owner))
    with CaptureQueriesContext(connection) as eleven:
        response = client.get(url)
    assert len(response.context["share_links"]) == 11
    assert len(eleven) == len(one)


def test_gallery_sharing_view_lists_its_share_links_with_full_url_and_create_form(client):
    link = ShareLinkFactory(expires_at=timezone.now() + timedelta(days=3))
    client.force_login(link.gallery.owner)
    response = client.get(reverse("galleries:gallery_sharing", args=[link.gallery.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert f"http://testserver/s/{link.pk}/" in content
    assert reverse("sharing:share_link_create", args=[link.gallery.pk]) in content
    assert reverse("sharing:share_link_delete", args=[link.pk]) in content
    assert "js/share.js" in content


def test_create_and_update_share_link_accept_a_json_body(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    response = client.post(
        create_url(gallery),
        {"expires_in_days": 7},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201
    link = ShareLink.objects.get()
    assert link.expires_at == datetime.combine(timezone.now().date() + timedelta(days=7), time(23, 59), tzinfo=UTC)
    response = client.post(
        reverse("sharing:share_link_update", args=[link.pk]),
        {"expires_at": None},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["expires_at"] is None
