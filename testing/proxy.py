"""Relays on loopback that stand between a test and its servers:

- RoundRobinProxy stands in for Caddy in docker-compose.yml in front of several app servers:
  each request goes to the next server, as `https` (X-Forwarded-Proto) from the address the proxy
  saw (X-Forwarded-For, replacing what the client wrote, as Caddy does for a client it does not
  trust). One request per connection, so "the next request" is well defined.
- CuttingProxy drops a connection in the middle of a request, as a venue's Wi-Fi does.
"""

import itertools
import socket
import threading

HEAD_LIMIT = 64 * 1024
DROPPED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"connection", b"keep-alive")


class _Relay:
    """Listens on a free loopback port and hands each connection to `_relay(client, address)` on
    a thread of its own."""

    def __init__(self):
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, address = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(client, address[0]), daemon=True).start()


class RoundRobinProxy(_Relay):
    """Listens on a free loopback port; `served` lists (method, path, server index) in order.
    `turn_to(index)` makes the next request go to that server (the order goes on from there)."""

    def __init__(self, ports):
        super().__init__()
        self.ports = list(ports)
        self.served = []
        self._turn = itertools.count()

    def turn_to(self, index):
        with self._lock:
            self._turn = itertools.count(index)

    def _relay(self, client, client_address):
        with client:
            head, rest = _read_head(client)
            if head is None:
                return
            request_line, *header_lines = head.split(b"\r\n")
            headers = [line for line in header_lines if line.split(b":", 1)[0].strip().lower() not in DROPPED]
            headers += [
                b"X-Forwarded-For: " + client_address.encode(),
                b"X-Forwarded-Proto: https",
                b"Connection: close",
            ]
            method, path, _ = request_line.decode("latin-1").split(" ", 2)
            with self._lock:
                index = next(self._turn) % len(self.ports)
                self.served.append((method, path, index))
            with socket.create_connection(("127.0.0.1", self.ports[index])) as upstream:
                upstream.sendall(b"\r\n".join([request_line, *headers]) + b"\r\n\r\n" + rest)
                # The rest of the body goes up while the answer comes down, until the server hangs up.
                threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
                _pipe(upstream, client)


def _read_head(connection):
    """(the request's head without its blank line, the bytes read after it), or (None, b"")."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > HEAD_LIMIT:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class CuttingProxy(_Relay):
    """A TCP relay on loopback to one server that can drop a connection in the middle of a
    request, as a venue's Wi-Fi does: after `cut_after(n)`, the next connection is closed both
    ways once the client has sent `n` bytes through it. Bytes pass unchanged (a signed URL made
    for the proxy's address is checked against it). `cuts` counts the connections dropped."""

    def __init__(self, port):
        super().__init__()
        self.target = ("127.0.0.1", port)
        self.cuts = 0
        self._cut_at = None

    def cut_after(self, size):
        with self._lock:
            self._cut_at = size

    def _relay(self, client, client_address):
        with self._lock:
            cut_at, self._cut_at = self._cut_at, None
        upstream = socket.create_connection(self.target)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        sent = 0
        try:
            while data := client.recv(64 * 1024):
                if cut_at is not None and sent + len(data) >= cut_at:
                    upstream.sendall(data[: cut_at - sent])
                    with self._lock:
                        self.cuts += 1
                    break
                upstream.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()


def _pipe(source, sink):
    """Copies until `source` hangs up, then tells `sink` that nothing more comes."""
    try:
        while data := source.recv(64 * 1024):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
