"""Defaults for new share links (POST /accounts/profile/defaults/, form or JSON), and expiry in
the photographer's time zone: "in N days" ends at 23:59 of that day where they are, across a
daylight-saving change, west and east of UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from favourites.models import FavouritesSettings
from galleries.tests.factories import GalleryFactory
from sharing.models import LinkDefaults, ShareLink

pytestmark = pytest.mark.django_db

DEFAULTS_URL = "/accounts/profile/defaults/"
JSON = {"headers": {"Accept": "application/json"}, "content_type": "application/json"}
FIELDS = {
    "default_expiry_days",
    "default_allow_zip",
    "default_allow_single",
    "default_download_size",
    "default_watermark",
    "default_favourites",
    "default_favourites_limit",
    "default_remind_days",
}


@pytest.fixture
def gallery(client):
    gallery = GalleryFactory(name="Smith wedding", owner__time_zone="Europe/Berlin")
    client.force_login(gallery.owner)
    return gallery


def create(client, gallery, data=None, as_json=False):
    url = reverse("sharing:share_link_create", args=[gallery.pk])
    if as_json:
        return client.post(url, data or {}, **JSON)
    return client.post(url, data or {})


def at(when, monkeypatch):
    """Make it `when` (UTC) for the code under test."""
    monkeypatch.setattr(timezone, "now", lambda: when)


def test_the_defaults_page_needs_a_login(client):
    response = client.get(DEFAULTS_URL)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_first_defaults_are_what_most_photographers_choose(client, gallery, monkeypatch):
    at(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), monkeypatch)
    response = client.get(DEFAULTS_URL)
    assert response.status_code == 200
    for name in FIELDS:
        assert f'name="{name}"' in response.text

    assert create(client, gallery).status_code == 302
    link = ShareLink.objects.get()
    assert link.expires_at == datetime(2026, 7, 1, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    assert (link.allow_zip, link.allow_single, link.download_size, link.remind_days) == (True, True, "original", 3)
    settings = FavouritesSettings.of(link)
    assert settings.favourites is True and settings.favourites_limit is None


def test_defaults_saved_as_json_name_exactly_the_eight_fields(client, gallery):
    response = client.post(
        DEFAULTS_URL,
        {
            "default_expiry_days": 0,
            "default_allow_zip": False,
            "default_allow_single": True,
            "default_download_size": "web",
            "default_watermark": True,
            "default_favourites": True,
            "default_favourites_limit": 25,
            "default_remind_days": 0,
        },
        **JSON,
    )
    assert response.status_code == 200
    assert set(response.json()) == FIELDS
    assert response.json()["default_favourites_limit"] == 25

    # A script's body names only what it changes.
    response = client.post(DEFAULTS_URL, {"default_remind_days": 5}, **JSON)
    assert response.json()["default_remind_days"] == 5 and response.json()["default_allow_zip"] is False

    assert create(client, gallery, {"label": "Parents"}, as_json=True).status_code == 201
    link = ShareLink.objects.get()
    assert link.label == "Parents"
    assert link.expires_at is None  # 0: never
    assert (link.allow_zip, link.allow_single, link.download_size, link.remind_days) == (False, True, "web", 5)
    assert link.watermark  # watermarked proofs from the start
    assert FavouritesSettings.of(link).favourites_limit == 25


def test_defaults_saved_from_the_form_and_a_form_post_that_leaves_fields_out_takes_them(client, gallery, monkeypatch):
    at(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), monkeypatch)
    form = {
        "default_expiry_days": "14",
        "default_allow_zip": "false",  # the page's hidden value for an unticked box
        "default_allow_single": "on",
        "default_download_size": "original",
        "default_favourites": "false",
        "default_favourites_limit": "",
        "default_remind_days": "2",
    }
    response = client.post(DEFAULTS_URL, form)
    assert response.status_code == 302 and response["Location"] == DEFAULTS_URL
    assert LinkDefaults.of(gallery.owner)["expiry_days"] == 14

    create(client, gallery, {"label": "Planner"})
    link = ShareLink.objects.get()
    assert link.expires_at == datetime(2026, 6, 15, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    assert (link.allow_zip, link.allow_single, link.remind_days) == (False, True, 2)
    assert FavouritesSettings.of(link).favourites is False

    # What the post does say wins over the defaults.
    create(client, gallery, {"label": "Couple", "allow_zip": "on", "expires_in_days": "7"})
    couple = ShareLink.objects.get(label="Couple")
    assert couple.allow_zip is True
    assert couple.expires_at == datetime(2026, 6, 8, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))


def test_the_new_link_form_shows_the_defaults(client, gallery):
    client.post(DEFAULTS_URL, {"default_expiry_days": 14, "default_allow_zip": False}, **JSON)
    page = client.get(reverse("galleries:gallery_sharing", args=[gallery.pk])).text
    assert '<option value="14" selected>In 14 days</option>' in page
    assert 'id="new-link-allow_zip" checked' not in page and 'id="new-link-allow_single" checked' in page


@pytest.mark.parametrize(
    "data, field",
    [
        ({"default_expiry_days": -1}, "default_expiry_days"),
        ({"default_download_size": "huge"}, "default_download_size"),
        ({"default_remind_days": 99}, "default_remind_days"),
        ({"default_favourites": "maybe"}, "default_favourites"),
        ({"default_favourites_limit": "lots"}, "default_favourites_limit"),
        # More than the database column holds: saved, it made every new link a 500 (attack 1).
        ({"default_favourites_limit": 1_000_000_000_000}, "default_favourites_limit"),
        ({"default_favourites_limit": 10_001}, "default_favourites_limit"),
    ],
)
def test_bad_defaults_are_refused_and_nothing_changes(client, gallery, data, field):
    response = client.post(DEFAULTS_URL, data, **JSON)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not LinkDefaults.objects.exists()


def test_defaults_are_each_photographers_own(client, gallery):
    client.post(DEFAULTS_URL, {"default_remind_days": 9}, **JSON)
    assert LinkDefaults.of(UserFactory())["remind_days"] == 3


# The photographer's time zone


@pytest.mark.parametrize(
    "zone, now, days, ends",
    [
        # East of UTC, across the end of summer time (25 October 2026): CEST +2 then CET +1.
        ("Europe/Berlin", datetime(2026, 10, 20, 12, 0, tzinfo=UTC), 30, datetime(2026, 11, 19, 22, 59, tzinfo=UTC)),
        # Already tomorrow in Berlin at 23:30 UTC: the days count from the photographer's today.
        ("Europe/Berlin", datetime(2026, 10, 20, 23, 30, tzinfo=UTC), 7, datetime(2026, 10, 28, 22, 59, tzinfo=UTC)),
        # West of UTC, across the end of daylight time (1 November 2026): EDT -4 then EST -5.
        ("America/New_York", datetime(2026, 10, 20, 12, 0, tzinfo=UTC), 30, datetime(2026, 11, 20, 4, 59, tzinfo=UTC)),
        # Still yesterday in New York at 02:00 UTC.
        ("America/New_York", datetime(2026, 10, 21, 2, 0, tzinfo=UTC), 7, datetime(2026, 10, 28, 3, 59, tzinfo=UTC)),
        # And into summer time (8 March 2026): EST -5 then EDT -4.
        ("America/New_York", datetime(2026, 3, 1, 15, 0, tzinfo=UTC), 30, datetime(2026, 4, 1, 3, 59, tzinfo=UTC)),
    ],
)
def test_expiry_in_days_ends_at_23_59_of_that_day_in_the_photographers_zone(client, monkeypatch, zone, now, days, ends):
    gallery = GalleryFactory(owner__time_zone=zone)
    client.force_login(gallery.owner)
    at(now, monkeypatch)
    response = create(client, gallery, {"expires_in_days": days}, as_json=True)
    assert response.status_code == 201
    assert ShareLink.objects.get().expires_at == ends
    assert timezone.localtime(ends, ZoneInfo(zone)).strftime("%H:%M") == "23:59"


def test_times_on_the_photographers_pages_are_in_their_zone_and_say_which(client):
    gallery = GalleryFactory(owner__time_zone="America/New_York")
    link = ShareLink.objects.create(gallery=gallery, expires_at=datetime(2026, 12, 24, 4, 59, tzinfo=UTC))
    client.force_login(gallery.owner)
    page = client.get(reverse("sharing:share_link_detail", args=[link.pk])).text
    assert "23 Dec 2026, 23:59 EST" in page
    gallery.owner.time_zone = "Asia/Tokyo"
    gallery.owner.save()
    page = client.get(reverse("sharing:share_link_detail", args=[link.pk])).text
    assert "24 Dec 2026, 13:59 JST" in page


def test_a_date_and_time_typed_by_the_photographer_is_in_their_zone(client):
    gallery = GalleryFactory(owner__time_zone="Australia/Sydney")
    client.force_login(gallery.owner)
    create(client, gallery, {"expires_at": "2099-01-10T18:00"})
    assert ShareLink.objects.get().expires_at == datetime(2099, 1, 10, 7, 0, tzinfo=UTC)


def test_a_script_may_ask_for_any_number_of_days(client, gallery, monkeypatch):
    at(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), monkeypatch)
    assert create(client, gallery, {"expires_in_days": 10}, as_json=True).status_code == 201
    assert ShareLink.objects.get().expires_at == datetime(2026, 6, 11, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    response = create(client, gallery, {"expires_in_days": 40000}, as_json=True)
    assert response.status_code == 400 and "expires_in_days" in response.json()["fields"]
