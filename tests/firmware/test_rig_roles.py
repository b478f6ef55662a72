"""`[roles]` and each device's `supplier` in a rig file (firmware/rig/roles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.rig import load_rig
from protocol.errors import ConfigError
from tests.rig_files import demo_rig_copy
from tests.wan_probe import two_supplier_rig


def test_two_suppliers_and_an_operator_are_read_and_the_demo_keeps_one_supplier(
    tmp_path: Path,
) -> None:
    rig = load_rig(two_supplier_rig(tmp_path / "two"))
    assert rig.roles.suppliers == ("alpha", "beta") and rig.roles.network_operator == "dno"
    assert {name: d.supplier for name, d in rig.devices.items()} == {
        "esme": "alpha",
        "gsme": "beta",
        "ihd": "alpha",
    }
    demo = load_rig(demo_rig_copy(tmp_path / "demo"))
    assert demo.roles.suppliers == ("supplier",) and demo.roles.wan_sealed
    assert {d.supplier for d in demo.devices.values()} == {"supplier"}


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ('[roles]\nsuppliers = ["a", "a"]\n', "each once"),
        ("[roles]\nsuppliers = []\n", "at least one"),
        ('[roles]\nsuppliers = ["a b"]\n', "letters"),
        ('[roles]\nsuppliers = ["a"]\nnetwork_operator = "a"\n', "also a supplier"),
        ('[roles]\nwan_sealed = "yes"\n', "must be bool"),
    ],
)
def test_bad_roles_are_refused_naming_the_key(tmp_path: Path, extra: str, complaint: str) -> None:
    path = demo_rig_copy(tmp_path)
    path.write_text(path.read_text() + "\n" + extra)
    with pytest.raises(ConfigError, match=complaint) as refused:
        load_rig(path)
    assert "[roles]" in str(refused.value)


def test_a_device_of_an_undeclared_supplier_is_refused(tmp_path: Path) -> None:
    path = two_supplier_rig(tmp_path)
    path.write_text(path.read_text().replace('supplier = "beta"', 'supplier = "gamma"'))
    with pytest.raises(ConfigError, match="'gamma' is not declared"):
        load_rig(path)
