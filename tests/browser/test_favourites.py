"""Two clients on one link choose favourites, comment, meet the limit and send their choice;
the photographer reads both and exports them."""

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from favourites.models import FavouriteList, FavouritesSettings
from galleries.models import PhotoQuerySet
from tests.browser.helpers import log_in, open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def heart(page, index):
    return page.locator("[data-gallery] .tile").nth(index).locator("[data-heart] button")


def start_list(page, name):
    dialog = page.locator("[data-favourites-start]")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Your name").fill(name)
    dialog.get_by_role("button", name="Start choosing").click()
    expect(dialog).to_be_hidden()


def test_two_clients_choose_and_the_photographer_exports_their_choice(
    new_context, watcher, live_server, shared_gallery
):
    FavouritesSettings.objects.create(
        link=shared_gallery,
        favourites=True,
        favourites_limit=2,
        favourites_comments=True,
        favourites_title="Album selection",
    )
    watcher.allow(r"status of 409")  # the limit, answered to the script that asked
    count = "[data-favourites-count]"

    ana = new_context().new_page()
    ana.goto(shared_gallery.get_absolute_url())
    expect(ana.locator(".favourites-bar__count")).to_contain_text("Album selection: 0 of 2")
    heart(ana, 0).click()
    start_list(ana, "Ana")
    expect(heart(ana, 0)).to_have_attribute("aria-pressed", "true")
    heart(ana, 1).click()
    expect(ana.locator(count)).to_have_text("2")
    heart(ana, 2).click()
    expect(ana.get_by_role("alert")).to_contain_text("2 of 2")
    expect(heart(ana, 2)).to_have_attribute("aria-pressed", "false")

    open_viewer(ana, 0)
    viewer_heart = ana.locator("[data-viewer-heart]")
    expect(viewer_heart).to_have_attribute("aria-pressed", "true")
    ana.keyboard.press("f")  # F un-hearts the photo shown...
    expect(viewer_heart).to_have_attribute("aria-pressed", "false")
    expect(ana.locator(count)).to_have_text("1")
    ana.keyboard.press("f")  # ...and hearts it again
    expect(ana.locator(count)).to_have_text("2")
    ana.locator("[data-viewer-comment] textarea").fill("crop tighter")
    ana.locator("[data-viewer-comment]").get_by_role("button", name="Save comment").click()
    expect(ana.get_by_role("alert")).to_have_text("Comment saved.")
    ana.keyboard.press("Escape")

    tiles = ana.locator("[data-gallery] .tile")
    only_mine = ana.get_by_role("button", name="Show only my album selection")
    only_mine.click()  # in the page, no reload: the grid keeps Ana's two photos
    expect(only_mine).to_have_attribute("aria-pressed", "true")
    expect(tiles.filter(visible=True)).to_have_count(2)
    open_viewer(ana, 0)
    expect(ana.locator("[data-viewer] [data-viewer-count]")).to_have_text("1 / 2")
    ana.keyboard.press("Escape")
    only_mine.click()
    expect(tiles.filter(visible=True)).to_have_count(tiles.count())

    ana.get_by_role("link", name="Review and send").click()
    expect(ana.get_by_role("heading", name="Album selection of Ana")).to_be_visible()
    ana.locator("summary", has_text="Send to Lena Hart Photography").click()  # asks first
    expect(ana.get_by_text("Send 2 photos to Lena Hart Photography?")).to_be_visible()
    assert not FavouriteList.objects.get(name="Ana").is_submitted
    ana.get_by_role("button", name="Yes, send 2 photos").click()
    expect(ana.get_by_text("Sent! The photographer now has your favourites.")).to_be_visible()

    ben = new_context().new_page()
    ben.goto(shared_gallery.get_absolute_url())
    heart(ben, 3).click()
    start_list(ben, "Ben")
    expect(ben.locator(count)).to_have_text("1")
    expect(heart(ben, 0)).to_have_attribute("aria-pressed", "false")  # Ana's choice is Ana's

    photographer = new_context()
    log_in(photographer, shared_gallery.gallery.owner, live_server)
    page = photographer.new_page()
    page.goto(reverse("galleries:gallery_sharing", args=[shared_gallery.gallery.pk]))
    page.get_by_role("link", name="See their choices").click()
    expect(page.get_by_role("row", name="Ana")).to_contain_text("Sent")
    expect(page.get_by_role("row", name="Ben")).to_contain_text("Choosing")
    expect(page.get_by_text("crop tighter")).to_be_visible()

    lightroom = page.request.get(page.get_by_role("link", name="File names for Lightroom").get_attribute("href"))
    assert lightroom.ok and len(lightroom.text().split(",")) == 3
    rows = list(
        csv.DictReader(io.StringIO(page.request.get(page.get_by_role("link", name="CSV").get_attribute("href")).text()))
    )
    assert sorted(row["person"] for row in rows) == ["Ana", "Ana", "Ben"]
    assert "crop tighter" in {row["comment"] for row in rows}


def test_arrow_keys_keep_working_after_a_comment_in_the_viewer(new_context, shared_gallery):
    """The Save comment button has the focus; the next photo is not chosen, so its comment form
    hides, button and all: the focus must stay in the viewer, or the arrows stop working."""
    FavouritesSettings.objects.create(link=shared_gallery, favourites=True, favourites_comments=True)
    page = new_context().new_page()
    page.goto(shared_gallery.get_absolute_url())
    heart(page, 0).click()
    start_list(page, "Ana")
    expect(page.locator("[data-favourites-count]")).to_have_text("1")
    open_viewer(page, 0)
    page.locator("[data-viewer-comment] textarea").fill("black and white")
    page.locator("[data-viewer-comment]").get_by_role("button", name="Save comment").click()
    expect(page.get_by_role("alert")).to_have_text("Comment saved.")
    tiles = page.locator("[data-gallery] .tile")
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{page.url.split('#')[0]}#photo-{tiles.nth(1).get_attribute('id')[5:]}")
    expect(page.locator("[data-viewer-comment]")).to_be_hidden()  # the next photo is not chosen
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{page.url.split('#')[0]}#photo-{tiles.nth(2).get_attribute('id')[5:]}")


def test_the_filter_brings_in_favourites_from_pages_not_loaded_yet(new_context, shared_gallery, monkeypatch):
    monkeypatch.setattr(PhotoQuerySet, "PER_PAGE", 2)  # the live server runs in this process
    FavouritesSettings.objects.create(link=shared_gallery, favourites=True)
    last = shared_gallery.gallery.ordered_photos().last()
    page = new_context().new_page()
    page.goto(shared_gallery.get_absolute_url() + f"?page={(shared_gallery.gallery.photos.count() + 1) // 2}")
    page.locator(f"#tile-{last.pk} [data-heart] button").click()
    start_list(page, "Cy")
    expect(page.locator("[data-favourites-count]")).to_have_text("1")

    page.goto(shared_gallery.get_absolute_url())  # the first page: the chosen photo is not loaded
    expect(page.locator(f"#tile-{last.pk}")).to_have_count(0)
    page.get_by_role("button", name="Show only my favourites").click()
    expect(page.locator("[data-gallery] .tile").filter(visible=True)).to_have_count(1)
    expect(page.locator(f"#tile-{last.pk}")).to_be_visible()
