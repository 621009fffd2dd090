"""axe-core finds no serious or critical problem, and everything works from the keyboard alone."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_viewer, photographer_page, serious_accessibility_violations, wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_have_no_serious_accessibility_violations(new_context, live_server, shared_gallery):
    gallery = shared_gallery.gallery
    visitor = new_context().new_page()
    page = photographer_page(new_context, gallery.owner, live_server)
    violations = {}

    visitor.goto("/accounts/login/")
    violations["login"] = serious_accessibility_violations(visitor)
    page.goto("/galleries/")
    violations["dashboard"] = serious_accessibility_violations(page)
    page.goto(gallery.get_absolute_url())
    wait_for_images(page, ".photo-tile img")
    violations["gallery"] = serious_accessibility_violations(page)
    for view in ("sharing", "settings"):
        page.goto(f"/galleries/{gallery.pk}/{view}/")
        violations[f"gallery {view}"] = serious_accessibility_violations(page)
    page.goto(f"/share-links/{shared_gallery.pk}/")
    violations["share link"] = serious_accessibility_violations(page)
    page.goto("/accounts/profile/defaults/")
    violations["link defaults"] = serious_accessibility_violations(page)
    visitor.goto(shared_gallery.get_absolute_url())
    wait_for_images(visitor, "img:not(dialog img)")
    violations["public gallery"] = serious_accessibility_violations(visitor)
    open_viewer(visitor)
    violations["viewer"] = serious_accessibility_violations(visitor)

    assert {page: found for page, found in violations.items() if found} == {}


def tab_to(page, selector, limit=60):
    """Press Tab until the focused element matches `selector`; fail after `limit` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return page.locator(":focus")
    pytest.fail(f"Tab never reached {selector}")


def test_client_browses_the_gallery_with_the_keyboard_alone(page, shared_gallery):
    page.goto(shared_gallery.get_absolute_url())
    count = page.locator("a[data-photo]").count()
    viewer = page.locator("dialog[data-viewer]")
    counter = viewer.locator("[data-viewer-count]")

    photo_link = tab_to(page, "a[data-photo]")
    expect(photo_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(viewer).to_be_visible()
    expect(counter).to_have_text(f"1 / {count}")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"2 / {count}")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"1 / {count}")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # Focus goes back to the photo the viewer showed, so Tab carries on from there.
    expect(page.locator("a[data-photo]").first).to_be_focused()


def test_photographer_reaches_the_upload_with_the_keyboard(new_context, live_server, shared_gallery):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server)
    # Subscribe to file choosers well before the key press: the subscription is sent lazily.
    page.on("filechooser", lambda chooser: None)
    page.goto(shared_gallery.gallery.get_absolute_url())

    tab_to(page, "input[type=file][name=photos]")

    # The input itself is invisible over the drop zone: the zone must show where focus is.
    outline = page.locator("[data-upload-form]").evaluate("(form) => getComputedStyle(form).outlineStyle")
    assert outline != "none"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    assert chooser.value.is_multiple()
