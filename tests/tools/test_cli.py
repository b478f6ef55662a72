"""The `smartmeter` command line, run in-process: parsing, error paths, and the bench commands
against a stand-in control socket (no rig running).

Every user error must come out as one `smartmeter: error: ...` line and exit status 1, never as a
traceback; argparse's own usage errors keep its exit status 2.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hal.control_socket import ControlServer, Reply, Request
from tools.cli import main
from tools.cli_common import RIG_ENV

RIG_TEMPLATE = """
[rig]
name = "bench"
run_dir = "{run_dir}"

[broker]
kind = "embedded"
port = 1

[hub]
name = "hub"
wan_id = "hub-0001"
eui64 = "00:0d:6f:00:00:00:00:01"
pan_id = 0x1A62
extended_pan_id = "00:0d:6f:ff:fe:00:1a:62"

[[device]]
name = "esme"
kind = "esme"
eui64 = "00:0d:6f:00:00:00:10:01"
install_code = "83FED3407A939723A5C639B26916D505C3B5"

[[device]]
name = "gsme"
kind = "gsme"
eui64 = "00:0d:6f:00:00:00:20:01"
install_code = "1D7A4E2C9B0F33816A5C2D4E8F901B2CCA62"

[[device]]
name = "ihd"
kind = "ihd"
eui64 = "00:0d:6f:00:00:00:30:01"
install_code = "5A1B2C3D4E5F60718293A4B5C6D7E8F93DB6"
"""


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # A Unix socket path must stay under 108 bytes; pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="smcli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def rig_file(tmp_path: Path, run_dir: Path) -> Path:
    path = tmp_path / "rigs" / "bench.toml"
    path.parent.mkdir()
    path.write_text(RIG_TEMPLATE.format(run_dir=run_dir))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_user_error(status: int, err: str, *fragments: str) -> None:
    assert status == 1
    assert err.startswith("smartmeter: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


@contextmanager
def fake_component(path: Path, replies: dict[str, Reply]) -> Iterator[list[Request]]:
    """A control socket at `path` answering each command with a canned reply, on its own loop
    in a daemon thread so that the CLI's blocking calls can reach it."""
    requests: list[Request] = []

    def handler(reply: Reply) -> Any:
        async def handle(request: Request) -> Reply:
            requests.append(request)
            return reply

        return handle

    server = ControlServer(path, {cmd: handler(reply) for cmd, reply in replies.items()})
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield requests
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- parsing ---------------------------------------------------------------------------------


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("rig", "headend", "bench", "hub"):
        assert command in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bench"],
        ["bench", "esme"],
        ["bench", "esme", "dance"],
        ["bench", "esme", "load"],
        ["headend", "read"],
        ["rig", "up", "--broker", "rabbitmq"],
    ],
)
def test_usage_errors_keep_argparse_status(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "usage: smartmeter" in err


# -- rig file --------------------------------------------------------------------------------


def test_missing_default_rig_says_how_to_name_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RIG_ENV, raising=False)
    status, _, err = run(capsys, "hub", "status")
    assert_user_error(status, err, "rigs/demo.toml does not exist", "--rig", RIG_ENV)


def test_rig_from_environment(
    capsys: pytest.CaptureFixture[str], rig_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RIG_ENV, str(rig_file))
    status, _, err = run(capsys, "bench", "nobody", "status")
    assert_user_error(status, err, "rig 'bench' has no device named 'nobody'")


def test_bad_rig_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[rig\n")
    status, _, err = run(capsys, "hub", "status", "--rig", str(bad))
    assert_user_error(status, err, str(bad), "not valid TOML")


# -- bench load validation -------------------------------------------------------------------


def test_negative_load_is_refused(capsys: pytest.CaptureFixture[str], rig_file: Path) -> None:
    status, out, err = run(capsys, "bench", "esme", "load", "-5", "--rig", str(rig_file))
    assert_user_error(status, err, "load must not be negative (got -5 W)")
    assert out == ""


def test_load_above_100_amps_is_refused(capsys: pytest.CaptureFixture[str], rig_file: Path) -> None:
    status, _, err = run(capsys, "bench", "esme", "load", "23000.5", "--rig", str(rig_file))
    assert_user_error(status, err, "above the esme's rating of 23000 W")


@pytest.mark.parametrize("text", ["lots", "nan", "inf", ""])
def test_load_must_be_a_number(
    capsys: pytest.CaptureFixture[str], rig_file: Path, text: str
) -> None:
    status, _, err = run(capsys, "bench", "esme", "load", text, "--rig", str(rig_file))
    assert_user_error(status, err, "number of watts")


def test_only_meters_have_a_load(capsys: pytest.CaptureFixture[str], rig_file: Path) -> None:
    status, _, err = run(capsys, "bench", "ihd", "load", "100", "--rig", str(rig_file))
    assert_user_error(status, err, "ihd has no load to set; the meters are: esme, gsme")


@pytest.mark.parametrize(
    ("device", "text", "fragment"),
    [
        ("esme", "-1", "outside 0..23000 W"),
        ("esme", "sunny", 'number of watts or "profile"'),
        ("gsme", "100", "gsme has no generation; the electricity meters: esme"),
    ],
)
def test_a_bad_generation_is_refused(
    capsys: pytest.CaptureFixture[str], rig_file: Path, device: str, text: str, fragment: str
) -> None:
    status, _, err = run(capsys, "bench", device, "generation", text, "--rig", str(rig_file))
    assert_user_error(status, err, fragment)


@pytest.mark.parametrize(("text", "watts"), [("2500", 2500.0), ("profile", None)])
def test_generation_sends_watts_or_null_for_the_profile(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path, text: str, watts: Any
) -> None:
    with fake_component(run_dir / "esme.sock", {"generation": {"watts": watts}}) as requests:
        status, _, err = run(capsys, "bench", "esme", "generation", text, "--rig", str(rig_file))
    assert (status, err) == (0, "")
    assert requests == [{"cmd": "generation", "watts": watts}]


# -- nothing running, unknown names ----------------------------------------------------------


def test_read_without_headend_says_nothing_listens(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    status, out, err = run(capsys, "headend", "read", "esme", "--rig", str(rig_file))
    assert_user_error(status, err, "nothing is listening", str(run_dir / "headend.sock"))
    assert out == ""


def test_read_of_unknown_device_lists_known_ones(
    capsys: pytest.CaptureFixture[str], rig_file: Path
) -> None:
    status, _, err = run(capsys, "headend", "read", "water", "--rig", str(rig_file))
    assert_user_error(status, err, "unknown device 'water'; known devices: esme, gsme, ihd")


def test_bench_of_unknown_device_lists_known_ones(
    capsys: pytest.CaptureFixture[str], rig_file: Path
) -> None:
    status, _, err = run(capsys, "bench", "water", "display", "--rig", str(rig_file))
    assert_user_error(status, err, "known: hub, esme, gsme, ihd")


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "gsme", "display"],
        ["bench", "hub", "status"],
        ["hub", "status"],
        ["headend", "status"],
        ["headend", "events"],
    ],
)
def test_every_command_explains_a_component_not_running(
    capsys: pytest.CaptureFixture[str], rig_file: Path, argv: list[str]
) -> None:
    status, _, err = run(capsys, *argv, "--rig", str(rig_file))
    assert_user_error(status, err, "nothing is listening", "is the component running?")


# -- against a stand-in control socket -------------------------------------------------------


def test_display_prints_the_lines(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    reply = {"lines": ["IMPORT  1234.567 kWh", "NOW     1.500 kW"]}
    with fake_component(run_dir / "ihd.sock", {"display": reply}) as requests:
        status, out, err = run(capsys, "bench", "ihd", "display", "--rig", str(rig_file))
    assert (status, err) == (0, "")
    assert out == "IMPORT  1234.567 kWh\nNOW     1.500 kW\n"
    assert requests == [{"cmd": "display"}]


def test_load_sends_watts_as_a_number(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    with fake_component(run_dir / "esme.sock", {"load": {"watts": 3000.0}}) as requests:
        status, out, err = run(capsys, "bench", "esme", "load", "3000", "--rig", str(rig_file))
    assert (status, err) == (0, "")
    assert json.loads(out) == {"watts": 3000.0}
    assert requests == [{"cmd": "load", "watts": 3000.0}]


@pytest.mark.parametrize("argv", [["hub", "status"], ["bench", "hub", "status"]])
def test_hub_status_prints_one_json_object(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path, argv: list[str]
) -> None:
    reply = {"joined": {"esme": True, "gsme": False, "ihd": True}, "wan": "connected"}
    with fake_component(run_dir / "hub.sock", {"status": reply}):
        status, out, _ = run(capsys, *argv, "--rig", str(rig_file))
    assert status == 0
    assert json.loads(out) == reply


def test_refusal_by_the_component_is_a_user_error(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    # The hub has no display: its control socket refuses the command by name.
    with fake_component(run_dir / "hub.sock", {"status": {}}):
        status, _, err = run(capsys, "bench", "hub", "display", "--rig", str(rig_file))
    assert_user_error(status, err, "unknown command 'display'; known: status")


def test_headend_read_prints_the_headends_answer(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    answer = {
        "device": "esme",
        "hub_id": "hub-0001",
        "request_id": "r1",
        "round_trip_s": 0.2,
        "data": {"registers": {"CurrentSummationDelivered": {"value": "1.000", "unit": "kWh"}}},
    }
    with fake_component(run_dir / "headend.sock", {"read": answer}) as requests:
        status, out, _ = run(capsys, "headend", "read", "esme", "--rig", str(rig_file))
    assert status == 0
    assert json.loads(out) == answer
    assert requests == [{"cmd": "read", "device": "esme", "timeout_s": 10.0}]


def test_headend_config_set_sends_a_json_value_and_prints_the_answer(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    answer = {"device": "esme", "data": {"key": "events.class.low", "new": {"treatment": "x"}}}
    with fake_component(run_dir / "headend.sock", {"config_set": answer}) as requests:
        status, out, _ = run(
            capsys, "headend", "config", "set", "esme", "events.class.low",
            '{"treatment": "log_only", "until": "2027-01-01T00:00:00Z"}', "--rig", str(rig_file),
        )  # fmt: skip
    assert status == 0 and json.loads(out) == answer
    [request] = requests
    assert request["cmd"] == "config_set" and request["key"] == "events.class.low"
    assert request["value"] == {"treatment": "log_only", "until": "2027-01-01T00:00:00Z"}


def test_headend_push_schedule_and_alerts_print_json(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    replies: dict[str, dict[str, Any]] = {
        "push_schedule": {"data": {"key": "push.esme.interval_s"}},
        "alerts": {"alerts": []},
    }
    with fake_component(run_dir / "headend.sock", replies) as requests:
        status, out, _ = run(
            capsys, "headend", "push-schedule", "esme", "--interval", "900", "--rig", str(rig_file)
        )
        assert status == 0 and json.loads(out) == replies["push_schedule"]
        status, out, _ = run(
            capsys, "headend", "alerts", "--supplier", "s1", "--rig", str(rig_file)
        )
        assert status == 0 and json.loads(out) == []
    assert requests[0]["interval_s"] == 900 and requests[1]["supplier"] == "s1"


def test_tariff_items_takes_the_device_then_the_item_and_a_json_value(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    reply = {"data": {"item": "pricing"}}
    with fake_component(run_dir / "headend.sock", {"tariff": reply}) as requests:
        argv = ("headend", "tariff", "items", "esme", "pricing", "--set", '{"a": "1"}')
        status, _, err = run(capsys, *argv, "--rig", str(rig_file))
    assert (status, err) == (0, "")
    assert requests[0]["device"] == "esme"
    assert requests[0]["args"] == {"action": "update", "value": {"a": "1"}, "item": "pricing"}
    status, _, err = run(
        capsys,
        "headend",
        "tariff",
        "items",
        "esme",
        "rates",
        "--set",
        "cheap",
        "--rig",
        str(rig_file),
    )
    assert_user_error(status, err, "--set takes a JSON object")
