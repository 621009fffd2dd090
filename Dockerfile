# Viewport: gunicorn serving the app, static files collected and served by whitenoise.
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

COPY --chown=viewport:viewport . .
# collectstatic needs settings that load; the real secret comes from the environment at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-real-secret-key-000000000000000 DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz/', timeout=4).status != 200)"]
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn --config gunicorn.conf.py viewport.wsgi"]
