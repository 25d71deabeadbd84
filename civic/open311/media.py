"""Fetching a partner's ``media_url`` without becoming a proxy into the private network (SSRF).

Order matters: the host must be on the partner's allow-list; then every address it resolves to
is checked (no private, loopback, link-local, reserved, multicast or unspecified address); then the
connection goes to the checked address itself (pinned), so a second DNS answer (rebinding) cannot
send it elsewhere.  No redirects are followed (a redirect could point anywhere).  The body is
read up to ``max_bytes`` within ``timeout`` seconds in all; the bytes then go through the photo
pipeline like any upload.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse

from civic.core.errors import BadRequest


class MediaRefused(BadRequest):
    default_code = "media_url_refused"
    default_message = "无法获取 media_url 指向的图片"


def address_refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool = False) -> bool:
    """Whether civic must not connect to ``ip``.  ``allow_loopback`` exists for tests only."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback and allow_loopback:
        return False
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._pinned_ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._pinned_ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._pinned_ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._pinned_ip, self.port), self.timeout)
        # The certificate is still checked against the host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_media(url: str, allowed_hosts: list[str], *, max_bytes: int, timeout: float,
                allow_loopback: bool = False) -> bytes:
    """The bytes at ``url`` (http or https), fetched only under the rules above.

    :raises MediaRefused: (400) ``media_url_invalid``, ``media_host_not_allowed``,
        ``media_host_unresolvable``, ``media_address_forbidden``, ``media_fetch_failed``,
        ``media_too_large``, ``media_timeout``.  Nothing is sent to any host for the first four.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise MediaRefused("media_url 不是有效的网址", code="media_url_invalid") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise MediaRefused("media_url 须为 http(s) 网址", code="media_url_invalid")
    host = parts.hostname.lower().rstrip(".")
    if host not in {h.lower().rstrip(".") for h in allowed_hosts}:
        raise MediaRefused("media_url 的主机不在该合作方的允许列表中", code="media_host_not_allowed",
                           details={"host": host})
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MediaRefused("无法解析 media_url 的主机", code="media_host_unresolvable",
                           details={"host": host}) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for a in addresses:
        if address_refused(ipaddress.ip_address(a.split("%", 1)[0]), allow_loopback=allow_loopback):
            raise MediaRefused("media_url 指向内网或保留地址，拒绝获取", code="media_address_forbidden",
                               details={"host": host})
    ip = next((a for a in addresses if ":" not in a), addresses[0])
    conn_cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = conn_cls(host, port, ip, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    try:
        conn.request("GET", path, headers={"User-Agent": "civic-open311/1", "Accept": "image/*"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise MediaRefused("media_url 未返回图片", code="media_fetch_failed", details={"status": resp.status})
        length = resp.getheader("Content-Length")
        if length and length.isascii() and length.isdigit() and int(length) > max_bytes:
            raise MediaRefused("media_url 的文件过大", code="media_too_large", details={"max_bytes": max_bytes})
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise MediaRefused("获取 media_url 超时", code="media_timeout", details={"timeout_s": timeout})
            chunk = resp.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise MediaRefused("media_url 的文件过大", code="media_too_large", details={"max_bytes": max_bytes})
            chunks.append(chunk)
        return b"".join(chunks)
    except TimeoutError as exc:
        raise MediaRefused("获取 media_url 超时", code="media_timeout", details={"timeout_s": timeout}) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise MediaRefused("无法获取 media_url", code="media_fetch_failed") from exc
    finally:
        conn.close()
