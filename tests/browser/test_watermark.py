"""The watermark as people see it: the photographer's page, whose preview follows the form before
it is saved, and a watermarked link's gallery and viewer on camera-sized photos (screenshots for
docs/SCREENSHOTS.md: test-artifacts/screenshots/watermark/)."""

import base64
import io

import pytest
from django.urls import reverse
from PIL import Image, ImageChops

from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory
from testing.photos import upload_of
from tests.browser.helpers import (
    SIZES,
    open_viewer,
    photographer_page,
    serious_accessibility_violations,
    wait_for_images,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watermarked_link(db, camera_photos, sample_photos):
    """A gallery of camera-sized photos (landscape, portrait, square, panorama) and real ones,
    light and dark, behind a watermarked link, of a photographer with a text watermark."""
    gallery = GalleryFactory(name="Hannah & James", owner__display_name="Lena Hart Photography")
    owner = gallery.owner
    owner.watermark_text, owner.watermark_opacity, owner.watermark_scale = "© Lena Hart Photography", 55, 45
    owner.save()
    for path in [*camera_photos, *sample_photos[:4]]:
        store_photo(gallery, upload_of(path))
    return ShareLinkFactory(gallery=gallery, watermark=True, download_size="web")


def test_the_preview_follows_the_form_before_it_is_saved(new_context, live_server, watermarked_link, screenshot_dir):
    owner = watermarked_link.gallery.owner
    # Saving has the worker make the link's renditions anew: the test's task backend would make
    # them all within the request (sharing/signals.py); this test is about the page.
    ShareLink.objects.update(watermark=False)
    page = photographer_page(new_context, owner, live_server)
    page.goto(reverse("accounts:watermark"))
    preview = page.locator("[data-watermark-preview]")
    assert wait_for_images(page, "[data-watermark-preview]") == [800]  # the latest photo, a portrait, 1200 px tall
    saved = preview.evaluate("img => img.src")  # as the script sets it: absolute
    before = shown_preview(page)

    page.get_by_label("Bottom right").check()
    page.wait_for_function("(saved) => document.querySelector('[data-watermark-preview]').src !== saved", arg=saved)
    page.wait_for_function("() => document.querySelector('[data-watermark-preview]').complete")
    after = shown_preview(page)
    assert after.size == before.size
    width, height = after.size
    # The mark moved from the centre to the bottom right: the corner changed, as the centre did
    # (the photo may be dark or light: the mark is light text with a dark edge).
    for box in [
        (width * 2 // 3, height * 3 // 4, width, height),
        (width // 3, height * 2 // 5, width * 2 // 3, height * 3 // 5),
    ]:
        change = ImageChops.difference(before.crop(box), after.crop(box)).convert("L")
        assert change.getextrema()[1] > 60, box
    assert "Preview of your changes" in page.locator("[data-watermark-status]").inner_text()
    owner.refresh_from_db()
    assert owner.watermark_position == "center"  # nothing saved yet
    page.locator("form[data-watermark-form] button[type=submit]").click()
    page.wait_for_load_state("load")
    owner.refresh_from_db()
    assert owner.watermark_position == "bottom-right"
    assert serious_accessibility_violations(page) == []
    folder = screenshot_dir / "watermark"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=folder / "watermark-page-desktop.jpg", type="jpeg", quality=75, full_page=True)


def shown_preview(page):
    """The watermark page's preview as the browser shows it, as an RGB image (drawn on a canvas:
    the Content-Security-Policy lets no script fetch the blob: URL the page made)."""
    data_url = page.evaluate(
        """() => {
          const img = document.querySelector("[data-watermark-preview]");
          const canvas = document.createElement("canvas");
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          canvas.getContext("2d").drawImage(img, 0, 0);
          return canvas.toDataURL("image/png");
        }"""
    )
    with Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))) as picture:
        return picture.convert("RGB")


@pytest.mark.parametrize("size", SIZES)
def test_a_watermarked_gallery_shows_the_mark_in_every_photo(new_context, watermarked_link, screenshot_dir, size):
    page = new_context(**SIZES[size]).new_page()
    folder = screenshot_dir / "watermark"
    folder.mkdir(exist_ok=True)
    served = []
    page.on("response", lambda response: served.append(response.url) if "/photos/" in response.url else None)

    page.goto(watermarked_link.get_absolute_url())
    page.wait_for_load_state("load")
    page.locator("#photos").scroll_into_view_if_needed()
    assert 0 not in wait_for_images(page, "[data-gallery] img")
    page.wait_for_timeout(300)
    page.screenshot(path=folder / f"watermark-grid-{size}.jpg", type="jpeg", quality=75)
    viewer = open_viewer(page, 1)
    assert viewer.is_visible()
    page.screenshot(path=folder / f"watermark-viewer-{size}.jpg", type="jpeg", quality=75)

    assert served and all(f"/s/{watermarked_link.pk}/" in url for url in served)  # nothing clean from elsewhere
