"""The air is a process that may die and come back: an emulated radio's TCP link to it connects
again by itself, and frames flow again (issue 7: every component reconnects to the air)."""

from __future__ import annotations

import pytest

from hal.emulated.air_channel import AirChannel
from hal.emulated.air_server import AirServer
from hal.emulated.air_tcp_link import TcpRadioLink
from protocol.air_link import Receive
from protocol.errors import TransientLinkError
from tests.ports import reserve_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(30)


async def test_radios_come_back_on_a_restarted_air() -> None:
    port = reserve_port()
    air = AirServer(AirChannel(), "127.0.0.1", port)
    await air.start()
    a, b = TcpRadioLink("127.0.0.1", port, 1, "a"), TcpRadioLink("127.0.0.1", port, 2, "b")
    heard: list[Receive] = []
    await a.open(lambda frame: None)
    await b.open(heard.append)
    try:
        await air.stop()  # the air process dies
        await eventually(lambda: not a.on_air and not b.on_air, 5, "both radios off the air")
        a.transmit(15, b"lost")  # nobody to carry it: dropped, no error
        air = AirServer(AirChannel(), "127.0.0.1", port)  # ... and is restarted, empty
        await air.start()
        await eventually(lambda: len(air.channel.nodes) == 2, 10, "both radios back on the air")
        assert a.connections == b.connections == 2
        a.transmit(15, b"\x41\x88back")
        await eventually(lambda: [f.psdu for f in heard] == [b"\x41\x88back"], 5, "a frame again")
    finally:
        await a.close()
        await b.close()
        await air.stop()


async def test_opening_without_an_air_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import hal.emulated.air_tcp_link as link_module

    monkeypatch.setattr(link_module, "OPEN_WAIT_S", 0.3)
    link = TcpRadioLink("127.0.0.1", reserve_port(), 1, "a")
    with pytest.raises(TransientLinkError, match="cannot reach the air"):
        await link.open(lambda frame: None)
