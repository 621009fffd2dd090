"""What the tests and the benchmarks share: the servers they run against (services.py, started
for pytest by plugin.py), the app under gunicorn (appserver.py), photos made on the fly
(photos.py) and HTTP as the app's clients speak it (http.py)."""
