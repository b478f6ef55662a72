"""The broker lets in only who belongs (clause 17.2.14), on mosquitto and on the embedded broker:
TLS only, a certificate from the rig's CA, and each hub confined to its own topics."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.rig import HEADEND_IDENTITY, BrokerKind
from tests.tls_clients import Client, SecureBroker, context
from tools.broker import hub_topics
from tools.broker_acl import may_publish, may_subscribe, overlaps
from tools.pki import common_name, ensure_pki

pytestmark = pytest.mark.timeout(60)

GRANTS = {
    "hub-a": (hub_topics("hub-a"),),
    "hub-b": (hub_topics("hub-b"),),
    HEADEND_IDENTITY: (hub_topics("hub-a"), hub_topics("hub-b")),
}


@pytest.fixture(params=[BrokerKind.MOSQUITTO, BrokerKind.EMBEDDED], ids=lambda k: k.value)
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecureBroker]:
    secured = SecureBroker.start(request.param, tmp_path, GRANTS)
    yield secured
    secured.stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def connected(broker: SecureBroker, identity: str, made: list[Client]) -> Client:
    client = Client(broker.port, broker.tls(identity))
    made.append(client)
    assert client.connect(), f"{identity} was refused"
    return client


@pytest.mark.req("17.2.14")
def test_anonymous_plain_client_is_refused(broker: SecureBroker, clients: list[Client]) -> None:
    client = Client(broker.port, None)
    clients.append(client)
    assert not client.connect()


@pytest.mark.req("17.2.14")
def test_tls_client_without_certificate_is_refused(
    broker: SecureBroker, clients: list[Client]
) -> None:
    client = Client(broker.port, context(broker.pki.ca_cert))
    clients.append(client)
    assert not client.connect()


@pytest.mark.req("17.2.14")
def test_certificate_of_another_ca_is_refused(
    broker: SecureBroker, clients: list[Client], tmp_path: Path
) -> None:
    stranger = ensure_pki(tmp_path / "stranger", ("127.0.0.1",), ("hub-a",)).client("hub-a")
    # It trusts the rig's broker, but its own certificate is from a CA the broker does not know.
    client = Client(broker.port, context(broker.pki.ca_cert, stranger.cert, stranger.key))
    clients.append(client)
    assert not client.connect()


@pytest.mark.req("17.2.14")
def test_headend_commands_its_hub_and_hears_it(broker: SecureBroker, clients: list[Client]) -> None:
    headend = connected(broker, HEADEND_IDENTITY, clients)
    hub = connected(broker, "hub-a", clients)
    hub.subscribe("smartmeter/v1/hub-a/cmd")
    headend.subscribe("smartmeter/v1/hub-a/ack")
    headend.publish("smartmeter/v1/hub-a/cmd", b"read")
    assert ("smartmeter/v1/hub-a/cmd", b"read") in hub.wait_for("smartmeter/v1/hub-a/cmd")
    hub.publish("smartmeter/v1/hub-a/ack", b"ok")
    assert ("smartmeter/v1/hub-a/ack", b"ok") in headend.wait_for("smartmeter/v1/hub-a/ack")


@pytest.mark.req("17.2.14")
def test_a_hub_cannot_hear_another_hubs_commands(
    broker: SecureBroker, clients: list[Client]
) -> None:
    headend = connected(broker, HEADEND_IDENTITY, clients)
    spy = connected(broker, "hub-a", clients)
    # mosquitto 2.0 grants such subscriptions and filters what it delivers; the embedded broker
    # refuses them (0x80). Either way nothing of hub-b's may reach hub-a.
    codes = spy.subscribe(
        "smartmeter/v1/hub-b/cmd", "smartmeter/v1/+/cmd", "#", hub_topics("hub-a")
    )
    assert not codes[3].is_failure
    headend.publish("smartmeter/v1/hub-b/cmd", b"secret")
    # The head-end's next message, to the spy's own topic, arrives after it would have.
    headend.publish("smartmeter/v1/hub-a/cmd", b"marker")
    seen = spy.wait_for("smartmeter/v1/hub-a/cmd")
    assert all(payload != b"secret" for _, payload in seen)


@pytest.mark.req("17.2.14")
def test_a_hub_cannot_speak_for_another_hub(broker: SecureBroker, clients: list[Client]) -> None:
    headend = connected(broker, HEADEND_IDENTITY, clients)
    headend.subscribe(hub_topics("hub-a"), hub_topics("hub-b"))
    forger = connected(broker, "hub-a", clients)
    forger.publish("smartmeter/v1/hub-b/event", b"forged")
    forger.publish("smartmeter/v1/hub-a/event", b"marker")
    seen = headend.wait_for("smartmeter/v1/hub-a/event")
    assert ("smartmeter/v1/hub-b/event", b"forged") not in seen


@pytest.mark.req("17.2.10")
def test_keys_are_private_and_made_once(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path / "pki", ("127.0.0.1",), ("hub-a", HEADEND_IDENTITY))
    keys = [first.ca_key, first.broker.key, first.client("hub-a").key]
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    before = {path: path.read_bytes() for path in [*keys, first.client("hub-a").cert]}
    again = ensure_pki(tmp_path / "pki", ("127.0.0.1",), ("hub-a", HEADEND_IDENTITY, "hub-b"))
    assert {path: path.read_bytes() for path in before} == before
    assert common_name(again.client("hub-b").cert) == "hub-b"
    assert common_name(again.client(HEADEND_IDENTITY).cert) == HEADEND_IDENTITY


LEVEL = st.sampled_from(["smartmeter", "v1", "hub-a", "hub-b", "cmd", "x", "+"])


@pytest.mark.req("17.2.14")
@given(st.lists(LEVEL, min_size=1, max_size=5), st.booleans())
def test_only_a_hubs_own_topics_pass_its_grant(levels: list[str], hash_tail: bool) -> None:
    grant = hub_topics("hub-a")
    wanted = "/".join([*levels, "#"] if hash_tail else levels)
    concrete = "/".join(level if level != "+" else "x" for level in levels)
    # Publishing (and delivery) is exact; a subscription passes if it could match a granted
    # topic, which every concrete topic it matches and the grant also matches proves.
    assert may_publish(concrete, [grant]) == concrete.startswith("smartmeter/v1/hub-a/")
    if may_publish(concrete, [grant]):
        assert may_subscribe(wanted, [grant])
    assert overlaps(wanted, grant) == overlaps(grant, wanted)
