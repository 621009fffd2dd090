"""The two journeys the product exists for, in a real browser: a photographer signs up, uploads
and shares a gallery; their client opens the link, looks through it and downloads it."""

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import SIZES, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_photographer_shares_a_gallery_and_client_downloads_it(new_context, sample_photos):
    photos = sample_photos[:6]
    originals = {path.name: path.read_bytes() for path in photos}
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    share_url = photographer_journey(context.new_page(), photos)

    client = new_context(**SIZES["phone"])
    client_journey(client.new_page(), share_url, originals)


def photographer_journey(page, photos):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("lena@example.com")
    page.get_by_label("Your name or studio name").fill("Lena Hart Photography")
    page.get_by_label("Password", exact=True).fill("a-long-test-passphrase-42")
    page.get_by_label("Password confirmation").fill("a-long-test-passphrase-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your galleries")).to_be_visible()

    page.get_by_label("Gallery name").fill("Iceland, June")
    page.get_by_role("button", name="Create gallery").click()
    expect(page.get_by_role("heading", name="Iceland, June", level=1)).to_be_visible()

    # Every file gets its own progress bar; all of them must end full and "done".
    page.locator("input[type=file][name=photos]").set_input_files(photos)
    page.wait_for_function(
        """(count) => {
          const items = document.querySelectorAll(".upload-item");
          return items.length === count && [...items].every(
            (item) => item.dataset.state === "done" && item.querySelector("progress").value === 100);
        }""",
        arg=len(photos),
        timeout=60_000,  # six camera photos decoded on two cores that the other test process shares
    )
    tiles = page.locator(".photo-tile")
    expect(tiles).to_have_count(len(photos))  # the page reloads by itself once all are done
    expect(page.get_by_text(f"{len(photos)} photos ·")).to_be_visible()
    assert all(width > 0 for width in wait_for_images(page, ".photo-tile img"))

    cover_name = photos[2].name
    cover_tile = tiles.filter(has_text=cover_name)
    cover_tile.locator(".tile-menu__button").click()
    cover_tile.get_by_role("button", name="Set as cover").click()
    expect(page.locator(".toast")).to_have_text("Cover photo set.")  # in place, no reload
    expect(tiles.filter(has_text=cover_name).get_by_text("Cover", exact=True)).to_be_visible()

    page.get_by_role("link", name="Share", exact=True).click()
    expires_at = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    create_form = page.locator("form.share-link-new")
    create_form.get_by_label("Expires on").fill(expires_at.strftime("%Y-%m-%dT%H:%M"))
    create_form.get_by_role("button", name="Create share link").click()
    expect(page.get_by_text("Share link created.")).to_be_visible()
    link = page.locator(".share-link")
    expect(link).to_have_count(1)
    expect(link.locator("time", has_text=expires_at.strftime("%Y, %H:%M"))).to_be_visible()

    # The new link's own page: its address, a Copy button and the send form.
    url = page.get_by_label("Link to this gallery").input_value()
    assert re.fullmatch(r"http://localhost:\d+/s/[0-9a-f-]{36}/", url), url
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    return url


def client_journey(page, url, originals):
    count = len(originals)
    page.goto(url)
    expect(page.get_by_role("heading", name="Iceland, June")).to_be_visible()
    expect(page.get_by_text("by Lena Hart Photography")).to_be_visible()
    grid_images = page.locator("[data-gallery] img:not(.photo-placeholder)")  # (each has a placeholder under it)
    expect(grid_images).to_have_count(count)
    widths = wait_for_images(page, "img:not(dialog img, .photo-placeholder)")  # the cover and every thumbnail
    assert len(widths) == count + 1 and all(width > 0 for width in widths), widths

    # The viewer: open the first photo, step with the arrow keys, download it, close with Esc.
    page.locator("[data-gallery] a[data-photo]").first.click()
    viewer = page.locator("dialog[data-viewer]")
    expect(viewer).to_be_visible()
    counter = viewer.locator("[data-viewer-count]")
    expect(counter).to_have_text(f"1 / {count}")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"2 / {count}")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"3 / {count}")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"2 / {count}")
    assert wait_for_images(page, "[data-viewer-image]") != [0]
    # File names are the photographer's to show (hidden by default): the photo is "Photo 2 of N",
    # and the download keeps its name.
    expect(viewer.locator("[data-viewer-name]")).to_have_text("")
    expect(viewer.locator("[data-viewer-image]")).to_have_attribute("alt", f"Photo 2 of {count}")
    with page.expect_download() as download:
        viewer.get_by_role("link", name="Download").click()
    name = download.value.suggested_filename
    assert read(download.value) == originals[name]
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download all").click()
    assert download.value.suggested_filename == "Iceland, June.zip"
    with zipfile.ZipFile(io.BytesIO(read(download.value))) as archive:
        assert {entry: archive.read(entry) for entry in archive.namelist()} == originals


def read(download):
    with open(download.path(), "rb") as file:
        return file.read()
