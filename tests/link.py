"""A weak mobile link for tests and bench/resumable_link.py: a TCP proxy on loopback that cuts the
connection each time another ``drop_every`` bytes have gone from the client to the server, and a
WSGI wrapper that counts the bytes the server really read from request bodies."""

from __future__ import annotations

import socket
import threading


class DroppingProxy:
    """``127.0.0.1:<port>`` → ``target``.  Client-to-server bytes are counted over all connections;
    when the count reaches the next multiple of ``drop_every`` the bytes up to it are forwarded and
    both sockets of that connection are closed (the client sees its request fail half-way, the
    server sees its body end early).  ``drops``: how many connections were cut."""

    def __init__(self, target_port: int, drop_every: int):
        self.target = ("127.0.0.1", target_port)
        self.drop_every = drop_every
        self.sent = 0
        self.drops = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        self._pairs: list[_Pair] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            pair = _Pair(client, server)
            self._pairs.append(pair)
            threading.Thread(target=self._up, args=(pair,), daemon=True).start()
            threading.Thread(target=self._down, args=(pair,), daemon=True).start()

    def _up(self, pair: _Pair) -> None:
        try:
            while True:
                data = pair.client.recv(65536)
                if not data:
                    pair.server.shutdown(socket.SHUT_WR)
                    break
                with self._lock:
                    room = self.drop_every - self.sent % self.drop_every
                    cut = len(data) >= room
                    if cut:
                        data = data[:room]
                        self.drops += 1
                    self.sent += len(data)
                pair.server.sendall(data)
                if cut:
                    pair.close()
                    break
        except OSError:
            pair.close()
        pair.done()

    def _down(self, pair: _Pair) -> None:
        try:
            while True:
                data = pair.server.recv(65536)
                if not data:
                    pair.client.shutdown(socket.SHUT_WR)
                    break
                pair.client.sendall(data)
        except OSError:
            pair.close()
        pair.done()

    def close(self) -> None:
        self._stop = True
        self._listener.close()
        for pair in self._pairs:
            pair.close()


class _Pair:
    """One proxied connection: closed when both directions have ended, or when cut."""

    def __init__(self, client: socket.socket, server: socket.socket):
        self.client, self.server = client, server
        self._ended = 0
        self._lock = threading.Lock()

    def done(self) -> None:
        with self._lock:
            self._ended += 1
            last = self._ended == 2
        if last:
            self.close()

    def close(self) -> None:
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class _CountingInput:
    def __init__(self, stream, counter: BodyCounter):
        self._stream, self._counter = stream, counter

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        with self._counter.lock:
            self._counter.received += len(data)
        return data


class BodyCounter:
    """WSGI middleware: ``received`` is the number of body bytes the app read in ``PATCH`` requests."""

    def __init__(self, app):
        self.app = app
        self.received = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "PATCH":
            environ["wsgi.input"] = _CountingInput(environ["wsgi.input"], self)
        return self.app(environ, start_response)
