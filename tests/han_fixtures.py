"""In-process HAN pieces for tests: an air, emulated NCPs, a coordinator and joining radios.

Everything here is the real code path (bellows, zigpy, our NCP and frames); only the process
boundary is removed, so a test can watch both ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import zigpy.config as zc
import zigpy.types as zt

from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.ncp.runner import EmulatedNcp, HostLink
from hal.ezsp_node import EzspNodeRadio
from hal.radio import EndpointDescriptor
from hal.real.ezsp_dongle import EzspDongle
from hub.han.se_controller import SmartEnergyController
from protocol.ieee802154 import eui64_to_str

HUB_EUI64 = 0x000D6F0000000001
METER_EUI64 = 0x000D6F0000001001
IHD_EUI64 = 0x000D6F0000003001
METER_ENDPOINT = EndpointDescriptor(1, 0x0501, (0x0702,), (0x000A,))


async def start_ncp(
    air: AirChannel, eui64: int, name: str, version: int = 13, host_link: HostLink = HostLink.TCP
) -> EmulatedNcp:
    ncp = EmulatedNcp(eui64, InProcessRadioLink(air, eui64, name), version, name)
    await ncp.start(host_link)
    return ncp


@contextlib.asynccontextmanager
async def coordinator(
    air: AirChannel, version: int = 13, host_link: HostLink = HostLink.TCP
) -> AsyncIterator[tuple[SmartEnergyController, EmulatedNcp]]:
    ncp = await start_ncp(air, HUB_EUI64, "hub", version, host_link)
    config: dict[str, Any] = {
        zc.CONF_DEVICE: {zc.CONF_DEVICE_PATH: ncp.url},
        zc.CONF_DATABASE: None,
        zc.CONF_NWK_BACKUP_ENABLED: False,
        zc.CONF_TOPO_SCAN_ENABLED: False,
        zc.CONF_NWK: {zc.CONF_NWK_CHANNEL: 15},
        "use_thread": False,
    }
    app = await SmartEnergyController.new(config, auto_form=True, start_radio=True)
    try:
        yield app, ncp
    finally:
        await app.shutdown()
        await ncp.stop()


async def permit(app: SmartEnergyController, eui64: int, link_key: bytes) -> None:
    await app.permit_with_link_key(zt.EUI64.convert(eui64_to_str(eui64)), zt.KeyData(link_key), 60)


@contextlib.asynccontextmanager
async def joining_radio(
    air: AirChannel,
    eui64: int,
    name: str,
    version: int = 13,
    router: bool = True,
    host_link: HostLink = HostLink.TCP,
) -> AsyncIterator[tuple[EzspNodeRadio, EmulatedNcp, list[Any]]]:
    ncp = await start_ncp(air, eui64, name, version, host_link)
    radio = EzspNodeRadio(EzspDongle(ncp.url))
    received: list[Any] = []
    await radio.connect(METER_ENDPOINT, router=router, on_message=received.append)
    try:
        yield radio, ncp, received
    finally:
        await radio.close()
        await ncp.stop()


@dataclasses.dataclass
class JoinedPair:
    """A meter (router) and an IHD (end device) joined to a coordinator on one air."""

    app: SmartEnergyController
    meter: EzspNodeRadio
    meter_inbox: list[Any]
    ihd: EzspNodeRadio
    ihd_ncp: EmulatedNcp


@contextlib.asynccontextmanager
async def joined_pair(air: AirChannel, link_key: bytes) -> AsyncIterator[JoinedPair]:
    async with coordinator(air) as (app, _hub):
        await permit(app, METER_EUI64, link_key)
        await permit(app, IHD_EUI64, link_key)
        async with (
            joining_radio(air, METER_EUI64, "esme") as (meter, _meter_ncp, meter_inbox),
            joining_radio(air, IHD_EUI64, "ihd", router=False) as (ihd, ihd_ncp, _),
        ):
            await meter.join(link_key=link_key, channel=15)
            await ihd.join(link_key=link_key, channel=15)
            yield JoinedPair(app, meter, meter_inbox, ihd, ihd_ncp)
