"""The client's address behind trusted reverse proxies (GRIDGOV_TRUSTED_PROXIES). No Flask import.

X-Forwarded-For is a list anyone can start: only the entries added by proxies we trust say
anything. Walking it from the right, every hop that is a trusted proxy is skipped; the first
address that is not is the client. A request that does not come from a trusted proxy keeps its
own peer address and its forwarded headers are ignored, so rate limits count real clients.
"""

from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


def parse_networks(raw: str) -> tuple:
    """`"127.0.0.1, 10.0.0.0/8"` → networks; ValueError on an entry that is not an address or CIDR."""
    networks = []
    for item in raw.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR: {item!r}") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


class TrustedProxies:
    """WSGI middleware: Werkzeug's ProxyFix, applied only to requests whose peer is a trusted proxy,
    with as many X-Forwarded-For hops believed as there are trusted proxies in the chain."""

    def __init__(self, app, trusted: str):
        self.app = app
        self.networks = parse_networks(trusted)

    def __call__(self, environ, start_response):
        if not self.networks or not _trusted(environ.get("REMOTE_ADDR", ""), self.networks):
            return self.app(environ, start_response)
        hops = [h for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        believed = 1
        for hop in reversed(hops[1:]):  # hops[-1] was added by our peer; each trusted hop adds one
            if not _trusted(hop, self.networks):
                break
            believed += 1
        return ProxyFix(self.app, x_for=min(believed, len(hops)) or 1, x_proto=1, x_host=0)(
            environ, start_response
        )
