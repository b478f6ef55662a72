"""The rig's broker launcher (tools/broker.py), checked with mosquitto's own clients as oracle."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from firmware.rig import BrokerKind
from protocol.errors import ConfigError, TransientLinkError
from tests.ports import reserve_port
from tests.programs import require_program
from tools import broker
from tools.broker import (
    BrokerSpec,
    mosquitto_config,
    resolve_kind,
    start_broker,
    stop_broker,
    wait_for_port,
)

pytestmark = pytest.mark.integration


def run(program: str, *argv: str, timeout: float = 10.0) -> str:
    """Run one of mosquitto's own clients (the oracle); fails the test if it is not installed."""
    command = [require_program(program), *argv]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=True
    ).stdout


def as_read(text: str) -> BrokerKind:
    """A kind as an untyped caller hands it over (text, not yet checked): the spec converts it."""
    return cast(BrokerKind, text)


class Brokers:
    """The `started` fixture: call it to start a broker; `processes` are the ones still running."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def __call__(
        self, kind: BrokerKind, port: int | None = None, data_dir: Path | None = None
    ) -> BrokerSpec:
        if kind is BrokerKind.MOSQUITTO:
            require_program("mosquitto")
        spec = BrokerSpec(
            kind, "127.0.0.1", port or reserve_port(), data_dir or self.tmp_path / kind.value
        )
        self.processes.append(start_broker(spec))
        return spec


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Brokers]:
    """Start brokers through start_broker and always stop them."""
    brokers = Brokers(tmp_path)
    yield brokers
    for process in brokers.processes:
        stop_broker(process)


def test_mosquitto_config_names_listener_and_persistence(tmp_path: Path) -> None:
    text = mosquitto_config(BrokerSpec(BrokerKind.MOSQUITTO, "127.0.0.1", 1884, tmp_path))
    assert "listener 1884 127.0.0.1\n" in text
    assert "allow_anonymous true\n" in text
    assert f"persistence_location {tmp_path.resolve()}/\n" in text


def test_spec_checks_kind_and_port(tmp_path: Path) -> None:
    assert BrokerSpec(as_read("embedded"), "h", 1, tmp_path).kind is BrokerKind.EMBEDDED
    with pytest.raises(ConfigError, match="known: auto, mosquitto, embedded"):
        BrokerSpec(as_read("rabbit"), "h", 1883, tmp_path)
    with pytest.raises(ConfigError, match="port"):
        BrokerSpec(BrokerKind.AUTO, "h", 70000, tmp_path)


def test_auto_prefers_mosquitto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BrokerSpec(BrokerKind.AUTO, "127.0.0.1", 1883, tmp_path)
    monkeypatch.setattr(broker, "find_mosquitto", lambda: "/usr/sbin/mosquitto")
    assert resolve_kind(spec) is BrokerKind.MOSQUITTO
    monkeypatch.setattr(broker, "find_mosquitto", lambda: None)
    assert resolve_kind(spec) is BrokerKind.EMBEDDED


def test_missing_mosquitto_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "find_mosquitto", lambda: None)
    with pytest.raises(ConfigError, match="mosquitto is not installed"):
        start_broker(BrokerSpec(BrokerKind.MOSQUITTO, "127.0.0.1", reserve_port(), tmp_path))


def test_wait_for_port_gives_up() -> None:
    with pytest.raises(TransientLinkError, match="nothing listening"):
        wait_for_port("127.0.0.1", reserve_port(), 0.2)


def test_mosquitto_carries_and_persists_retained_messages(started: Brokers, tmp_path: Path) -> None:
    spec = started(BrokerKind.MOSQUITTO)
    port = str(spec.port)
    run(
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-t",
        "rig/check",
        "-m",
        "kept",
        "-r",
        "-q",
        "1",
    )
    assert (
        run("mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "rig/check", "-C", "1", "-W", "5")
        == "kept\n"
    )
    assert stop_broker(started.processes.pop()) == 0
    # Same data_dir, fresh process: the retained message comes back from the persistence file.
    started(BrokerKind.MOSQUITTO, spec.port, spec.data_dir)
    assert (
        run("mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "rig/check", "-C", "1", "-W", "5")
        == "kept\n"
    )


def test_port_in_use_is_reported(started: Brokers) -> None:
    spec = started(BrokerKind.MOSQUITTO)
    with pytest.raises(TransientLinkError, match="in use"):
        started(BrokerKind.MOSQUITTO, spec.port, spec.data_dir.parent / "second")


def test_embedded_broker_serves_and_stops_cleanly(started: Brokers) -> None:
    spec = started(BrokerKind.EMBEDDED)
    port = str(spec.port)
    run(
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-t",
        "rig/check",
        "-m",
        "hello",
        "-r",
        "-q",
        "1",
    )
    assert (
        run("mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "rig/check", "-C", "1", "-W", "5")
        == "hello\n"
    )
    assert stop_broker(started.processes.pop()) == 0  # SIGTERM is a clean exit
