"""Resumable uploads in a real browser, on S3 (parts go from the page to the bucket itself) and on
local storage: a part whose connection fails is sent again, and after a reload the same file
dropped again resumes where it stopped, then appears in the gallery."""

import json
import os
import re
from datetime import datetime

import pytest
from PIL import Image
from playwright.sync_api import expect

from galleries.tests.factories import GalleryFactory
from testing.photos import image_bytes
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


@pytest.mark.parametrize("photo_storage", ["local"], indirect=True)  # part PUTs to our own endpoint
def test_a_file_the_server_asks_to_wait_for_waits_as_told_while_the_others_go_on(
    new_context, live_server, watcher, photo_storage, tmp_path
):
    watcher.allow(r"status of 429")  # Chromium logs every error status as a console error
    gallery = GalleryFactory(name="Rate-limited venue")
    page = photographer_page(new_context, gallery.owner, live_server)
    page.clock.install(time=datetime(2026, 6, 1, 12, 0))
    page.goto(gallery.get_absolute_url())
    page.clock.pause_at(datetime(2026, 6, 1, 12, 1))  # from here on, waits end only when the test says
    files = {name: tmp_path / f"{name}.jpg" for name in ("IMG_A", "IMG_B", "IMG_C")}
    for n, path in enumerate(files.values()):
        path.write_bytes(image_bytes(120, 80, color=(60 * n, 90, 30)))
    c_bytes = files["IMG_C"].read_bytes()
    refused = {"IMG_A start": 0, "IMG_C part": 0}
    too_many = "Too many requests from your network. Try again in a moment."

    # IMG_A's first start and every part of IMG_C meet a rate limit (as a proxy in front may answer).
    def rate_limited(route):
        request = route.request
        body = request.post_data_buffer or b""
        if request.method == "POST" and b'"IMG_A.jpg"' in body and not refused["IMG_A start"]:
            key = "IMG_A start"
        elif request.method == "PUT" and body == c_bytes:
            key = "IMG_C part"
        else:
            return route.continue_()
        refused[key] += 1
        route.fulfill(
            status=429,
            headers={"Retry-After": "5", "Content-Type": "application/json"},
            body=json.dumps({"error": too_many}),
        )

    page.route(re.compile(r"/uploads/(parts/.*)?$"), rate_limited)
    page.locator("input[type=file][name=photos]").set_input_files(list(files.values()))
    first, second, third = (page.locator(".upload-item").nth(n) for n in range(3))
    waiting = "Waiting 5 s… Too many requests from your network."
    expect(first.locator(".upload-item__status")).to_have_text(waiting)
    expect(third.locator(".upload-item__status")).to_have_text(waiting)
    expect(second).to_have_attribute("data-state", "done")  # went on meanwhile
    expect(first.locator(".upload-item__status")).to_have_text(waiting)
    page.clock.run_for(2_000)
    expect(first.locator(".upload-item__status")).to_have_text("Waiting 3 s… Too many requests from your network.")

    page.clock.run_for(3_000)  # IMG_A is sent again, and arrives
    expect(first).to_have_attribute("data-state", "done")
    assert refused["IMG_A start"] == 1 and gallery.photos.count() == 2

    # IMG_C's part is refused each time: after ten waits it fails with the server's words...
    for _ in range(9):
        expect(third.locator(".upload-item__status")).to_have_text(waiting)
        page.clock.run_for(5_000)
    expect(third).to_have_attribute("data-state", "failed")
    expect(third.locator(".upload-item__status")).to_have_text(too_many)
    assert refused["IMG_C part"] == 11

    # ... and its Retry button sends it once the limit has passed.
    page.unroute(re.compile(r"/uploads/(parts/.*)?$"))
    third.get_by_role("button", name="Retry").click()
    expect(third).to_have_attribute("data-state", "done")
    assert gallery.photos.count() == 3
