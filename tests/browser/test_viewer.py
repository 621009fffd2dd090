"""The client's full-screen viewer: bookmarkable photos, neighbours, download link, focus kept inside."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_viewer_puts_each_photo_in_the_address_and_opens_a_bookmarked_one(page, shared_gallery):
    link = shared_gallery
    photos = list(link.gallery.photos.in_display_order())
    dialog = page.locator("dialog[data-viewer]")
    image = page.locator("[data-viewer-image]")
    page.goto(link.get_absolute_url())

    page.locator("a[data-photo]").first.click()
    expect(dialog).to_be_visible()
    assert page.url.endswith(f"#photo-{photos[0].pk}")
    expect(page.locator("[data-viewer-prev]")).to_be_hidden()
    expect(page.locator("[data-viewer-close]")).to_be_focused()

    page.keyboard.press("ArrowRight")
    assert page.url.endswith(f"#photo-{photos[1].pk}")
    expect(image).to_have_attribute("src", reverse("sharing:public_preview", args=[link.pk, photos[1].pk]))
    expect(page.locator("[data-viewer-download]")).to_have_attribute(
        "href", reverse("sharing:photo_download", args=[link.pk, photos[1].pk])
    )
    expect(image).not_to_have_class(re.compile("is-loading"))  # the preview loaded

    for _ in range(4):  # focus stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert "#photo-" not in page.url

    page.goto(f"{link.get_absolute_url()}#photo-{photos[-1].pk}")
    expect(dialog).to_be_visible()
    expect(page.locator("[data-viewer-next]")).to_be_hidden()


def test_photos_of_later_pages_arrive_on_scroll_and_in_the_viewer(page, shared_gallery, monkeypatch):
    monkeypatch.setattr("galleries.models.PhotoQuerySet.PER_PAGE", 3)
    link = shared_gallery
    photos = list(link.gallery.photos.in_display_order())
    html = page.request.get(link.get_absolute_url()).text()
    assert html.count("data-photo=") == 3 and "data-more-photos" in html

    page.goto(link.get_absolute_url())
    tiles = page.locator("a[data-photo]")
    page.locator("a[data-photo]").first.click()
    for _ in range(len(photos) - 1):  # steps across the page boundaries, loading as it goes
        page.keyboard.press("ArrowRight")
    expect(page.locator("[data-viewer-count]")).to_have_text(f"{len(photos)} / {len(photos)}")
    assert page.url.endswith(f"#photo-{photos[-1].pk}")
    page.keyboard.press("Escape")
    expect(tiles).to_have_count(len(photos))

    fresh = page.context.new_page()
    fresh.goto(f"{link.get_absolute_url()}#photo-{photos[-1].pk}")  # bookmarked, on the last page
    expect(fresh.locator("[data-viewer-count]")).to_have_text(f"{len(photos)} / {len(photos)}")
    fresh.keyboard.press("Escape")
    fresh.mouse.wheel(0, 20000)
    expect(fresh.locator("a[data-photo]")).to_have_count(len(photos))
    expect(fresh.locator("[data-more-photos]")).to_have_count(0)
