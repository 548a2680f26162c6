"""Where outbound calls may go: public addresses only, unless a deployment allows more. No Flask import.

A webhook URL is checked when it is saved and again when the message is sent, against the address
the connection is really made to: the host is resolved once, each address checked, and the socket
opened to the checked address (a name that resolves to a public address at save time and to
169.254.169.254 later does not pass). The system resolver reads every spelling of an IPv4 address
(`2130706433`, `0x7f000001`, `0177.1`), so resolving first and checking what it returns covers them
all; IPv6 forms that embed an IPv4 address (`::ffff:127.0.0.1`, 6to4, Teredo) are checked by the
address they embed. Redirects are never followed and proxies from the environment are not used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL points somewhere outbound calls may not go; str() says why, without the URL."""


@dataclass(frozen=True)
class Allowlist:
    """Private receivers a deployment names explicitly (GRIDGOV_WEBHOOK_ALLOW): CIDRs or host names."""

    networks: tuple = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, raw: str | Iterable[str] | None) -> Allowlist:
        """`"10.20.0.0/16, hooks.corp.local"` → an allowlist; ValueError on an entry that is neither."""
        items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or ())
        networks, hosts = [], set()
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                name = item.strip().lower().rstrip(".")
                if not name or "/" in name or ":" in name:
                    raise ValueError(f"not a CIDR or host name: {item!r}") from None
                hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64: the IPv4 host behind the gateway
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Not loopback, private, link-local, multicast, unspecified, reserved or shared; embedded IPv4 too."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[Address]:
    """Every address the system resolver gives for the host (numeric spellings included)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def allowed_addresses(host: str, port: int, allow: Allowlist) -> list[Address]:
    """The host's addresses, each one allowed; UnsafeURL if any is not (or the host does not resolve)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL("the host name does not resolve") from exc
    if not addresses:
        raise UnsafeURL("the host name does not resolve")
    if allow.allows_host(host):
        return addresses
    for address in addresses:
        if not (is_public(address) or allow.allows_address(address)):
            raise UnsafeURL(f"{address} is not a public address")
    return addresses


def check_url(url: str, allow: Allowlist) -> None:
    """UnsafeURL unless `url` is http(s), has no user info, and its host resolves only to allowed
    addresses. A name that does not resolve now is refused too: it could not be delivered to."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL("the URL cannot be read") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http and https URLs with a host are allowed")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("user names and passwords do not belong in a webhook URL")
    allowed_addresses(parts.hostname, port, allow)


class BlockedAddress(NewConnectionError):
    """The connection was not opened: the host resolved to an address outbound calls may not reach."""


def _guarded(connection_cls, allow: Allowlist):
    class Guarded(connection_cls):
        def _new_conn(self) -> socket.socket:
            try:
                addresses = allowed_addresses(self._dns_host.rstrip("."), self.port, allow)
            except UnsafeURL as exc:
                raise BlockedAddress(self, f"refused: {exc}") from None
            host, self._dns_host = self._dns_host, str(addresses[0])  # connect to the address checked
            try:
                return super()._new_conn()
            finally:
                self._dns_host = host  # TLS still verifies the certificate against the name

    return Guarded


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose connections open only to allowed addresses."""

    def __init__(self, allow: Allowlist, **kwargs):
        self.allow = allow
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type(
            "GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self.allow)}
        )
        https = type(
            "GuardedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _guarded(HTTPSConnection, self.allow)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def guarded_session(allow: Allowlist) -> requests.Session:
    """A session for webhooks: allowed addresses only, no proxies from the environment."""
    session = requests.Session()
    session.trust_env = False  # an HTTP(S)_PROXY would fetch any address on our behalf
    adapter = GuardedAdapter(allow, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def blocked_reason(exc: BaseException) -> str | None:
    """The BlockedAddress message inside a requests exception, if that is why it failed."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen or current is None:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedAddress):
            return str(current).split(": ", 1)[-1]
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
    return None
