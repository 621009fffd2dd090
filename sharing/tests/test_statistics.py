"""Share-link statistics: a row per link and day beside the link's counters (always their sums),
unique visitors counted from keyed hashes that hold no address, the owner's own visits not
counted, the link's page (chart, table, totals, identified visitors), the CSV, sparklines."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from favourites.models import FavouriteDay
from favourites.tests.factories import FavouritesLinkFactory
from galleries.tests.factories import PhotoFactory
from sharing import stats
from sharing.models import LinkActivity, LinkDay, VisitorHash
from sharing.tasks import prune_visitor_hashes
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db

BROWSERS = ["Mozilla/5.0 (Macintosh) Safari/605.1", "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0"]


def visit(client, link, address="203.0.113.5", browser=BROWSERS[0]):
    return client.get(link.get_absolute_url(), REMOTE_ADDR=address, HTTP_USER_AGENT=browser)


def assert_counters_are_the_sums_of_the_days(link):
    link.refresh_from_db()
    days = LinkDay.objects.filter(link=link)
    for counter in ("views", "zip_downloads", "single_downloads"):
        assert getattr(link, counter) == sum(getattr(day, counter) for day in days), counter


def test_views_and_downloads_land_in_todays_row_and_the_counters(client, shared_gallery):
    link = shared_gallery
    photo = link.gallery.photos.first()
    visit(client, link)
    visit(client, link)
    client.get(reverse("sharing:photo_download", args=[link.pk, photo.pk]))
    response = client.get(reverse("sharing:zip_download", args=[link.pk]))
    b"".join(response.streaming_content)

    [day] = stats.with_other_counters(list(LinkDay.objects.filter(link=link)))
    assert day.day == timezone.localdate()
    assert (day.views, day.unique_visitors, day.zip_downloads, day.single_downloads, day.favourites) == (2, 1, 1, 1, 0)
    assert_counters_are_the_sums_of_the_days(link)


def test_favourites_are_counted_by_the_day_only(client):
    link = ShareLinkFactory()
    link.increment("favourites", visitor=stats.Visitor(id="list-7", label="Anna"))
    assert stats.days_of(link)[-1].favourites == 1
    assert LinkActivity.objects.get().event == "favourites"
    with pytest.raises(ValueError):
        link.increment("hearts")


def test_partial_pages_thumbnails_and_previews_count_nothing(client, shared_gallery):
    link = shared_gallery
    photo = link.gallery.photos.first()
    client.get(link.get_absolute_url() + "?page=2&partial=1")
    client.get(reverse("sharing:public_thumbnail", args=[link.pk, photo.pk]))
    client.get(reverse("sharing:public_preview", args=[link.pk, photo.pk]))
    client.get(reverse("sharing:public_photo", args=[link.pk, photo.pk]))
    assert not LinkDay.objects.exists()


def test_unique_visitors_are_counted_once_per_day_by_address_and_browser(client):
    link = ShareLinkFactory()
    for address in ("203.0.113.5", "203.0.113.6"):
        for browser in BROWSERS:
            visit(client, link, address, browser)
            visit(client, link, address, browser)
    day = LinkDay.objects.get(link=link)
    assert (day.views, day.unique_visitors) == (8, 4)


def test_the_visitor_table_holds_no_address_or_browser_and_keys_change_daily(client):
    link = ShareLinkFactory()
    visit(client, link, "198.51.100.77", BROWSERS[1])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {VisitorHash._meta.db_table}")
        rows = cursor.fetchall()
    stored = repr(rows)
    assert len(rows) == 1
    for secret in ("198.51.100.77", "198.51.100", "Firefox", "Windows"):
        assert secret not in stored
    digest = VisitorHash.objects.get().digest
    assert len(digest) == 64 and int(digest, 16)  # an HMAC-SHA256, nothing else

    # The same visitor tomorrow is another digest: days cannot be linked.
    request = visit(client, link, "198.51.100.77", BROWSERS[1]).wsgi_request
    today = timezone.localdate()
    assert stats.visitor_digest(request, link, today) == digest
    assert stats.visitor_digest(request, link, today + timedelta(days=1)) != digest
    assert stats.visitor_digest(request, ShareLinkFactory(), today) != digest  # nor links


def test_the_owners_own_visits_count_nowhere(client, shared_gallery):
    link = shared_gallery
    photo = link.gallery.photos.first()
    client.force_login(link.gallery.owner)
    visit(client, link)
    client.get(reverse("sharing:photo_download", args=[link.pk, photo.pk]))
    link.refresh_from_db()
    assert (link.views, link.single_downloads) == (0, 0)
    assert not LinkDay.objects.exists() and not VisitorHash.objects.exists()

    client.force_login(PhotoFactory().gallery.owner)  # another photographer is a visitor
    visit(client, link)
    link.refresh_from_db()
    assert link.views == 1
    assert_counters_are_the_sums_of_the_days(link)


def test_days_are_separate_rows(client):
    link = ShareLinkFactory()
    LinkDay.objects.add(link, timezone.localdate() - timedelta(days=1), "views", unique_visitors=1)
    visit(client, link)
    assert list(LinkDay.objects.filter(link=link).values_list("views", "unique_visitors")) == [(1, 1), (1, 1)]


def test_identified_visitors_are_logged_with_what_they_downloaded(client, shared_gallery):
    link = shared_gallery
    photo = link.gallery.photos.first()
    visitor = stats.Visitor(id="fav-list-1", label="Anna Smith")
    link.increment("views", visitor=visitor)
    link.increment("single_downloads", visitor=visitor, photo=photo)
    link.increment("views")  # nobody in particular: counted, not logged
    assert LinkActivity.objects.count() == 2

    client.force_login(link.gallery.owner)
    page = client.get(reverse("sharing:share_link_detail", args=[link.pk])).content.decode()
    assert "Anna Smith" in page and "Viewed the gallery" in page and f"Downloaded {photo}" in page
    assert_counters_are_the_sums_of_the_days(link)


def test_the_link_page_shows_a_chart_a_table_and_totals_of_the_last_30_days(client):
    link = ShareLinkFactory(label="Parents")
    today = timezone.localdate()
    LinkDay.objects.create(link=link, day=today, views=7, unique_visitors=3, zip_downloads=2)
    LinkDay.objects.create(link=link, day=today - timedelta(days=29), views=4, single_downloads=5)
    LinkDay.objects.create(link=link, day=today - timedelta(days=30), views=100)  # too old for the chart
    client.force_login(link.gallery.owner)

    response = client.get(reverse("sharing:share_link_detail", args=[link.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="chart__views"') == 30 and "<svg" in page
    assert "<table" in page and page.count('<tr><th scope="row">') == 30
    assert response.context["totals"] == {
        "views": 11,
        "unique_visitors": 3,
        "zip_downloads": 2,
        "single_downloads": 5,
        "favourites": 0,
    }
    assert "Nobody has told us who they are yet" in page


def test_csv_has_every_day_of_the_links_life_with_zeros(client):
    link = ShareLinkFactory()
    today = timezone.localdate()
    link.created_at = timezone.now() - timedelta(days=3)
    link.save()
    LinkDay.objects.create(link=link, day=today - timedelta(days=2), views=4, unique_visitors=2, single_downloads=1)
    LinkDay.objects.create(link=link, day=today, views=1, unique_visitors=1, zip_downloads=1)
    FavouriteDay.objects.create(link=link, day=today, favourites=3)
    client.force_login(link.gallery.owner)

    response = client.get(reverse("sharing:share_link_stats_csv", args=[link.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["date", "views", "unique_visitors", "zip_downloads", "single_downloads", "favourites"],
        [(today - timedelta(days=3)).isoformat(), "0", "0", "0", "0", "0"],
        [(today - timedelta(days=2)).isoformat(), "4", "2", "0", "1", "0"],
        [(today - timedelta(days=1)).isoformat(), "0", "0", "0", "0", "0"],
        [today.isoformat(), "1", "1", "1", "0", "3"],
    ]


def test_link_page_shows_favourites_added_per_day_and_who_added_them(client):
    link = FavouritesLinkFactory(favourites=True)
    photo = PhotoFactory(gallery=link.gallery, original_filename="IMG_0042.jpg")
    link.increment("favourites", visitor=stats.Visitor(id="list-7", label="Anna"), photo=photo)
    client.force_login(link.gallery.owner)
    page = client.get(reverse("sharing:share_link_detail", args=[link.pk])).content.decode()
    assert "<dt>Favourites added</dt><dd>1</dd>" in page
    assert "Added IMG_0042.jpg to their favourites" in page


def test_an_expired_links_csv_ends_on_the_day_it_expired(client):
    link = ShareLinkFactory(expires_at=timezone.now() - timedelta(days=2))
    link.created_at = timezone.now() - timedelta(days=5)
    link.save()
    client.force_login(link.gallery.owner)
    rows = client.get(reverse("sharing:share_link_stats_csv", args=[link.pk])).content.decode().splitlines()
    assert len(rows) == 1 + 4 and rows[-1].startswith(timezone.localdate(link.expires_at).isoformat())


def test_gallery_page_and_link_list_draw_a_sparkline_per_link_from_one_query(client, django_assert_num_queries):
    link = ShareLinkFactory(label="Parents")
    other = ShareLinkFactory(gallery=link.gallery, label="Planner")
    LinkDay.objects.create(link=link, day=timezone.localdate(), views=9)
    client.force_login(link.gallery.owner)

    for url in (reverse("galleries:gallery_sharing", args=[link.gallery.pk]), reverse("sharing:share_link_list")):
        page = client.get(url).content.decode()
        assert page.count('class="sparkline"') == 2, url
        assert 'aria-label="9 views in the last 30 days"' in page
        assert 'aria-label="0 views in the last 30 days"' in page
    with django_assert_num_queries(1):
        series = stats.sparklines([link, other])
    assert series[link.pk][-1] == 9 and sum(series[other.pk]) == 0 and len(series[link.pk]) == 30


def test_old_visitor_hashes_are_pruned_and_the_counts_stay(client, settings):
    settings.VIEWPORT_VISITOR_HASH_DAYS = 2
    link = ShareLinkFactory()
    today = timezone.localdate()
    for days_ago in (0, 1, 2, 5):
        VisitorHash.objects.add(link, today - timedelta(days=days_ago), f"{days_ago:064d}")
        LinkDay.objects.add(link, today - timedelta(days=days_ago), "views", unique_visitors=1)
    assert prune_visitor_hashes.enqueue().return_value == 2
    assert sorted(VisitorHash.objects.values_list("day", flat=True)) == [today - timedelta(days=1), today]
    assert LinkDay.objects.filter(link=link).count() == 4
