"""The rig file's WAN keys: broker TLS and PKI folder, the hub's bearer and its loss-of-comms
rules (17.2.14, 6.1.6, 6.1.7, 12.7.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.rig import BearerKind, CommsLossRules, load_rig
from protocol.errors import ConfigError
from tests.rig_files import demo_rig_copy


def rig_text(tmp_path: Path, old: str, new: str) -> Path:
    path = demo_rig_copy(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_demo_rig_is_secured_with_its_own_pki(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path))
    assert rig.broker.tls and rig.pki.root == rig.run_dir / "pki"
    files = rig.tls_files(rig.hub.wan_id)
    assert files is not None and files.cert.name == f"{rig.hub.wan_id}.crt"


def test_a_started_broker_cannot_go_without_tls(tmp_path: Path) -> None:
    path = rig_text(tmp_path, "[broker]\n", "[broker]\ntls = false\n")
    with pytest.raises(ConfigError, match=r"\[broker\].*tls.*always uses TLS"):
        load_rig(path)


def test_an_external_broker_may_go_without_tls(tmp_path: Path) -> None:
    path = rig_text(tmp_path, "[broker]\n", '[broker]\ntls = false\npki_dir = "/srv/pki"\n')
    path.write_text(path.read_text().replace('kind = "auto"', 'kind = "external"', 1))
    rig = load_rig(path)
    assert rig.tls_files(rig.hub.wan_id) is None
    assert rig.pki.root == Path("/srv/pki")


@pytest.mark.parametrize("name", ["headend", "broker"])
def test_a_hub_cannot_take_the_head_ends_or_brokers_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="wan_id"):
        load_rig(rig_text(tmp_path, 'wan_id = "hub-0001"', f'wan_id = "{name}"'))


def test_bearer_and_comms_loss_rules_come_from_the_rig(tmp_path: Path) -> None:
    rig = load_rig(
        rig_text(
            tmp_path,
            'bearer = "gprs"',
            'bearer = "ip"',
        )
    )
    assert rig.hub.bearer is BearerKind.IP
    assert rig.hub.comms_loss == CommsLossRules()
    path = rig_text(tmp_path / "b", "wan_alert_after_s = 60", "wan_alert_after_s = 0")
    with pytest.raises(ConfigError, match="wan_alert_after_s"):
        load_rig(path)
    path = rig_text(
        tmp_path / "c", 'service_number = "0800 000 0000"', 'service_number = "' + "9" * 17 + '"'
    )
    with pytest.raises(ConfigError, match="service_number"):
        load_rig(path)
