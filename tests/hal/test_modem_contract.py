"""The WAN bearer port's contract (`hal.modem.Modem`, clauses 6.1.6 and 6.1.7), run against its
emulated GPRS modem and its plain IP backend, and what only the emulated modem can do."""

from __future__ import annotations

import pytest

from hal.emulated.modem import EmulatedModem
from hal.modem import BearerState, Modem, Registration, SignalQuality
from hal.ports import PortError
from hal.real.ip_bearer import IpBearer


@pytest.fixture(params=["gprs", "ip"])
def modem(request: pytest.FixtureRequest) -> Modem:
    return EmulatedModem("smartmeter.m2m") if request.param == "gprs" else IpBearer()


class TestModemContract:
    @pytest.mark.req("6.1.6")
    def test_it_starts_attached_and_says_what_it_is(self, modem: Modem) -> None:
        assert isinstance(modem, Modem)
        state = modem.state()
        assert state.attached and state.registration in (Registration.HOME, Registration.ROAMING)
        report = state.report()
        assert report["kind"] == state.kind and report["attached"] is True
        assert report["creg"] == f"+CREG: 0,{int(state.registration)}"
        assert report["csq"] == f"+CSQ: {state.signal.rssi},{state.signal.ber}"

    @pytest.mark.req("6.1.6")
    def test_a_value_no_modem_reports_is_refused(self, modem: Modem) -> None:
        with pytest.raises(PortError):
            modem.set(rssi=32)
        with pytest.raises(PortError):
            modem.set(ber=8)
        assert modem.state().attached


@pytest.mark.req("6.1.6")
@pytest.mark.parametrize(("rssi", "dbm"), [(0, -113), (15, -83), (31, -51), (99, None)])
def test_signal_quality_as_at_csq_gives_it(rssi: int, dbm: int | None) -> None:
    assert SignalQuality(rssi, 0).dbm == dbm


@pytest.mark.req("6.1.6")
def test_pulling_the_sim_detaches_and_is_heard_by_every_listener() -> None:
    modem = EmulatedModem("smartmeter.m2m")
    first: list[BearerState] = []
    second: list[BearerState] = []
    modem.add_listener(first.append)
    modem.add_listener(second.append)
    modem.set(sim_present=False)
    modem.set(sim_present=True)
    assert [s.attached for s in first] == [False, True]
    assert first == second
    assert first[0].registration is Registration.NOT_REGISTERED
    assert first[1].registration is Registration.HOME  # a SIM put back registers again


@pytest.mark.req("6.1.6")
@pytest.mark.parametrize("registration", list(Registration))
def test_only_home_or_roaming_is_attached(registration: Registration) -> None:
    modem = EmulatedModem("apn")
    state = modem.set(registration=registration)
    assert state.attached == (registration in (Registration.HOME, Registration.ROAMING))


@pytest.mark.req("6.1.6")
def test_setting_the_same_state_tells_nobody() -> None:
    modem = EmulatedModem("apn")
    heard: list[BearerState] = []
    modem.add_listener(heard.append)
    modem.set(rssi=modem.state().signal.rssi)
    assert heard == []
    modem.set(rssi=20, ber=3, apn="other.apn")
    assert [(s.signal, s.apn) for s in heard] == [(SignalQuality(20, 3), "other.apn")]


def test_a_plain_ip_bearer_has_nothing_to_set() -> None:
    with pytest.raises(PortError, match="plain IP"):
        IpBearer().set(sim_present=False)
