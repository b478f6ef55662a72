"""The hub's WAN port in memory, for outbox unit tests: uplinks go straight into a real head-end
store (`tools.headend.store`), whose acknowledgements come back to the outbox. Loss of uplinks
and of acknowledgements, and the link going down, are in the test's hands."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from hal.wan import CommandHandler, RefusalHandler, UplinkAckHandler
from hal.wan_codec import WanCodec
from protocol.errors import TransientLinkError
from protocol.wan import UplinkAck, UplinkMessage
from tools.headend.store import HeadendStore

HUB_ID = "hub-t"


class LoopbackWan:
    def __init__(self, db: Path, loss: float = 0.0, seed: int = 0) -> None:
        self.headend = HeadendStore(db)
        self.connected = True
        self.sent: list[UplinkMessage] = []
        self.loss = loss
        self.lose_acks = False
        self._random = random.Random(seed)
        self._on_ack: UplinkAckHandler | None = None

    async def start(
        self,
        handler: CommandHandler,
        on_refused: RefusalHandler | None = None,
        on_uplink_ack: UplinkAckHandler | None = None,
        codec: WanCodec | None = None,
    ) -> None:
        self._on_ack = on_uplink_ack

    async def stop(self) -> None:
        self.headend.close()

    async def publish_uplink(self, message: UplinkMessage, timeout: float = 5.0) -> None:
        if not self.connected:
            raise TransientLinkError("link down")
        self.sent.append(message)
        if self._random.random() < self.loss:
            return  # lost on the way up
        upto, _kept = self.headend.record_uplink(HUB_ID, message, message.at)
        if self._on_ack is not None and not self.lose_acks and self._random.random() >= self.loss:
            asyncio.get_running_loop().call_soon(self._on_ack, UplinkAck(message.source, upto))

    def kept(self, source: str) -> list[int]:
        """Sequence numbers the head-end kept for `source`, in the order it kept them."""
        return [u["seq"] for u in self.headend.uplinks(HUB_ID, source)]
