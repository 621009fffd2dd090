"""Small steps the browser tests share."""

from axe_playwright_python.sync_playwright import Axe
from django.test import Client

# Browser context options for each screen size the tests look at.
SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}


def log_in(context, user, live_server):
    """Give a browser context a session for `user` without going through the login form."""
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def photographer_page(new_context, user, live_server, size="desktop"):
    """A page of a fresh browser context of `size` (SIZES), logged in as `user`."""
    context = new_context(**SIZES[size])
    log_in(context, user, live_server)
    return context.new_page()


def wait_for_images(page, selector="img"):
    """Scroll each image matched by `selector` into view and wait until it has loaded or failed.

    Returns the images' naturalWidth, 0 for one that did not load.
    """
    widths = []
    images = page.locator(selector)
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        widths.append(
            image.evaluate(
                """(img) => img.complete ? img.naturalWidth : new Promise((resolve) => {
                 img.addEventListener("load", () => resolve(img.naturalWidth), { once: true });
                 img.addEventListener("error", () => resolve(0), { once: true });
               })"""
            )
        )
    return widths


def open_viewer(page, index=0):
    """Click the index-th photo of the public gallery and wait until the viewer has faded in."""
    page.locator("[data-gallery] a[data-photo]").nth(index).click()
    page.wait_for_function(
        """() => {
          const dialog = document.querySelector("dialog[data-viewer]");
          const image = dialog.querySelector("[data-viewer-image]");
          return dialog.open && getComputedStyle(dialog).opacity === "1"
            && image.complete && getComputedStyle(image).opacity === "1";
        }"""
    )
    return page.locator("dialog[data-viewer]")


def layout_shift(page):
    """The page's cumulative layout shift so far (WATCH_SCRIPT in conftest.py adds it up)."""
    return page.evaluate("({ score: window.__layoutShift, shifts: window.__layoutShifts })")


def serious_accessibility_violations(page):
    """axe-core's serious and critical violations on the page, as readable lines."""
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}: "
        + "; ".join(f"{node['target']} {node['failureSummary']}" for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
