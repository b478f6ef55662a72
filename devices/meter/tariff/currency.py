"""Turning a tariff and a CPP event into another currency at a conversion rate (12.1.q, 16.18).

Every price and amount is multiplied by the rate and rounded half to even to its own step
(UnitPrice: 1e-6 per kWh, Money: 1e-9); the same rule converts the money registers.
"""

from __future__ import annotations

from dataclasses import replace

from protocol.tariff import (
    Block,
    BlockTariff,
    ConversionRate,
    CppEvent,
    Currency,
    Matrix,
    SingleRate,
    StandingCharge,
    Structure,
    Tariff,
    TimeOfUse,
)

__all__ = ["convert_event", "convert_tariff"]


def _structure(structure: Structure, rate: ConversionRate) -> Structure:
    price = rate.convert_price
    if isinstance(structure, SingleRate):
        return replace(
            structure,
            import_price=price(structure.import_price),
            export_price=price(structure.export_price),
        )
    if isinstance(structure, TimeOfUse):
        registers = tuple(
            replace(r, import_price=price(r.import_price), export_price=price(r.export_price))
            for r in structure.registers
        )
        return replace(structure, registers=registers)
    if isinstance(structure, Matrix):
        rates = tuple(
            replace(
                r,
                import_prices=tuple(price(p) for p in r.import_prices),
                export_price=price(r.export_price),
            )
            for r in structure.rates
        )
        return replace(structure, rates=rates)
    assert isinstance(structure, BlockTariff)
    blocks = tuple(Block(b.label, price(b.import_price), b.up_to_wh) for b in structure.blocks)
    return replace(structure, blocks=blocks, export_price=price(structure.export_price))


def convert_tariff(tariff: Tariff, rate: ConversionRate, currency: Currency) -> Tariff:
    """`tariff` with its prices in `currency`; a pending switch to that currency is spent."""
    charge = tariff.standing_charge
    switch = tariff.currency_switch
    return replace(
        tariff,
        currency=currency,
        structure=_structure(tariff.structure, rate),
        standing_charge=None
        if charge is None
        else StandingCharge(rate.convert_money(charge.amount), charge.period_days),
        generation_discount=rate.convert_price(tariff.generation_discount),
        currency_switch=None if switch is None or switch.currency is currency else switch,
    )


def convert_event(event: CppEvent, rate: ConversionRate) -> CppEvent:
    first, second = event.prices
    return replace(event, prices=(rate.convert_price(first), rate.convert_price(second)))
