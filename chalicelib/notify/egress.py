"""Outbound destination guard (SSRF): may the worker send a request to this URL, and to which address?

Subscribers choose where the fan-out worker sends Web Push requests, so a push endpoint is
attacker-controlled input. The guard:

1. parses the URL strictly: https only (`EgressPolicy.schemes`), port 443 only (push services
   all listen there), no userinfo, no backslashes, spaces, control or non-ASCII characters, a host
   that is a plain DNS name (letters, digits, hyphens);
2. refuses IP literals in every spelling the socket layer accepts (`2130706433`, `0x7f000001`,
   `0177.0.0.1`, `127.1`, `[::ffff:7f00:1]`, ...), detected by the C library's own numeric parser
   (`getaddrinfo(AI_NUMERICHOST)`, no network), and `localhost`/`.local`/`.internal` names;
3. resolves the name with the injectable `Resolver` (default: `getaddrinfo`, exactly what the
   socket layer would dial) and refuses it if ANY address is not a public unicast address
   (`address_problem`): loopback, unspecified, private, shared 100.64/10, link-local, multicast,
   reserved, documentation, the cloud metadata addresses, IPv4-mapped and IPv4-compatible IPv6,
   6to4, Teredo, local-use NAT64, and NAT64 (64:ff9b::/96) whose embedded IPv4 is not public;
4. returns a `Destination` carrying the vetted addresses: the transport connects to those (no
   second resolution, so DNS rebinding between check and connect has nothing to win).

Only the standard library is imported here: registration calls `check` in the request path.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from chalicelib.ports import DestinationRefused

Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"https": 443, "http": 80}
# RFC 1123 host names: labels of letters, digits and inner hyphens; an optional final dot.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_URL_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
# Names that never leave the machine or the private network, whatever a resolver says.
LOCAL_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS/GCP/Azure instance metadata
    "169.254.170.2",    # ECS task metadata / credentials
    "169.254.169.253",  # Amazon-provided DNS
    "fd00:ec2::254",    # AWS instance metadata (IPv6)
    "fd00:ec2::23",     # AWS time sync (IPv6)
))
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
# IETF protocol assignments (RFC 6890): Python 3.11 marks only 192.0.0.0/29 of it non-global.
PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
REFUSED_IPV6 = (
    (ipaddress.ip_network("::/96"), "IPv4-compatible IPv6 address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64 address"),
    (ipaddress.ip_network("2002::/16"), "6to4 address"),
    (ipaddress.ip_network("2001::/32"), "Teredo address"),
)


class DestinationUnresolved(DestinationRefused):
    """The host name did not resolve (NXDOMAIN, no address, resolver failure)."""


class UnsafeAddress(DestinationRefused):
    """The URL is well-formed but its name resolved to an address the policy refuses.

    Told apart from the other refusals because it depends on DNS answers, which can change.
    """


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the socket layer would try for (host, port), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
    return list(dict.fromkeys(_sockaddr_text(info[4]) for info in infos))


def _sockaddr_text(sockaddr: tuple[Any, ...]) -> str:
    if len(sockaddr) >= 4 and sockaddr[3]:  # IPv6 scope id: keep it, the address is then scoped
        return f"{sockaddr[0]}%{sockaddr[3]}"
    return str(sockaddr[0])


def numeric_host(host: str) -> list[str] | None:
    """The addresses `host` spells if the C library reads it as an IP literal (any spelling), else None.

    AI_NUMERICHOST never touches the network; it accepts what `inet_aton` accepts (decimal, hex,
    octal, 1-3 part short forms) and IPv6 text, which `ipaddress` does not all understand.
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return list(dict.fromkeys(_sockaddr_text(info[4]) for info in infos))


def _kind_problem(ip: IPAddress) -> str | None:
    """Refuses every special-purpose class; `is_global` alone misses multicast and some v6 blocks."""
    checks = (
        (ip.is_unspecified, "unspecified address"), (ip.is_loopback, "loopback address"),
        (ip.is_link_local, "link-local address"), (ip.is_multicast, "multicast address"),
        (ip in SHARED_ADDRESS_SPACE, "shared (carrier-grade NAT) address"),
        (ip in PROTOCOL_ASSIGNMENTS, "IETF protocol assignment address"),
        (ip.is_private, "private address"), (ip.is_reserved, "reserved address"),
        (getattr(ip, "is_site_local", False), "site-local address"),
        (not ip.is_global, "non-public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _ipv6_problem(ip: ipaddress.IPv6Address) -> str | None:
    if ip.scope_id:
        return "scoped IPv6 address"
    if ip.ipv4_mapped is not None:  # the socket would dial the embedded IPv4: only the plain form is accepted
        return f"IPv4-mapped IPv6 address ({ip.ipv4_mapped})"
    if ip.is_unspecified or ip.is_loopback:
        return _kind_problem(ip)
    return next((reason for network, reason in REFUSED_IPV6 if ip in network), None)


@functools.lru_cache(maxsize=4096)
def address_problem(address: str | IPAddress) -> str | None:
    """Why the worker must not connect to this address (None: a public unicast address).

    Cached: push services answer with a few addresses, and the v6 checks cost ~0.1-0.4 ms each.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in NAT64 and not ip.scope_id:
        # DNS64 gives v4-only services these; ::/8 makes them "reserved", so judge the embedded IPv4
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        problem = address_problem(embedded)
        return f"NAT64 address of a {problem} ({embedded})" if problem else None
    if isinstance(ip, ipaddress.IPv6Address):
        problem = _ipv6_problem(ip)
        if problem:
            return problem
    return _kind_problem(ip)


def _is_plain_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback and not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped)


@dataclass(frozen=True)
class EgressPolicy:
    """What the guard accepts. The default is production's; `local_testing()` is the explicit escape hatch."""

    schemes: frozenset[str] = frozenset({"https"})
    ports: frozenset[int] | None = frozenset({443})  # None: any port
    allow_ip_literals: bool = False
    allow_loopback: bool = False  # a push service on 127.0.0.1 / ::1 (tests, benches); never anything else

    @classmethod
    def local_testing(cls) -> EgressPolicy:
        """http or https, any port, IP literals, loopback: for local test servers only."""
        return cls(schemes=frozenset({"https", "http"}), ports=None, allow_ip_literals=True, allow_loopback=True)

    def address_refused(self, address: str) -> str | None:
        if self.allow_loopback and _is_plain_loopback(address):
            return None
        return address_problem(address)


@dataclass(frozen=True)
class Destination:
    """A vetted request target: connect to `addresses` (in order), send `Host: host_header`, verify TLS for `host`."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    host_header: str = field(default="")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    bracketed: bool


def _split(url: str) -> tuple[SplitResult, int | None]:
    """The URL's parts and explicit port; refused when it is not plain ASCII or does not parse."""
    if not isinstance(url, str) or not _URL_CHARS.fullmatch(url) or "\\" in url:
        raise DestinationRefused("the URL has spaces, backslashes, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
        return parts, parts.port
    except ValueError:
        raise DestinationRefused("malformed URL") from None


def _parse(url: str, policy: EgressPolicy) -> _Target:
    parts, port = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        raise DestinationRefused(f"scheme must be {' or '.join(sorted(policy.schemes))}")
    if "@" in parts.netloc:
        raise DestinationRefused("credentials (userinfo) are not allowed in the URL")
    host = parts.hostname or ""
    bracketed = parts.netloc.startswith("[")
    if not host or not (bracketed or _HOST_NAME.fullmatch(host)):
        raise DestinationRefused("the host is not a valid host name")
    port = DEFAULT_PORTS[scheme] if port is None else port
    if policy.ports is not None and port not in policy.ports:
        raise DestinationRefused(f"port must be {' or '.join(map(str, sorted(policy.ports)))}")
    return _Target(scheme, host, port, bracketed)


def _ends_in_number(host: str) -> bool:
    """WHATWG URL rule: a host whose last label is numeric (`127.0.0.1.`, `1.0x7f`) is an IPv4 address to a browser."""
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return bool(_NUMERIC_LABEL.fullmatch(last))


def _is_local_name(host: str) -> bool:
    name = host.rstrip(".")
    return any(name == suffix or name.endswith("." + suffix) for suffix in LOCAL_SUFFIXES)


class EgressGuard:
    """Checks URLs against a policy, resolving names with an injectable resolver."""

    def __init__(self, policy: EgressPolicy | None = None, resolver: Resolver = system_resolver) -> None:
        self.policy = policy or EgressPolicy()
        self._resolve = resolver

    def check(self, url: str) -> Destination:
        """The vetted destination for `url`, or DestinationRefused / DestinationUnresolved / UnsafeAddress."""
        target = _parse(url, self.policy)
        addresses = self._literal(target)
        if addresses is None:
            addresses = self._resolved(target)
        self._vet(addresses)
        host = f"[{target.host}]" if target.bracketed else target.host
        default = DEFAULT_PORTS[target.scheme] == target.port
        return Destination(scheme=target.scheme, host=target.host, port=target.port, addresses=tuple(addresses),
                           host_header=host if default else f"{host}:{target.port}")

    def precheck(self, url: str) -> None:
        """Everything `check` refuses without a DNS lookup (form, literals, local names)."""
        target = _parse(url, self.policy)
        literal = self._literal(target)
        if literal is not None:
            self._vet(literal)

    def _vet(self, addresses: Sequence[str]) -> None:
        for address in addresses:
            problem = self.policy.address_refused(address)
            if problem:
                raise UnsafeAddress(f"the host resolves to a {problem}")

    def problem(self, url: str) -> str | None:
        """Why `url` is refused (None: allowed)."""
        try:
            self.check(url)
        except DestinationRefused as refused:
            return refused.reason
        return None

    def _literal(self, target: _Target) -> list[str] | None:
        """The addresses an IP-literal host spells (None: a name); refuses local names."""
        literal = numeric_host(target.host)
        if literal is not None or target.bracketed or _ends_in_number(target.host):
            if not self.policy.allow_ip_literals:
                raise DestinationRefused("an IP address instead of a host name")
            if literal is None or "%" in target.host:
                raise DestinationRefused("the host is not a valid IP address")
            return literal
        if _is_local_name(target.host) and not self.policy.allow_loopback:
            raise DestinationRefused("a local host name")
        return None

    def _resolved(self, target: _Target) -> list[str]:
        try:
            addresses = [str(a) for a in self._resolve(target.host, target.port)]
        except (OSError, UnicodeError):
            raise DestinationUnresolved("the host name does not resolve") from None
        if not addresses:
            raise DestinationUnresolved("the host name does not resolve")
        return addresses
