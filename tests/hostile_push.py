"""Push services that misbehave, on 127.0.0.1 (threads; nothing leaves the machine).

`HostilePushService` answers by the first path segment of the endpoint:
- `/status/<code>/...`: that status at once (429, 500, 404, 410, ...);
- `/trickle/...`: 201 headers with `Content-Length: 1000`, then one body byte every `interval` s;
- `/slow-headers/...`: a status line, then one header line every `interval` s, never the end;
- `/hang/...`: reads the request and never answers;
- anything else: 201 at once.
`SilentTlsPeer` accepts TCP connections and never answers the TLS ClientHello.

`RoutedChannel` lets API-registered subscriptions (`https://<name>.example.test/<path>`, what the
push-endpoint guard accepts) reach these peers: it sends through a real channel with the
endpoint's origin replaced by the local peer's; everything else is the real channel's doing.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.alerts import Notification
from chalicelib.ports import Channel, SendOutcome


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        service = self.server.service
        with service.lock:
            service.connections += 1
        head = self._read_head()
        if head is None:
            return
        path = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else "/"
        with service.lock:
            service.paths.append(path)
        kind = path.strip("/").split("/", 1)[0]
        if kind == "status":
            code = int(path.strip("/").split("/")[1])
            self._send(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        elif kind == "trickle":
            self._send(b"HTTP/1.1 201 Created\r\nContent-Length: 1000\r\n\r\n")
            self._drip(b"x")
        elif kind == "slow-headers":
            self._send(b"HTTP/1.1 201 Created\r\n")
            self._drip(b"X-Slow: 1\r\n")
        elif kind == "hang":
            service.closing.wait()
        else:
            # The handler closes the connection after answering: say so, or a client reusing it races the close.
            self._send(b"HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def _read_head(self) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            body += chunk
        return head

    def _send(self, data: bytes) -> bool:
        try:
            self.request.sendall(data)
        except OSError:
            return False
        return True

    def _drip(self, piece: bytes) -> None:
        service = self.server.service
        while not service.closing.wait(service.interval):
            if not self._send(piece):
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128  # many parallel sends: a full backlog would delay connects by a SYN retry
    service: HostilePushService


class HostilePushService:
    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.connections = 0
        self.paths: list[str] = []
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.service = self
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def endpoint(self, kind: str) -> str:
        return f"{self.origin}/{kind}/{uuid.uuid4().hex}"

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class SilentTlsPeer:
    """Accepts connections and reads the ClientHello, never answering it."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        held: list[socket.socket] = []
        while not self.closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self.accepted += 1
            held.append(conn)
        for conn in held:
            conn.close()

    def close(self) -> None:
        self.closing.set()
        time.sleep(0.1)
        self.listener.close()


class RoutedChannel:
    """A real channel, with `https://<host>/<path>` endpoints sent to `<routes[host]>/<path>`;
    endpoints on other hosts go to `fallback` (e.g. a FakeChannel), when given."""

    def __init__(self, channel: Channel, routes: dict[str, str], fallback: Channel | None = None) -> None:
        self.channel = channel
        self.routes = routes
        self.fallback = fallback
        self.outcomes: list[tuple[str, SendOutcome, float]] = []
        self._lock = threading.Lock()

    def send(self, target: dict[str, Any], notification: Notification) -> SendOutcome:
        subscription = dict(target["subscription"])
        endpoint = urlsplit(subscription["endpoint"])
        origin = self.routes.get(endpoint.hostname or "")
        if origin is None and self.fallback is not None:
            return self.fallback.send(target, notification)
        if origin is not None:
            subscription["endpoint"] = origin + endpoint.path
        started = time.monotonic()
        outcome = self.channel.send({**target, "subscription": subscription}, notification)
        with self._lock:
            self.outcomes.append((target["subscription"]["endpoint"], outcome, time.monotonic() - started))
        return outcome
