"""Viewport settings: one file, configured through environment variables (or a `.env`).

With nothing configured the site runs on SQLite and local file storage under `data/`.
`DATABASE_URL` switches to PostgreSQL; `AWS_STORAGE_BUCKET_NAME` switches photos to S3.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Core
DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATA_DIR = Path(env.str("VIEWPORT_DATA_DIR", default=str(BASE_DIR / "data")))

_INSECURE_KEY = "django-insecure-local-development-only"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_INSECURE_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _INSECURE_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random string of 50+ characters when DJANGO_DEBUG is off."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the site's host names when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Scripts (Accept: application/json) get the refusal as JSON, browsers Django's page.
CSRF_FAILURE_VIEW = "viewport.http.csrf_failure"

INSTALLED_APPS = [
    "accounts",
    "galleries",
    "sharing",
    "favourites",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_tasks_db",
    "crontask",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id, and every answer is counted and timed.
    "viewport.logs.RequestIdMiddleware",
    "viewport.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.photographer_time_zone",
    # Before every view and process_view (CSRF's reads the body), after sessions (who is asking).
    "viewport.middleware.RequestLimitsMiddleware",
    "viewport.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "galleries.middleware.StorageUnavailableMiddleware",
    # Last, so it sees the outcome of the login view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "viewport.urls"
WSGI_APPLICATION = "viewport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The site, the task worker and the scheduler share the file: readers never wait for a writer
    # (WAL), and a transaction takes the write lock when it starts rather than failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE", timeout=20
    )
# A restarted PostgreSQL leaves dead persistent connections behind: check before reuse.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer at a time. A transaction that reads first and then writes fails at
    # once with "database is locked" when another one writes (it is not made to wait); beginning
    # each transaction as a writer makes it wait its turn, up to the timeout in seconds.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE", timeout=env.int("DATABASE_SQLITE_TIMEOUT", default=20)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "galleries:gallery_list"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (django-axes): lock an account, or an address, after repeated failures for a
# while rather than forever, so an attacker cannot lock a photographer out for good.
AXES_FAILURE_LIMIT = env.int("VIEWPORT_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("VIEWPORT_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "accounts.throttling.login_attempt_email"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
# Counts each attempt before its password is checked; a successful login clears that account's
# failures only, never those of others from its address.
AXES_HANDLER = "accounts.throttling.LoginFailureHandler"
AXES_RESET_ON_SUCCESS = True
# An attempt refused during a lockout is not a failure: it neither counts nor restarts the cool-off.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# How many proxies in front of the app append to X-Forwarded-For (0: the socket's address is the
# client's). Read by accounts.throttling.client_address(), for every limit by address.
VIEWPORT_PROXY_COUNT = env.int("VIEWPORT_PROXY_COUNT", default=0)

# Email: printed to the console in development; in production an SMTP server, on localhost
# unless EMAIL_URL says otherwise (smtp+tls://user:password@host:587).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _email[key]
            for option, key in [
                ("host", "EMAIL_HOST"),
                ("port", "EMAIL_PORT"),
                ("username", "EMAIL_HOST_USER"),
                ("password", "EMAIL_HOST_PASSWORD"),
                ("use_tls", "EMAIL_USE_TLS"),
                ("use_ssl", "EMAIL_USE_SSL"),
            ]
            if _email.get(key)
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Viewport <noreply@localhost>")
# The site's public address, for links in e-mails: never the request's Host, which the client
# chooses (any allowed host, any port). In production it defaults to https:// and the first
# allowed host, unless that is a pattern (`.example.com`, `*`).
_first_host = ALLOWED_HOSTS[0] if ALLOWED_HOSTS else ""
if DEBUG:
    _default_site_url = "http://127.0.0.1:8000"
elif re.fullmatch(r"[\w-]+(\.[\w-]+)*", _first_host):
    _default_site_url = f"https://{_first_host}"
else:
    _default_site_url = ""
VIEWPORT_SITE_URL = env.str("VIEWPORT_SITE_URL", default=_default_site_url).rstrip("/")
if not re.fullmatch(r"https?://[^/?#\s]+", VIEWPORT_SITE_URL):
    raise ImproperlyConfigured(
        "VIEWPORT_SITE_URL must be the site's address, like https://photos.example.com "
        "(needed when the first of DJANGO_ALLOWED_HOSTS is a pattern rather than a host name)."
    )

# Internationalisation: times are stored in UTC and shown in TIME_ZONE.
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("VIEWPORT_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files, served by whitenoise with far-future cache headers and compression
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("VIEWPORT_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_MAX_AGE = 60 * 60 * 24 * 365 if not DEBUG else 0

# Each process keeps what it drew of the galleries it served (the tiles, the counts), keyed by
# each gallery's version (Gallery.version), so that a change shows at once and nothing needs
# invalidating. Least recently used entries go first; a page of 120 tiles is ~150 KB.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": env.int("VIEWPORT_CACHE_ENTRIES", default=300)},
    }
}

# Photo storage: local files by default, a private S3 bucket when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    PHOTO_STORAGE = {
        "BACKEND": "galleries.storage.PhotoS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "public_endpoint_url": env.str("AWS_S3_PUBLIC_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": None,
            "querystring_auth": True,
            # A download URL handed out through a share link works this long after the link is
            # revoked, paused or expires: keep it short. Thumbnails and previews go through the app.
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=60),
            # Keys are made unique by the app (Photo.object_key is unique), so no HEAD per write.
            "file_overwrite": True,
            # boto3 waits 60 s to connect and 60 s to read by default, and retries: a hung S3
            # would hold a gunicorn thread that long (gthread never ends a slow request).
            "client_config": Config(
                connect_timeout=env.float("AWS_S3_CONNECT_TIMEOUT", default=2),
                read_timeout=env.float("AWS_S3_READ_TIMEOUT", default=3),
                retries={"max_attempts": env.int("AWS_S3_MAX_ATTEMPTS", default=2), "mode": "standard"},
                signature_version="s3v4",
                s3={"addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path")},
            ),
        },
    }
else:
    PHOTO_STORAGE = {
        "BACKEND": "galleries.storage.LocalPhotoStorage",
        "OPTIONS": {"location": DATA_DIR / "photos", "base_url": None, "allow_overwrite": True},
    }
# The embedded default keeps SQLite and photos under DATA_DIR: create it, so that Django's own
# commands (migrate, createsuperuser, runserver) work on a fresh clone too.
if not env.str("DATABASE_URL", default="") or not AWS_STORAGE_BUCKET_NAME:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": PHOTO_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: files above 2.5 MB spool to temporary files, never whole into memory.
VIEWPORT_MAX_UPLOAD_SIZE = env.int("VIEWPORT_MAX_UPLOAD_SIZE", default=200 * 1024 * 1024)
# The page's uploader sends files in parts of this many bytes (5 to 8 MiB: S3's smallest part is
# 5 MiB; a dropped connection sends one part again), to the bucket itself on S3.
VIEWPORT_UPLOAD_PART_SIZE = min(max(env.int("VIEWPORT_UPLOAD_PART_SIZE", default=8 * 1024 * 1024), 5 << 20), 8 << 20)
# Uploads that nothing has moved on for this long are aborted (their parts deleted) by a periodic task.
VIEWPORT_UPLOAD_ABANDONED_HOURS = env.int("VIEWPORT_UPLOAD_ABANDONED_HOURS", default=24)
# Unfinished uploads are aborted this long after they started, however their parts still move.
VIEWPORT_UPLOAD_MAX_AGE_DAYS = env.int("VIEWPORT_UPLOAD_MAX_AGE_DAYS", default=7)
# An upload processing this long with no task of the worker on it (the worker died, or its task
# was lost) is processed again (checked every five minutes).
VIEWPORT_UPLOAD_PROCESSING_MINUTES = env.int("VIEWPORT_UPLOAD_PROCESSING_MINUTES", default=15)
# Seconds before the worker makes a photo again after storage failed; the pause doubles with each
# try, up to an hour.
VIEWPORT_UPLOAD_RETRY_SECONDS = env.int("VIEWPORT_UPLOAD_RETRY_SECONDS", default=30)
# Files a photographer may have on their way at once (each holds a multipart upload in storage).
VIEWPORT_MAX_UNFINISHED_UPLOADS = env.int("VIEWPORT_MAX_UNFINISHED_UPLOADS", default=100)
# Bytes of originals each photographer may store, unless the admin sets theirs (User.storage_quota).
VIEWPORT_STORAGE_QUOTA = env.int("VIEWPORT_STORAGE_QUOTA", default=100 * 1000**3)
# 160 MP takes current 100-150 MP cameras (Phase One IQ4: 14204 x 10652 = 151.3 MP).
VIEWPORT_MAX_IMAGE_PIXELS = env.int("VIEWPORT_MAX_IMAGE_PIXELS", default=160_000_000)
# Photos decoded at once per worker process: decoding is where memory peaks.
VIEWPORT_CONCURRENT_DECODES = env.int("VIEWPORT_CONCURRENT_DECODES", default=1)
# The page's uploader sends one photo per request; without JavaScript the form sends a batch.
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("VIEWPORT_MAX_FILES_PER_REQUEST", default=10)
FILE_UPLOAD_TEMP_DIR = env.str("VIEWPORT_UPLOAD_TEMP_DIR", default="") or None

# Request limits (viewport/middleware.py). A body larger than its request may carry is refused
# with 413 before a byte of it is read: a photo upload by a logged-in photographer may carry
# DATA_UPLOAD_MAX_NUMBER_FILES photos of VIEWPORT_MAX_UPLOAD_SIZE plus this much, anything else
# only this much (the largest form, the admin's included, is a few kilobytes).
VIEWPORT_MAX_REQUEST_SIZE = env.int("VIEWPORT_MAX_REQUEST_SIZE", default=1024 * 1024)
# Seconds an answer waits for a client to take the next piece of it (at most 256 KiB), so a
# client that stops reading frees its gunicorn thread.
VIEWPORT_SEND_TIMEOUT = env.int("VIEWPORT_SEND_TIMEOUT", default=30)
# ZIPs streaming at once per gunicorn worker process; one more is a 503. Half the threads, so the
# other half always answer pages.
VIEWPORT_ZIP_STREAMS = env.int("VIEWPORT_ZIP_STREAMS", default=max(1, env.int("GUNICORN_THREADS", default=8) // 2))
# ZIPs one client network (an IPv4 address, an IPv6 /56) may stream at once, across all servers;
# one more is a 429. A few slow readers cannot hold every slot, and a refused client resumes later.
VIEWPORT_ZIP_STREAMS_PER_NETWORK = env.int("VIEWPORT_ZIP_STREAMS_PER_NETWORK", default=2)
# ...and its neighbours together (the IPv4 /24 or IPv6 /48 it is in: one customer's addresses).
VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK = env.int("VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK", default=4)
# When every slot of a process streams, a newcomer cuts the oldest stream that has streamed at
# least this many seconds (it resumes later) rather than be refused; younger ones are never cut.
VIEWPORT_ZIP_STREAM_CUT_AFTER = env.int("VIEWPORT_ZIP_STREAM_CUT_AFTER", default=60)
# Photo uploads handled at once per gunicorn worker process (they wait for a decode slot while
# holding a thread); one more is a 503 that the uploader retries. Half the threads, likewise.
VIEWPORT_UPLOAD_SLOTS = env.int("VIEWPORT_UPLOAD_SLOTS", default=max(1, env.int("GUNICORN_THREADS", default=8) // 2))

# Background work: Django's tasks framework. "database" (the default) queues tasks in the
# database for `manage.py db_worker` (django-tasks-db); "immediate" runs them inside the request.
# Periodic tasks are enqueued by `manage.py crontask` (django-crontask): run one or more, each
# run is queued once (galleries.tasks.periodic).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
_task_backend = env.str("VIEWPORT_TASK_BACKEND", default="database")
if _task_backend not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"VIEWPORT_TASK_BACKEND must be one of {', '.join(TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_task_backend]}}
# How often the scheduler retries failed storage deletes, in seconds.
VIEWPORT_STORAGE_RETRY_SECONDS = env.int("VIEWPORT_STORAGE_RETRY_SECONDS", default=600)

# E-mail to clients: recipients a photographer may send to per day (invitations and reminders),
# so that a stolen account cannot be used to spam.
VIEWPORT_MAIL_RECIPIENTS_PER_DAY = env.int("VIEWPORT_MAIL_RECIPIENTS_PER_DAY", default=200)
# Share links a photographer may create per hour.
VIEWPORT_LINK_CREATE_PER_HOUR = env.int("VIEWPORT_LINK_CREATE_PER_HOUR", default=200)
VIEWPORT_LINK_UPDATE_PER_HOUR = env.int("VIEWPORT_LINK_UPDATE_PER_HOUR", default=300)
# Wrong passwords and download PINs typed on one share link within an hour that mean it is being
# guessed: its page and JSON warn the photographer, who is also e-mailed (once a link a day).
VIEWPORT_GUESSING_ALERT = env.int("VIEWPORT_GUESSING_ALERT", default=20)
# PBKDF2 iterations per try of a proof-of-work challenge (accounts.challenges); a browser needs
# about 256 tries (docs/PERFORMANCE.md has the time it takes).
VIEWPORT_CHALLENGE_COST = env.int("VIEWPORT_CHALLENGE_COST", default=5000)
# Statistics: days kept of the keyed visitor hashes that count unique visitors (the counts stay).
VIEWPORT_VISITOR_HASH_DAYS = env.int("VIEWPORT_VISITOR_HASH_DAYS", default=2)

# Security headers. Images may be redirected to the S3 endpoint's signed URLs.
_S3_ENDPOINTS = [
    url
    for url in [env.str("AWS_S3_PUBLIC_ENDPOINT_URL", default="") or env.str("AWS_S3_ENDPOINT_URL", default="")]
    if url and AWS_STORAGE_BUCKET_NAME
]
_S3_ORIGINS = _S3_ENDPOINTS + env.list("VIEWPORT_CSP_IMG_SRC", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Client pages inline their stylesheet with the nonce (sharing_tags.stylesheet); no page
    # has a style="" attribute.
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "blob:", *_S3_ORIGINS],
    # The page's uploader sends parts straight to the bucket (signed URLs).
    "connect-src": [CSP.SELF, *_S3_ENDPOINTS],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers inside the network ask the app over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    # Preloading is a commitment for every subdomain that is slow to undo: an opt-in, not a warning.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Metrics: GET /metrics answers only with `Authorization: Bearer <this>` (404 while it is empty).
VIEWPORT_METRICS_TOKEN = env.str("VIEWPORT_METRICS_TOKEN", default="")

# Logs: text, or one JSON object a line (`json`); each line has its request's id (viewport/logs.py).
VIEWPORT_LOG_FORMAT = env.str("VIEWPORT_LOG_FORMAT", default="text")
if VIEWPORT_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("VIEWPORT_LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "viewport.logs.RequestIdFilter"}},
    "formatters": {"text": {"format": "%(message)s"}, "json": {"()": "viewport.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": VIEWPORT_LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.str("VIEWPORT_LOG_LEVEL", default="INFO")},
    # pyvips passes on libvips's chatter (a line per decode at INFO).
    "loggers": {"axes": {"level": "WARNING"}, "pyvips": {"level": "WARNING"}},
}
