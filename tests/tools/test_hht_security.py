"""Appendix D: the head-end's verification of engineers and HHTs, the HHT's own state, and the
free-space check before an extract.

The head-end's field service runs with a fake WAN (`commands` records what would go to a hub)
and a clock the test moves; the HHT's state is a file in a temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hal.control_socket import ControlError
from protocol.iec62056_21.frames import DataSet
from protocol.password_policy import check_password
from protocol.wan import CommandType
from tools.headend.field_service import FieldService
from tools.headend.field_store import FieldStore
from tools.headend.inventory import parse_inventory
from tools.hht.extract import NEEDED_BYTES, NoRoom, check_room, write_extract
from tools.hht.state import HhtState, NotAuthorised, load_state, save_state

INVENTORY = parse_inventory(
    {
        "devices": {
            "esme": {
                "hub_id": "hub-1",
                "eui64": "00:0d:6f:00:00:00:10:01",
                "kind": "esme",
                "serial": "EM00001001",
                "variant": "ESME-1P100A-ZSE",
            }
        }
    },
    "test",
)


class Service:
    def __init__(self, folder: Path) -> None:
        self.now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
        self.commands: list[tuple[CommandType, str, dict[str, Any]]] = []
        self.store = FieldStore(folder / "headend.sqlite")
        self.field = FieldService(INVENTORY, self.store, self._command, lambda: self.now)

    async def _command(
        self, kind: CommandType, device: str, deadline: float, args: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        self.commands.append((kind, device, args))
        return {"device": device, "request_id": "r", "data": {"joined": True}}

    async def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return await self.field.handlers()[cmd]({"cmd": cmd, **fields})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    service = Service(tmp_path)
    yield service
    service.store.close()


async def engineer(service: Service, code: str, role: str, days: float = 30) -> str:
    issued = await service.call("engineer_issue", code=code, role=role, days=days)
    return str(issued["token"])


@pytest.mark.req("D.1.3", "D.1.4")
async def test_an_hht_authorisation_expires_and_is_revalidated(service: Service) -> None:
    token = await engineer(service, "ENG1", "configure", days=2)
    assert (await service.call("hht_verify", engineer="ENG1", token=token))["role"] == "configure"
    service.now += timedelta(days=2, seconds=1)
    with pytest.raises(ControlError, match="expired"):
        await service.call("device_record", engineer="ENG1", token=token, device="esme")
    await service.call("engineer_revalidate", code="ENG1", days=30)
    service.now += timedelta(days=29)  # a full period from the revalidation
    record = await service.call("device_record", engineer="ENG1", token=token, device="esme")
    assert record["serial"] == "EM00001001"


@pytest.mark.req("D.1.5", "D.1.2")
async def test_a_disabled_or_unknown_hht_is_refused(service: Service) -> None:
    token = await engineer(service, "ENG2", "configure")
    await service.call("engineer_disable", code="ENG2")
    with pytest.raises(ControlError, match="disabled"):
        await service.call("job_password", engineer="ENG2", token=token, device="esme")
    with pytest.raises(ControlError, match="not known"):
        await service.call("hht_verify", engineer="ENG2", token="f" * 48)
    with pytest.raises(ControlError, match="not known"):
        await service.call("hht_verify", engineer="NOBODY", token=token)


@pytest.mark.req("D.2.1", "D.2.2", "F.1.d")
async def test_roles_limit_what_an_engineer_may_do(service: Service, tmp_path: Path) -> None:
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"esme": "Kx7pQm4vRt"}))
    assert service.field.load_factory_passwords(passwords) == 1
    reader = await engineer(service, "READ1", "read")
    fitter = await engineer(service, "FIT1", "configure")
    assert await service.call("device_record", engineer="READ1", token=reader, device="esme")
    with pytest.raises(ControlError, match="read only"):
        await service.call("job_password", engineer="READ1", token=reader, device="esme")
    with pytest.raises(ControlError, match="read only"):
        await service.call(
            "hand_install_code",
            engineer="READ1",
            token=reader,
            device="esme",
            install_code="00",
            eui64="00:0d:6f:00:00:00:10:01",
        )
    issued = await service.call("job_password", engineer="FIT1", token=fitter, device="esme")
    assert issued["password"] == "Kx7pQm4vRt"
    assert service.store.records("esme")[-1]["kind"] == "password-issued"
    raw = (tmp_path / "headend.sqlite").read_bytes()
    assert b"Kx7pQm4vRt" not in raw  # sealed at rest


@pytest.mark.req("20.2.6", "D.1.9")
async def test_an_install_code_for_another_component_is_refused(service: Service) -> None:
    token = await engineer(service, "FIT2", "configure")
    with pytest.raises(ControlError, match="wrong component"):
        await service.call(
            "hand_install_code",
            engineer="FIT2",
            token=token,
            device="esme",
            install_code="83FED3407A939723A5C639B26916D505C3B5",
            eui64="00:0d:6f:00:00:00:99:99",
        )
    assert service.commands == []
    await service.call(
        "hand_install_code",
        engineer="FIT2",
        token=token,
        device="esme",
        install_code="83FED3407A939723A5C639B26916D505C3B5",
        eui64="00:0D:6F:00:00:00:10:01",
    )
    assert service.commands[0][:2] == (CommandType.INSTALL_CODE, "esme")


@pytest.mark.req("17.2.21.b.2", "17.2.21.b.1")
async def test_a_remote_reset_draws_a_strong_password_for_the_meter(service: Service) -> None:
    await service.call("reset_password", device="esme")
    kind, device, args = service.commands[-1]
    assert (kind, device) == (CommandType.LOCAL_PASSWORD, "esme")
    assert len(args["password"]) == 10 and check_password(args["password"]) == []
    assert service.store.password("esme") == args["password"]


@pytest.mark.req("D.1.7", "D.1.3")
def test_the_hht_keeps_its_state_and_refuses_when_expired(tmp_path: Path) -> None:
    path = tmp_path / "hht" / "state.json"
    expires = datetime(2026, 2, 1, tzinfo=UTC)
    state = HhtState("ENG1", "t0ken", "configure", expires.isoformat())
    state.add_job({"kind": "install"})
    save_state(path, state)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_state(path)  # a restart, a flat battery: the same state comes back
    assert again == state
    again.require(expires - timedelta(seconds=1))
    with pytest.raises(NotAuthorised, match="expired"):
        again.require(expires)
    with pytest.raises(NotAuthorised, match="no engineer"):
        HhtState().require()


@pytest.mark.req("D.1.8")
def test_an_extract_does_not_start_without_room(tmp_path: Path) -> None:
    class Usage:
        def __init__(self, free: int) -> None:
            self.free = free

    out = tmp_path / "extract.json"
    with pytest.raises(NoRoom, match="not started"):
        check_room(out, usage=lambda _folder: Usage(NEEDED_BYTES - 1))
    assert not out.exists()
    assert check_room(out, usage=lambda _folder: Usage(NEEDED_BYTES)) == NEEDED_BYTES
    document = write_extract(out, "EM00001001", [DataSet("1-0:1.8.0", "1.000", "kWh")], "ENG1")
    assert json.loads(out.read_text()) == document
