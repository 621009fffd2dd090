# Threaded workers: a request holds one thread while it runs, a ZIP download for as long as the
# client downloads. The app keeps threads free for pages: ZIPs stream in at most half of each
# worker's threads (VIEWPORT_ZIP_STREAMS, which reads GUNICORN_THREADS: set threads here, not with
# --threads), and an answer whose client stops reading gives up after VIEWPORT_SEND_TIMEOUT.
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Restarts a worker whose main loop stops for this long. It never ends a slow request: with
# gthread the main loop keeps running while a thread waits.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Seconds an idle kept-alive connection stays open; it waits in the main loop, not in a thread.
keepalive = 2
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
