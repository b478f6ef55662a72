"""IEC 62056-21 mode C: byte-exact messages from the standard, and both roles back to back.

The table rows are the standard's own examples and layouts (IEC 62056-21:2002 6.3 and annex
A), with their BCCs worked out by hand: ``SOH P0 STX (00000000) ETX`` has BCC 0x60 and
``SOH B0 ETX`` 0x71 (DESIGN.md §8).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import LocalProtocolError
from protocol.iec62056_21.connection import Connection, Refused, Role, State
from protocol.iec62056_21.frames import (
    Ack,
    BaudChar,
    Command,
    DataMessage,
    DataReadout,
    DataSet,
    Identification,
    Message,
    ModeChar,
    Nak,
    OptionSelect,
    SignOnRequest,
    bcc,
    build_message,
    parse_message,
)
from protocol.iec62056_21.obis import Obis

WIRE: list[tuple[str, Message, bytes]] = [
    ("sign-on", SignOnRequest(), b"/?!\r\n"),
    ("sign-on with address", SignOnRequest("12345678"), b"/?12345678!\r\n"),
    (
        "identification",
        Identification("LGZ", BaudChar.B9600, "ZMD4104100"),
        b"/LGZ5ZMD4104100\r\n",
    ),
    (
        "identification, enhanced",
        Identification("EMH", BaudChar.B19200, "eHZ", "2"),
        b"/EMH6\\2eHZ\r\n",
    ),
    ("ACK option select, readout", OptionSelect(BaudChar.B9600, ModeChar.READOUT), b"\x06050\r\n"),
    (
        "ACK option select, programming",
        OptionSelect(BaudChar.B9600, ModeChar.PROGRAMMING),
        b"\x06051\r\n",
    ),
    (
        "readout with BCC",
        DataReadout(((DataSet("1.8.0", "0001234.5", "kWh"),), (DataSet("0.9.1", "120000"),))),
        b"\x021.8.0(0001234.5*kWh)\r\n0.9.1(120000)\r\n!\r\n\x03\x76",
    ),
    (
        "P0 password request",
        Command("P", "0", DataSet("", "00000000")),
        b"\x01P0\x02(00000000)\x03\x60",
    ),
    ("P1 password", Command("P", "1", DataSet("", "12345678")), b"\x01P1\x02(12345678)\x03\x69"),
    ("W1 write", Command("W", "1", DataSet("0.9.1", "120000")), b"\x01W1\x020.9.1(120000)\x03\x5d"),
    ("R1 read", Command("R", "1", DataSet("1.8.0", "")), b"\x01R1\x021.8.0()\x03\x5a"),
    ("B0 break", Command("B", "0"), b"\x01B0\x03\x71"),
    ("answer", DataMessage((DataSet("1.8.0", "42.0", "kWh"),)), b"\x021.8.0(42.0*kWh)\x03\x5d"),
    ("error", DataMessage((DataSet("", "ERR05"),)), b"\x02(ERR05)\x03\x42"),
    ("ACK", Ack(), b"\x06"),
    ("NAK", Nak(), b"\x15"),
]


@pytest.mark.parametrize(("name", "message", "wire"), WIRE, ids=[row[0] for row in WIRE])
def test_messages_on_the_wire(name: str, message: Message, wire: bytes) -> None:
    assert build_message(message) == wire
    assert parse_message(wire) == message
    if wire[:1] in (b"\x01", b"\x02"):
        assert bcc(wire[1:-1]) == wire[-1]


def test_bcc_of_the_known_frames() -> None:
    assert bcc(b"P0\x02(00000000)\x03") == 0x60
    assert bcc(b"B0\x03") == 0x71


@pytest.mark.parametrize(
    "bad",
    [
        b"\x01B0\x03\x70",  # BCC off by one
        b"\x01P0\x02(00000000\x03\x2c",  # data set not closed
        b"/LGZ9ZMD\r\n",  # baud character outside mode C
        b"/?!",  # no CR LF
        b"\x06059\r\n",  # mode character unknown
        b"\x02(\xff)\x03\xfd",  # not 7-bit
        b"\x01P0\x02(a)(b)\x03\x2c",  # two data sets in a command
    ],
)
def test_malformed_messages_are_refused(bad: bytes) -> None:
    connection = Connection(Role.METER)
    connection.receive_data(bad)
    event = connection.next_event()
    assert isinstance(event, Refused) or event is None


def test_we_refuse_to_send_what_a_data_set_cannot_hold() -> None:
    with pytest.raises(LocalProtocolError):
        build_message(Command("W", "1", DataSet("1.8.0", "a(b)")))
    with pytest.raises(LocalProtocolError):
        build_message(DataMessage((DataSet("x" * 17, "1"),)))


def pump(sender: Connection, receiver: Connection, message: Message) -> Message | Refused:
    receiver.receive_data(sender.send(message))
    event = receiver.next_event()
    assert event is not None
    return event


def test_a_programming_session_back_to_back() -> None:
    meter, hht = Connection(Role.METER), Connection(Role.HHT)
    assert pump(hht, meter, SignOnRequest()) == SignOnRequest()
    pump(meter, hht, Identification("EMU", BaudChar.B9600, "EM1"))
    pump(hht, meter, OptionSelect(BaudChar.B9600, ModeChar.PROGRAMMING))
    assert meter.baud == hht.baud == 9600
    pump(meter, hht, Command("P", "0", DataSet("", "challenge")))
    pump(hht, meter, Command("P", "2", DataSet("ENG1", "proof")))
    assert pump(meter, hht, Ack()) == Ack()
    assert meter.state is hht.state is State.PROGRAMMING
    pump(hht, meter, Command("W", "1", DataSet("0-0:128.0.0", "credit")))
    with pytest.raises(LocalProtocolError):
        hht.send(Command("R", "1", DataSet("1.8.0")))  # one command at a time
    pump(meter, hht, Ack())
    pump(hht, meter, Command("B", "0"))
    assert (meter.state, hht.state) == (State.IDLE, State.IDLE)
    assert meter.baud == hht.baud == 300


def test_a_garbled_answer_is_asked_for_again() -> None:
    meter, hht = Connection(Role.METER), Connection(Role.HHT)
    exchange: list[tuple[Message, Connection]] = [
        (SignOnRequest(), hht),
        (Identification("EMU", BaudChar.B9600, "EM1"), meter),
        (OptionSelect(BaudChar.B9600, ModeChar.PROGRAMMING), hht),
        (Command("P", "0", DataSet("", "c")), meter),
        (Command("P", "2", DataSet("E", "p")), hht),
        (Ack(), meter),
        (Command("R", "1", DataSet("1.8.0")), hht),
    ]
    for message, sender in exchange:
        pump(sender, meter if sender is hht else hht, message)
    answer = meter.send(DataMessage((DataSet("1.8.0", "1.0"),)))
    hht.receive_data(answer[:-1] + bytes([answer[-1] ^ 1]))  # BCC broken on the way
    assert isinstance(hht.next_event(), Refused)
    assert pump(hht, meter, Nak()) == Nak()
    hht.receive_data(meter.resend())
    assert hht.next_event() == DataMessage((DataSet("1.8.0", "1.0"),))
    assert meter.state is hht.state is State.PROGRAMMING


def test_the_hht_drops_the_echo_of_its_own_head() -> None:
    hht = Connection(Role.HHT)
    request = hht.send(SignOnRequest())
    hht.receive_data(request[:2])
    hht.receive_data(request[2:] + b"/EMU5EM1\r\n")  # the echo, then the identification
    assert hht.next_event() == Identification("EMU", BaudChar.B9600, "EM1")


def test_an_answer_that_starts_like_the_echo_is_kept() -> None:
    hht = Connection(Role.HHT)
    hht.send(SignOnRequest())  # "/?!": a head that does not echo
    hht.receive_data(b"/EMU5EM1\r\n")
    assert hht.next_event() == Identification("EMU", BaudChar.B9600, "EM1")


def test_inactivity_ends_the_session_at_300_baud() -> None:
    meter, hht = Connection(Role.METER), Connection(Role.HHT)
    pump(hht, meter, SignOnRequest())
    pump(meter, hht, Identification("EMU", BaudChar.B9600, "EM1"))
    pump(hht, meter, OptionSelect(BaudChar.B9600, ModeChar.PROGRAMMING))
    meter.timeout()
    assert meter.state is State.IDLE and meter.baud == 300


def test_noise_before_a_request_is_skipped() -> None:
    meter = Connection(Role.METER)
    meter.receive_data(b"\x00\x00\x00/?!\r\n")  # a battery meter's wake-up NULs
    assert meter.next_event() == SignOnRequest()


@given(
    st.lists(
        st.tuples(
            st.text("0123456789.:-ABCDEF", max_size=16),
            st.text("0123456789.:-abc ", max_size=32),
            st.text("kWhm3", max_size=4),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_readouts_round_trip(sets: list[tuple[str, str, str]]) -> None:
    readout = DataReadout(tuple((DataSet(a, v, u),) for a, v, u in sets))
    assert parse_message(build_message(readout)) == readout


def test_obis_names() -> None:
    assert str(Obis.parse("1-0:1.8.0")) == "1-0:1.8.0"
    assert Obis.parse("1-0:1.8.0*255") == Obis(1, 0, 1, 8, 0)
    assert str(Obis.parse("1-0:1.8.0*1")) == "1-0:1.8.0*1"
    assert Obis.reduced_of("96.1.0") == (96, 1, 0)
    assert Obis.reduced_of("1-0:1.8.0") is None
