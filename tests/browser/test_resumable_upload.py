"""Resumable uploads in a real browser, on S3 (parts go from the page to the bucket itself) and on
local storage: a part whose connection fails is sent again, and after a reload the same file
dropped again resumes where it stopped, then appears in the gallery."""

import os

import pytest
from PIL import Image
from playwright.sync_api import expect

from galleries.tests.factories import GalleryFactory
from tests.browser.helpers import photographer_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def big_photo(tmp_path):
    """A real photo of ~11 MB (noise does not compress): three parts of 5 MiB."""
    path = tmp_path / "DSC_4410.png"
    Image.frombytes("RGB", (2000, 1900), os.urandom(2000 * 1900 * 3)).save(path, "PNG", compress_level=0)
    return path


def test_a_reload_mid_upload_resumes_the_file_where_it_stopped(
    new_context, live_server, watcher, photo_storage, settings, big_photo
):
    settings.VIEWPORT_UPLOAD_PART_SIZE = 5 * 1024 * 1024
    watcher.allow(r"net::ERR_FAILED|Failed to load resource")  # the part whose connection is cut
    gallery = GalleryFactory(name="Venue Wi-Fi")
    page = photographer_page(new_context, gallery.owner, live_server)
    page.goto(gallery.get_absolute_url())
    puts = []
    page.on("request", lambda request: request.method == "PUT" and puts.append(request.url))

    # Part 1 goes through; then the connection fails for every part, as a venue's Wi-Fi does.
    def cut_after_first_part(route):
        if route.request.method == "PUT" and len(puts) > 1:
            route.abort("connectionfailed")
        else:
            route.continue_()

    page.route("**/*", cut_after_first_part)
    page.locator("input[type=file][name=photos]").set_input_files(big_photo)
    item = page.locator(".upload-item")
    expect(item.locator(".upload-item__status")).to_contain_text("trying again in", timeout=20_000)
    assert len(puts) >= 2

    # The photographer reloads the page and drops the same file again: only parts 2 and 3 go.
    page.unroute("**/*")
    page.reload()
    sent_before_reload = len(puts)
    page.locator("input[type=file][name=photos]").set_input_files(big_photo)
    expect(page.locator("[data-photo-tile]", has_text="DSC_4410.png")).to_be_visible(timeout=30_000)  # reloaded
    page.wait_for_load_state()
    assert len(puts) - sent_before_reload == 2
    photo = gallery.photos.get()
    assert photo.file_size == big_photo.stat().st_size and photo.original_filename == "DSC_4410.png"

    # Dropped once more, it is skipped as already in the gallery.
    page.locator("input[type=file][name=photos]").set_input_files(big_photo)
    expect(page.locator(".upload-item__status")).to_have_text("Already in this gallery: skipped")
    expect(page.locator("[data-upload-summary]")).to_contain_text("1 already in the gallery (skipped)")
    assert gallery.photos.count() == 1
