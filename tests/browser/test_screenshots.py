"""Screenshots of the main pages at phone and desktop sizes, for people to look at
(test-artifacts/screenshots/, listed in docs/SCREENSHOTS.md), and the public gallery's layout
stability while it loads."""

import pytest

from accounts.tests.factories import UserFactory
from tests.browser.helpers import SIZES, layout_shift, log_in, open_viewer, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_public_gallery_loads_without_layout_shift(new_context, shared_gallery, screenshot_dir, size):
    page = new_context(**SIZES[size]).new_page()

    page.goto(shared_gallery.get_absolute_url())
    page.wait_for_load_state("load")
    assert all(width > 0 for width in wait_for_images(page, "img:not(dialog img)"))
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)  # layout-shift entries are reported after the frame that caused them

    shift = layout_shift(page)
    assert shift["score"] < 0.1, shift["shifts"]
    page.screenshot(path=screenshot_dir / f"public-gallery-{size}.png", full_page=True)

    open_viewer(page, 1)
    assert wait_for_images(page, "[data-viewer-image]") != [0]
    page.wait_for_timeout(250)  # the photo fades in once loaded
    page.screenshot(path=screenshot_dir / f"viewer-{size}.png")


@pytest.mark.parametrize("size", SIZES)
def test_photographer_pages(new_context, live_server, shared_gallery, screenshot_dir, size):
    visitor = new_context(**SIZES[size]).new_page()
    visitor.goto("/accounts/login/")
    visitor.screenshot(path=screenshot_dir / f"login-{size}.png", full_page=True)

    context = new_context(**SIZES[size])
    log_in(context, shared_gallery.gallery.owner, live_server)
    page = context.new_page()
    page.goto("/galleries/")
    wait_for_images(page)
    page.screenshot(path=screenshot_dir / f"dashboard-{size}.png", full_page=True)
    page.goto(shared_gallery.gallery.get_absolute_url())
    wait_for_images(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshot_dir / f"gallery-{size}.png", full_page=True)
    for view in ("sharing", "settings"):
        page.goto(f"/galleries/{shared_gallery.gallery.pk}/{view}/")
        page.screenshot(path=screenshot_dir / f"gallery-{view}-{size}.png", full_page=True)
    page.goto("/accounts/profile/defaults/")
    page.screenshot(path=screenshot_dir / f"link-defaults-{size}.png", full_page=True)
    # A photographer with nothing yet: the three steps.
    newcomer = new_context(**SIZES[size])
    log_in(newcomer, UserFactory(display_name="Ana"), live_server)
    first_run = newcomer.new_page()
    first_run.goto("/galleries/")
    first_run.screenshot(path=screenshot_dir / f"dashboard-empty-{size}.png", full_page=True)
