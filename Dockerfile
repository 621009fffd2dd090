# Viewport: gunicorn serving the app, static files collected and served by whitenoise. Only
# requirements.txt is installed: the test and development tools of requirements-dev.txt stay out.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 viewport \
    && useradd --system --uid 10001 --gid viewport --home-dir /app --shell /usr/sbin/nologin viewport

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code belongs to root, so the app cannot change it; it writes only to data/ (SQLite and
# photos when no database or bucket is configured) and /tmp (uploads in progress, metrics).
COPY . .
# collectstatic needs settings that load; the real secret comes from the environment at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-real-secret-key-000000000000000 DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/data && chown viewport:viewport /app/data

USER 10001
EXPOSE 8000
# Asks with the site's own host name: DJANGO_ALLOWED_HOSTS refuses any other.
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os, sys, urllib.request as r; host = os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.*') or 'localhost'; sys.exit(r.urlopen(r.Request('http://127.0.0.1:8000/healthz/', headers={'Host': host}), timeout=4).status != 200)"]
# Migrations run once per deployment, before the servers start (docker-compose.yml's migrate
# service): `python manage.py migrate`.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "viewport.wsgi"]
