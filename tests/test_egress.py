"""The push-endpoint guard (SSRF): every spelling of an internal address is refused, by name or literal.

All offline: names resolve through tests.push_dns.StaticResolver; IP literals are parsed by the C
library's numeric parser (AI_NUMERICHOST), which never sends a DNS query.
"""

from __future__ import annotations

import pytest

from chalicelib.notify.egress import (
    DestinationRefused,
    DestinationUnresolved,
    EgressGuard,
    EgressPolicy,
    UnsafeAddress,
    address_problem,
    numeric_host,
    system_resolver,
)
from tests.push_dns import PUBLIC_TEST_ADDRESS, StaticResolver

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these

# Every non-public class, v4 and v6, including the spellings `is_global` alone lets through
# on Python 3.11 (multicast, NAT64/6to4/IPv4-compatible forms of loopback, site-local).
REFUSED_ADDRESSES = [
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",  # noqa: S104 - an address under test, not a bind
    "192.168.0.1", "192.168.255.255", "100.64.0.1", "100.127.255.255", "169.254.169.254", "169.254.170.2",
    "169.254.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "198.51.100.7", "203.0.113.9", "192.0.0.8",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:8.8.8.8",
    "::127.0.0.1", "::7f00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "64:ff9b:1::808:808",
    "2002:7f00:1::1", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fd00:ec2::254", "fd00:ec2::23",
    "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%2", "fec0::1", "ff02::1", "ff0e::1", "2001:db8::1", "100::1",
]
PUBLIC_ADDRESSES = ["8.8.8.8", "93.184.215.14", "142.250.180.10", "2606:4700::1111", "2a00:1450:4009:81f::200a",
                    "64:ff9b::808:808"]

# IP literals in the spellings the socket layer accepts and `ipaddress` does not.
LITERAL_ENDPOINTS = [
    "https://127.0.0.1/", "https://2130706433/", "https://0x7f000001/", "https://0x7F000001/", "https://0177.0.0.1/",
    "https://017700000001/", "https://127.1/", "https://127.0.1/", "https://0x7f.1/", "https://127.0.0.1./",
    "https://0/", "https://0.0.0.0/", "https://169.254.169.254/", "https://2852039166/", "https://0xa9fea9fe/",
    "https://0251.0376.0251.0376/", "https://169.254.43518/", "https://10.1/", "https://192.168.1/",
    "https://[::1]/", "https://[::]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/",
    "https://[0:0:0:0:0:ffff:7f00:1]/", "https://[fd00:ec2::254]/", "https://[fe80::1%25eth0]/",
    "https://[64:ff9b::7f00:1]/", "https://8.8.8.8/", "https://[2606:4700::1111]/",
]


def guard(table: dict[str, list[str]] | None = None, policy: EgressPolicy | None = None) -> tuple[EgressGuard, StaticResolver]:
    resolver = StaticResolver(table, suffix="")
    return EgressGuard(policy, resolver=resolver), resolver


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_every_non_public_address_class_is_refused(address: str) -> None:
    assert address_problem(address) is not None


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_unicast_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_refused_address_is_refused(address: str) -> None:
    checker, resolver = guard({"push.example": [address]})
    with pytest.raises(UnsafeAddress):
        checker.check("https://push.example/wpush/v2/abc")
    assert resolver.calls == [("push.example", 443)]


@pytest.mark.parametrize("addresses", [
    [PUBLIC_TEST_ADDRESS, "10.0.0.1"], ["10.0.0.1", PUBLIC_TEST_ADDRESS], ["2606:4700::1111", "::1"],
    [PUBLIC_TEST_ADDRESS, "2606:4700::1111", "169.254.169.254"]])
def test_one_refused_address_among_public_ones_refuses_the_name(addresses: list[str]) -> None:
    checker, _ = guard({"push.example": addresses})
    with pytest.raises(UnsafeAddress, match="resolves to"):
        checker.check("https://push.example/x")


def test_a_public_name_gives_its_vetted_addresses_and_host() -> None:
    checker, _ = guard({"fcm.googleapis.com": ["142.250.180.10", "2a00:1450:4009:81f::200a"]})
    destination = checker.check("https://FCM.googleapis.com:443/fcm/send/abc?x=1")
    assert destination.addresses == ("142.250.180.10", "2a00:1450:4009:81f::200a")
    assert (destination.scheme, destination.host, destination.port, destination.host_header) == (
        "https", "fcm.googleapis.com", 443, "fcm.googleapis.com")


@pytest.mark.parametrize("endpoint", LITERAL_ENDPOINTS)
def test_ip_literals_are_refused_in_every_spelling_without_a_lookup(endpoint: str) -> None:
    checker, resolver = guard()
    with pytest.raises(DestinationRefused, match="IP address"):
        checker.check(endpoint)
    assert resolver.calls == []


@pytest.mark.parametrize("endpoint", [e for e in LITERAL_ENDPOINTS if "8.8.8.8" not in e and "2606:" not in e])
def test_literals_are_judged_by_the_address_they_spell_when_literals_are_allowed(endpoint: str) -> None:
    # A second, independent layer: even a policy that accepts IP literals (and the local-testing
    # policy, which accepts loopback) refuses these by the address the socket layer would dial.
    checker, _ = guard(policy=EgressPolicy(allow_ip_literals=True))
    with pytest.raises(DestinationRefused):
        checker.check(endpoint)
    local, _ = guard(policy=EgressPolicy.local_testing())
    if not any(loop in endpoint for loop in ("127.", "2130706433", "0x7f", "0x7F", "0177", "017700000001", "[::1]")):
        with pytest.raises(DestinationRefused):
            local.check(endpoint)


def test_numeric_spellings_are_what_the_socket_layer_dials() -> None:
    # The default resolver is getaddrinfo: these never reach DNS and give loopback / metadata.
    assert system_resolver("2130706433", 443) == ["127.0.0.1"]
    assert numeric_host("0x7f000001") == numeric_host("0177.0.0.1") == numeric_host("127.1") == ["127.0.0.1"]
    assert numeric_host("0xa9fea9fe") == ["169.254.169.254"]
    assert numeric_host("push.example") is None


@pytest.mark.parametrize("endpoint", [
    "https://localhost/x", "https://localhost./x", "https://LOCALHOST/x", "https://api.localhost/x",
    "https://metadata.google.internal/computeMetadata/v1/", "https://printer.local/x", "https://router.home.arpa/x",
    "https://box.localdomain/x"])
def test_local_names_are_refused_whatever_dns_says(endpoint: str) -> None:
    checker, resolver = guard({"localhost": [PUBLIC_TEST_ADDRESS]})
    with pytest.raises(DestinationRefused, match="local host name"):
        checker.check(endpoint)
    assert resolver.calls == []


@pytest.mark.parametrize(("endpoint", "reason"), [
    ("http://push.example/x", "scheme"), ("ftp://push.example/x", "scheme"), ("file:///etc/passwd", "scheme"),
    ("gopher://push.example/x", "scheme"), ("//push.example/x", "scheme"),
    ("https://push.example:8443/x", "port"), ("https://push.example:80/x", "port"), ("https://push.example:0/x", "port"),
    ("https://push.example:65536/x", "malformed"), ("https://push.example:-1/x", "malformed"),
    ("https://user@push.example/x", "userinfo"), ("https://user:pw@push.example/x", "userinfo"),
    ("https://push.example@127.0.0.1/x", "userinfo"), ("https://@push.example/x", "userinfo"),
    ("https://push.example\\@127.0.0.1/x", "backslashes"), ("https://push.example /x", "spaces"),
    ("https://push.example\t/x", "spaces"), ("https://push.example\n.evil/x", "spaces"),
    ("https://p\u0578sh.example/x", "non-ASCII"), ("https:///x", "host"), ("https://%31%32%37.0.0.1/x", "host"),
    ("https://push_service.example/x", "host"), ("https://-push.example/x", "host"), ("https://push..example/x", "host"),
    ("https://[push.example]/x", "malformed"),
])
def test_malformed_or_off_policy_urls_are_refused_before_any_lookup(endpoint: str, reason: str) -> None:
    checker, resolver = guard({"push.example": [PUBLIC_TEST_ADDRESS]})
    with pytest.raises(DestinationRefused, match=reason):
        checker.check(endpoint)
    assert resolver.calls == []


def test_a_name_that_does_not_resolve_is_unresolved() -> None:
    checker, _ = guard({"empty.example": []})
    for endpoint in ("https://nowhere.example/x", "https://empty.example/x"):
        with pytest.raises(DestinationUnresolved):
            checker.check(endpoint)


def test_local_testing_policy_allows_loopback_only() -> None:
    checker, _ = guard({"push.example": ["127.0.0.1"], "meta.example": ["169.254.169.254"],
                        "lan.example": ["192.168.1.10"], "mapped.example": ["::ffff:10.0.0.1"]},
                       policy=EgressPolicy.local_testing())
    assert checker.check("http://push.example:8080/x").addresses == ("127.0.0.1",)
    assert checker.check("http://127.0.0.1:8080/x").host_header == "127.0.0.1:8080"
    for endpoint in ("http://meta.example/x", "http://lan.example/x", "http://mapped.example/x",
                     "http://169.254.169.254/latest/meta-data/", "http://[::ffff:7f00:1]:8080/x"):
        assert checker.problem(endpoint) is not None, endpoint
