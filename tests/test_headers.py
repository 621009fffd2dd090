"""Security headers on every page, pages that satisfy their own Content-Security-Policy, and the
production settings (DEBUG off, as in these tests): HSTS, secure cookies, `check --deploy`."""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from accounts.tests.factories import UserFactory
from testing.appserver import manage, production_env
from tests.test_access_control import (
    FAVOURITES,
    METRICS,
    OWNED,
    PUBLIC,
    SHARED,
    SHARED_FORMS,
    SIGNED_IN,
    SIGNED_PUTS,
    STAFF_NAMESPACE,
    all_urls,
)


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP (no 'unsafe-inline') would block in a page."""

    def __init__(self, nonce, style_nonce=None):
        super().__init__(convert_charrefs=True)
        self.nonce, self.style_nonce = nonce, style_nonce
        self.problems = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        where = f"<{tag} {' '.join(f'{k}={v!r}' for k, v in attrs.items())}>"[:200]
        if tag == "script":
            if "src" in attrs:
                if not attrs["src"].startswith("/") or attrs["src"].startswith("//"):
                    self.problems.append(f"script from another origin: {where}")
            elif attrs.get("type") not in ("application/json", "application/ld+json"):
                if not self.nonce or attrs.get("nonce") != self.nonce:
                    self.problems.append(f"inline script without the page's nonce: {where}")
        if tag == "style" and (not self.style_nonce or attrs.get("nonce") != self.style_nonce):
            self.problems.append(f"inline <style> element without the page's nonce: {where}")
        for name, value in attrs.items():
            if name == "style":
                self.problems.append(f"style attribute: {where}")
            elif name.startswith("on"):
                self.problems.append(f"event handler attribute {name}: {where}")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL: {where}")


def csp_problems(response):
    policy = response.get("Content-Security-Policy", "")
    nonce = re.search(r"script-src [^;]*'nonce-([^']+)'", policy)
    style_nonce = re.search(r"style-src [^;]*'nonce-([^']+)'", policy)
    finder = InlineCodeFinder(nonce and nonce.group(1), style_nonce and style_nonce.group(1))
    finder.feed(response.content.decode())
    return finder.problems


def html_pages(client, world, admin):
    """(who, url, response) for every HTML page of the site (or of the admin site), each fetched
    as someone allowed to see it."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    for name, namespace, url in all_urls(world):
        if (namespace == STAFF_NAMESPACE) != admin:
            continue
        if namespace == STAFF_NAMESPACE:
            client.force_login(staff)
            who = "staff"
        elif name in SIGNED_IN | OWNED:
            client.force_login(world.owner)
            who = "owner"
        elif name in PUBLIC | SHARED | SHARED_FORMS | FAVOURITES | METRICS | SIGNED_PUTS:
            client.logout()
            who = "anonymous"
        else:
            raise AssertionError(f"unclassified URL {url}: see tests/test_access_control.py")
        response = client.get(url)
        if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
            yield who, url, response
    client.logout()
    if not admin:  # error pages are pages too
        for url in [
            "/no-such-page/",
            reverse("sharing:public_gallery", args=[world.expired_link.pk]),
            reverse("sharing:public_photo", args=[world.link.pk, world.other_photo.pk]),
        ]:
            yield "anonymous", url, client.get(url)


def assert_security_headers(url, response):
    policy = response.get("Content-Security-Policy")
    assert policy, f"no CSP on {url}"
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"], url
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, url
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"], url
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'self'"], url
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
    # No page may leak its address (a share link's is a secret) to other sites.
    assert response["Referrer-Policy"] == "same-origin", url


@pytest.mark.parametrize("admin", [False, True], ids=["site", "admin"])
def test_every_page_has_a_strict_csp_and_the_security_headers_and_satisfies_its_csp(client, s3_world, admin):
    pages = list(html_pages(client, s3_world, admin=admin))
    assert len(pages) > 20
    for _who, url, response in pages:
        assert_security_headers(url, response)
    # Django's own admin templates use no inline code; the project's admin classes must not either.
    problems = {f"{url} ({who})": csp_problems(response) for who, url, response in pages}
    assert {page: found for page, found in problems.items() if found} == {}


def test_public_share_pages_ask_not_to_be_indexed(client, s3_world):
    for url in [
        reverse("sharing:public_gallery", args=[s3_world.link.pk]),
        reverse("sharing:public_photo", args=[s3_world.link.pk, s3_world.photo.pk]),
        reverse("sharing:public_gallery", args=[s3_world.expired_link.pk]),
    ]:
        assert "noindex" in client.get(url)["X-Robots-Tag"], url


# Production settings: the test settings are production ones (DEBUG off).


def test_the_tests_run_with_production_settings():
    assert django_settings.DEBUG is False
    assert django_settings.SECURE_HSTS_SECONDS >= 31_536_000
    assert django_settings.SESSION_COOKIE_SECURE and django_settings.CSRF_COOKIE_SECURE
    assert django_settings.SESSION_COOKIE_HTTPONLY
    assert django_settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
def test_https_answers_carry_hsts(client):
    response = client.get(reverse("accounts:login"), secure=True)
    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    assert re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # what production runs with (the test settings turn it off)
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
    # Behind the TLS proxy, a request it received over HTTPS is not redirected.
    assert client.get(reverse("accounts:login"), headers={"X-Forwarded-Proto": "https"}).status_code == 200
    # The load balancer's health check may use plain HTTP.
    assert client.get(reverse("healthz")).status_code in (200, 503)


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_httponly(client):
    UserFactory(email="ada@example.com")
    login_page = client.get(reverse("accounts:login"), secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    response = client.post(
        reverse("accounts:login"),
        {"username": "ada@example.com", "password": "correct horse battery staple"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


@pytest.mark.parametrize("with_mail_server", [True, False])
def test_check_deploy_is_clean_with_production_environment(with_mail_server):
    env = production_env(DJANGO_ALLOWED_HOSTS="example.com")
    if with_mail_server:
        env["EMAIL_URL"] = "smtp+tls://viewport:secret@smtp.example.com:587"
    else:
        env.pop("EMAIL_URL", None)  # password-reset mail then goes to an SMTP server on localhost
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# Images served by our own views: a safe Content-Type and a Content-Disposition, always.


def image_urls(world):
    gallery, photo, link = world.gallery, world.photo, world.link
    return {
        "owner thumbnail": (reverse("galleries:photo_thumbnail", args=[gallery.pk, photo.pk]), "inline"),
        "owner preview": (reverse("galleries:photo_preview", args=[gallery.pk, photo.pk]), "inline"),
        "owner download": (reverse("galleries:photo_download", args=[gallery.pk, photo.pk]), "attachment"),
        "public thumbnail": (reverse("sharing:public_thumbnail", args=[link.pk, photo.pk]), "inline"),
        "public preview": (reverse("sharing:public_preview", args=[link.pk, photo.pk]), "inline"),
        "public download": (reverse("sharing:photo_download", args=[link.pk, photo.pk]), "attachment"),
    }


def test_images_from_our_views_carry_a_safe_content_type_and_disposition(client, world, photo_storage):
    client.force_login(world.owner)
    for what, (url, kind) in image_urls(world).items():
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", what
        if photo_storage == "s3" and kind == "attachment":
            # A redirect to the private bucket; the signed URL fixes the headers S3 answers with.
            assert response.status_code == 302, what
            query = parse_qs(urlsplit(response["Location"]).query)
            assert query["response-content-type"] == ["image/jpeg"], what
            assert query["response-content-disposition"][0].startswith(kind), what
            assert "private" in query["response-cache-control"][0], what
            assert "X-Amz-Signature" in query, what
        else:
            assert response.status_code == 200, what
            assert response["Content-Type"] == "image/jpeg", what
            assert response["Content-Disposition"].startswith(kind), what
            assert response["Cache-Control"].startswith("private"), what


def test_signed_in_pages_are_not_kept_by_the_browser(client, s3_world):
    """After logging out on a shared computer, Back must not show the dashboard or share URLs."""
    client.force_login(s3_world.owner)
    for url in [
        reverse("galleries:gallery_list"),
        reverse("galleries:gallery_detail", args=[s3_world.gallery.pk]),
        reverse("sharing:share_link_list"),
        reverse("accounts:profile"),
    ]:
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, url
