"""The meter as the price server of its own tariff: Price (0x0700, SE 1.4 annex D.4).

A GB meter is the source of truth for its tariff, so it serves the Price cluster itself, as an SE
ESME or GSME does, and every HAN device (the IHD) hears prices from it:

- GetCurrentPrice is answered with PublishPrice, and the asker is remembered as a price client
  (in the store, so a restarted meter keeps telling it): every change of the price in force (a
  time-of-use switch, a new tariff at its effective instant, a CPP event's start and end) is
  pushed to it at once with PublishPrice (16.20);
- GetTariffInformation, GetPriceMatrix (split over several commands, each one frame), GetBlock-
  Thresholds, GetBlockPeriod(s), GetBillingPeriod, GetConversionFactor, GetCalorificValue are
  answered with their Publish commands; a new passive tariff is announced with
  PublishTariffInformation and PublishPriceMatrix, a withdrawn one with CancelTariff, a CPP event
  with PublishCPPEvent; when the active tariff's block thresholds or its block period change (a
  new tariff in force, a new block period), PublishBlockThresholds and PublishBlockPeriod are
  pushed at once, as prices are (16.20, 16.19);
- CPPEventResponse is the consumer's answer to a refusable CPP event (16.11.8), handed to the
  firmware, which records it and tells the head-end;
- the attributes of the Tier Label, Block Price (tier N block 1), Commodity, Tariff Information
  and Billing Information sets describe the active tariff.

Commands sent beyond the one answer of a request (the rest of a split matrix, pushes) go to
`outbox`; the firmware sends them after the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from zigpy.zcl import foundation

from firmware.zcl.cluster_server import (
    AttributeBinding,
    ClusterResponse,
    ClusterServer,
    CommandRequest,
    ZclStatusError,
)
from firmware.zcl.reporting import Destination
from hal.ports import NonVolatileStore
from protocol.se import Price
from protocol.se.price_types import CppAuth, TierBlockMode
from protocol.se.types import TrailingDigit
from protocol.tariff.model import BlockTariff, CppEvent, Fuel, Tariff

from . import price_publish as publish
from .price_publish import CURRENCY_CODES, PRICE_TRAILING_DIGIT, HanPrice, tier_prices, utc_time

#: PriceTrailingDigit and friends: six digits right of the point (millionths).
_TRAILING = TrailingDigit(reserved=0, digits=PRICE_TRAILING_DIGIT)
__all__ = ["PriceServer", "PriceSource"]

_NAMESPACE = "meter_price"
#: Price clients remembered (an IHD, a CAD or two; the oldest is forgotten past this).
MAX_CLIENTS = 8
_LABEL_TIERS = range(1, 16)
Status = foundation.Status


class PriceSource(Protocol):
    """What the price server asks of the meter's tariff."""

    def active_tariff(self) -> tuple[int, Tariff] | None: ...

    def passive_tariff(self) -> tuple[int, Tariff] | None: ...

    def han_price(self) -> HanPrice | None: ...

    def billing_period(self) -> tuple[datetime, int] | None: ...

    def cpp_events(self) -> list[tuple[CppEvent, CppAuth]]: ...

    def suppressed(self, item: str) -> bool:
        """Whether the tariff item (12.1.a-e: "tiers", "block_period", ...) is suppressed."""
        ...


Blocks = tuple[int, tuple[tuple[int, tuple[int, ...]], ...], int]


@dataclass(frozen=True)
class _BlockCache:
    """The active tariff's block thresholds and block period, kept until the tariff or the
    period changes: `blocks_in_force` runs on every 1 s sample, and an idle meter should not
    rebuild tables that change once a day at most."""

    tariff_id: int
    tariff: Tariff
    table: tuple[tuple[int, tuple[int, ...]], ...]
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class _Push:
    destination: Destination
    command: ClusterResponse


class PriceServer:
    """The Price cluster server of a meter (see the module doc)."""

    def __init__(
        self,
        source: PriceSource,
        store: NonVolatileStore,
        now: Callable[[], datetime],
        on_cpp_answer: Callable[[int, bool, Destination], bool],
    ) -> None:
        self._source = source
        self._store = store
        self._now = now
        self._on_cpp_answer = on_cpp_answer
        self._event_id = int(store.get(_NAMESPACE, "event_id", 0))
        self.clients: list[Destination] = [tuple(c) for c in store.get(_NAMESPACE, "clients", [])]
        self.outbox: list[tuple[Destination, ClusterResponse]] = []
        self._blocks: _BlockCache | None = None

    # -- what the firmware calls ---------------------------------------------------------

    def next_event_id(self) -> int:
        self._event_id = (self._event_id + 1) & 0xFFFFFFFF
        self._store.put(_NAMESPACE, "event_id", self._event_id)
        return self._event_id

    def push_price(self) -> None:
        """The price in force changed (16.20): PublishPrice to every client."""
        command = self._publish_price()
        if command is not None:
            self.outbox.extend((client, command) for client in self.clients)

    def push_tariff(self) -> None:
        """A new passive tariff: its information and price matrix to every client."""
        passive = self._source.passive_tariff()
        if passive is None:
            return
        commands = self._tariff_commands(*passive)
        self.outbox.extend((client, c) for client in self.clients for c in commands)

    def push_cancel(self, tariff_id: int) -> None:
        command = publish.cancel_tariff(tariff_id)
        self.outbox.extend((client, command) for client in self.clients)

    def blocks_in_force(self) -> Blocks | None:
        """What the clients may know of the active tariff's blocks: (tariff id, thresholds per
        tier, start of the block period); None without thresholds or a block period. The
        thresholds while "tiers" is suppressed and the period while "block_period" is are
        left out: a suppressed item is not told to the HAN (12.1.c, e)."""
        cache = self._block_cache()
        if cache is None:
            return None
        table = () if self._source.suppressed("tiers") else cache.table
        start = None if self._source.suppressed("block_period") else cache.start
        if not table and start is None:
            return None
        return cache.tariff_id, table, 0 if start is None else utc_time(start)

    def _block_cache(self) -> _BlockCache | None:
        """The active tariff's blocks, rebuilt only for another tariff or past its period."""
        active = self._source.active_tariff()
        if active is None:
            self._blocks = None
            return None
        tariff_id, tariff = active
        cache, now = self._blocks, self._now()
        if cache is not None and cache.tariff_id == tariff_id and cache.tariff is tariff:
            if cache.start is None or cache.start <= now < (cache.end or now):
                return cache
            table = cache.table
        else:
            table = tuple((tier, tuple(limits)) for tier, limits in publish.threshold_table(tariff))
        start = publish.block_period_start(tariff, now)
        end = None
        if start is not None and isinstance(tariff.structure, BlockTariff):
            end_day = start.date() + timedelta(days=tariff.structure.period_days)
            end = datetime.combine(end_day, time.min, start.tzinfo)
        self._blocks = _BlockCache(tariff_id, tariff, table, start, end)
        return self._blocks

    def push_blocks(self) -> None:
        """The block thresholds or the block period changed: PublishBlockThresholds and
        PublishBlockPeriod to every client at once (16.20), each unless its item is
        suppressed (12.1.c, e)."""
        active = self._source.active_tariff()
        if active is None or not self.clients:
            return
        tariff_id, tariff = active
        event_id = self.next_event_id()
        commands = self._thresholds(tariff, tariff_id, event_id)
        period = self._period(tariff, self._now(), event_id)
        if period is not None:
            commands.append(period)
        self.outbox.extend((client, c) for client in self.clients for c in commands)

    def _thresholds(self, tariff: Tariff, tariff_id: int, event_id: int) -> list[ClusterResponse]:
        if self._source.suppressed("tiers"):
            return []
        return publish.block_thresholds(tariff, tariff_id, event_id)

    def _period(self, tariff: Tariff, at: datetime, event_id: int) -> ClusterResponse | None:
        if self._source.suppressed("block_period"):
            return None
        return publish.block_period(tariff, at, event_id)

    def push_cpp(self, event: CppEvent, auth: CppAuth) -> None:
        command = publish.cpp_event(event, auth)
        self.outbox.extend((client, command) for client in self.clients)

    def take_outbox(self) -> list[tuple[Destination, ClusterResponse]]:
        taken, self.outbox = self.outbox, []
        return taken

    # -- the cluster ---------------------------------------------------------------------

    def cluster(self) -> ClusterServer:
        attributes: dict[str, AttributeBinding] = {
            "commodity_type": AttributeBinding(self._commodity),
            "standing_charge": AttributeBinding(self._standing_charge),
            "tariff_label": AttributeBinding(lambda: self._tariff_field(lambda t: t.name[:24], "")),
            "number_of_price_tiers_in_use": AttributeBinding(
                lambda: self._tariff_field(lambda t: min(len(tier_prices(t)), 0xFF), 0)
            ),
            "tier_block_mode": AttributeBinding(lambda: TierBlockMode.NotUsed),
            "unit_of_measure": AttributeBinding(lambda: 0),
            "currency": AttributeBinding(
                lambda: self._tariff_field(lambda t: CURRENCY_CODES[t.currency], 826)
            ),
            "price_trailing_digit": AttributeBinding(lambda: _TRAILING),
            "current_billing_period_start": AttributeBinding(
                lambda: utc_time(period[0]) if (period := self._source.billing_period()) else 0
            ),
            "current_billing_period_duration": AttributeBinding(
                lambda: period[1] if (period := self._source.billing_period()) else 0
            ),
        }
        for n in _LABEL_TIERS:
            attributes[f"tier{n}_price_label"] = AttributeBinding(self._tier(n, 1, ""))
            attributes[f"tier{n}_block1_price"] = AttributeBinding(self._tier(n, 2, 0))
        return ClusterServer(
            Price,
            attributes,
            {
                "get_current_price": self._get_current_price,
                "get_tariff_information": self._get_tariff_information,
                "get_price_matrix": self._get_price_matrix,
                "get_billing_period": self._get_billing_period,
                "get_block_thresholds": self._get_block_thresholds,
                "get_block_periods": self._get_block_periods,
                "get_conversion_factor": self._get_gas(0),
                "get_calorific_value": self._get_gas(1),
                "cpp_event_response": self._cpp_event_response,
                "price_acknowledgement": lambda request: None,
            },
        )

    def _commodity(self) -> int:
        active = self._source.active_tariff()
        return 1 if active is not None and active[1].fuel is Fuel.GAS else 0

    def _standing_charge(self) -> int:
        active = self._source.active_tariff()
        if active is None or active[1].standing_charge is None:
            return 0
        standing = active[1].standing_charge
        return max(0, standing.amount.value // 1000 // standing.period_days)

    def _tariff_field(self, read: Callable[[Tariff], Any], default: Any) -> Any:
        active = self._source.active_tariff()
        return default if active is None else read(active[1])

    def _tier(self, n: int, index: int, default: Any) -> Callable[[], Any]:
        def read() -> Any:
            active = self._source.active_tariff()
            if active is None:
                return default
            for tier, label, price in tier_prices(active[1]):
                if tier == n:
                    return label[:12].encode() if index == 1 else max(0, price)
            return default

        return read

    def _remember(self, client: Destination) -> None:
        if client in self.clients:
            return
        self.clients = [*self.clients, client][-MAX_CLIENTS:]
        self._store.put(_NAMESPACE, "clients", [list(c) for c in self.clients])

    def _publish_price(self) -> ClusterResponse | None:
        active, price = self._source.active_tariff(), self._source.han_price()
        if active is None or price is None:
            return None
        return publish.publish_price(active[1], price, self._now(), self.next_event_id())

    def _get_current_price(self, request: CommandRequest) -> ClusterResponse:
        if not request.broadcast:
            self._remember(request.source)
        command = self._publish_price()
        if command is None:
            raise ZclStatusError(Status.NOT_FOUND, "no tariff in force")
        return command

    def _tariff_commands(self, tariff_id: int, tariff: Tariff) -> list[ClusterResponse]:
        event_id = self.next_event_id()
        return [
            publish.tariff_information(tariff, tariff_id, event_id),
            *publish.price_matrix(tariff, tariff_id, event_id),
        ]

    def _answer_with(
        self, request: CommandRequest, commands: list[ClusterResponse]
    ) -> ClusterResponse:
        """The first command answers the request; the others follow it to the same client."""
        if not commands:
            raise ZclStatusError(Status.NOT_FOUND)
        self.outbox.extend((request.source, c) for c in commands[1:])
        return commands[0]

    def _get_tariff_information(self, request: CommandRequest) -> ClusterResponse:
        found = [t for t in (self._source.active_tariff(), self._source.passive_tariff()) if t]
        event_id = self.next_event_id()
        return self._answer_with(
            request, [publish.tariff_information(t, i, event_id) for i, t in found]
        )

    def _get_price_matrix(self, request: CommandRequest) -> ClusterResponse:
        wanted = int(request.args.issuer_tariff_id)
        for found in (self._source.active_tariff(), self._source.passive_tariff()):
            if found is not None and (wanted in (found[0], 0xFFFFFFFF)):
                return self._answer_with(
                    request, publish.price_matrix(found[1], found[0], self.next_event_id())
                )
        raise ZclStatusError(Status.NOT_FOUND, f"no tariff {wanted}")

    def _get_block_thresholds(self, request: CommandRequest) -> ClusterResponse:
        wanted = int(request.args.issuer_tariff_id)
        for found in (self._source.active_tariff(), self._source.passive_tariff()):
            if found is not None and wanted in (found[0], 0xFFFFFFFF):
                commands = self._thresholds(found[1], found[0], self.next_event_id())
                return self._answer_with(request, commands)
        raise ZclStatusError(Status.NOT_FOUND, f"no tariff {wanted}")

    def _get_block_periods(self, request: CommandRequest) -> ClusterResponse:
        active, period = self._source.active_tariff(), self._source.billing_period()
        command = (
            None
            if active is None
            else self._period(active[1], period[0] if period else self._now(), self.next_event_id())
        )
        if command is None:
            raise ZclStatusError(Status.NOT_FOUND, "no block tariff in force")
        return command

    def _get_billing_period(self, request: CommandRequest) -> ClusterResponse:
        active, period = self._source.active_tariff(), self._source.billing_period()
        if active is None or period is None:
            raise ZclStatusError(Status.NOT_FOUND, "no billing period")
        return publish.billing_period(active[1], period[0], period[1], self.next_event_id())

    def _get_gas(self, which: int) -> Callable[[CommandRequest], ClusterResponse]:
        def answer(request: CommandRequest) -> ClusterResponse:
            active = self._source.active_tariff()
            commands = [] if active is None else publish.gas_factors(active[1], 0, self._now())
            if not commands:
                raise ZclStatusError(Status.NOT_FOUND, "no gas conversion factors")
            return commands[which]

        return answer

    def _cpp_event_response(self, request: CommandRequest) -> None:
        auth = request.args.cpp_auth
        if auth not in (CppAuth.Accepted, CppAuth.Rejected):
            raise ZclStatusError(Status.INVALID_VALUE, "answer Accepted or Rejected")
        taken = self._on_cpp_answer(
            int(request.args.issuer_event_id), auth == CppAuth.Accepted, request.source
        )
        if not taken:
            raise ZclStatusError(Status.NOT_FOUND, "no refusable CPP event of that id")
