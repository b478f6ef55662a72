"""tshark 4.0 as an independent judge of every Smart Energy command we define.

Every command of `protocol.se` (and zigpy's Metering, which it re-exports) is encoded with our
definitions, wrapped in an unsecured MAC/NWK/APS frame of the SE profile and written to one
pcap; tshark dissects the file once. For each frame tshark must name the command, and show each
of our fields under its `zbee_zcl_se.*` name, at the octets we put it, with our value.

Where tshark 4.0 adds no field (`UNDECODED`) the test checks nothing of ours is shown there;
where it reads a field unlike the specification (`DIVERGENCES`: byte order, width, epoch) the
test checks tshark shows exactly the misreading described, so the note cannot go stale. In each
case the specification decides, and our definitions follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zigpy.types as t
from zigpy.zcl import foundation

from protocol.se import Time
from protocol.se.key_establishment import ImplicitCertificate163k1
from tests.protocol.se_oracle import (
    PAYLOAD_POS,
    Field,
    FieldType,
    Leaf,
    dissect,
    expected,
    field_types,
    leaves,
    parse_show,
    se_frame,
    zcl_frame,
)
from tests.protocol.se_samples import COMMANDS, Command, representative
from tests.protocol.se_tshark_names import (
    ABBREVIATIONS,
    COMMAND_FIELDS,
    DIVERGENCES,
    NAMES,
    PER_COMMAND_CLUSTERS,
    PREFIXES,
    UNDECODED,
)

pytestmark = pytest.mark.timeout(180)

CASES = [(command, instance) for command in COMMANDS for instance in representative(command)]
#: Expert notes tshark may add to a well-formed frame: SE 1.2 deprecated CancelMessage's
#: MessageControl (it must be 0x00), and our distinct sample values set it.
ALLOWED_EXPERT = {"Message Control deprecated in this message, should be 0x00"}


@dataclass(frozen=True)
class Dissection:
    packets: list[list[Field]]
    types: dict[str, FieldType]


@pytest.fixture(scope="module")
def dissection(tmp_path_factory: pytest.TempPathFactory) -> Dissection:
    tmp = tmp_path_factory.mktemp("tshark")
    frames = [
        se_frame(
            command.cluster.cluster_id,
            zcl_frame(command.definition.id, command.server_to_client, instance.serialize()),
            seq,
        )
        for seq, (command, instance) in enumerate(CASES)
    ]
    return Dissection(dissect(tmp, frames), field_types(tmp))


def _tshark_name(command: Command, path: str, types: dict[str, FieldType]) -> str | None:
    abbr = ABBREVIATIONS[command.cluster.cluster_id]
    if (command.name, path) in COMMAND_FIELDS:
        return f"zbee_zcl_se.{abbr}.{COMMAND_FIELDS[command.name, path]}"
    renames = NAMES.get(abbr, {})
    name = renames.get(path, renames.get(path.rsplit(".", 1)[-1], path.rsplit(".", 1)[-1]))
    prefix = PREFIXES.get(command.name) or (
        command.definition.name if abbr in PER_COMMAND_CLUSTERS else None
    )
    candidates = ([f"zbee_zcl_se.{abbr}.{prefix}.{name}"] if prefix else []) + [
        f"zbee_zcl_se.{abbr}.{name}"
    ]
    return next((c for c in candidates if c in types), None)


def _leaves(instance: Any) -> tuple[list[Leaf], list[Leaf]]:
    """(leaves every command must show, sub-fields of bit-field structs shown where mapped)."""
    all_leaves = list(leaves(instance))
    subs = {
        f"{leaf.path}.{f.name}"
        for leaf in all_leaves
        if isinstance(leaf.value, t.Struct) and isinstance(leaf.value, int)
        for f in leaf.value.fields
    }
    required = [leaf for leaf in all_leaves if leaf.path not in subs]
    if hasattr(instance, "identity") and len(instance.identity) == 48:
        # A suite-1 identity: tshark shows the certificate's parts, so check those.
        start = next(leaf.offset for leaf in required if leaf.path == "identity")
        cert, _ = ImplicitCertificate163k1.deserialize(bytes(instance.identity))
        required += list(leaves(cert, start, "identity."))
    return required, [leaf for leaf in all_leaves if leaf.path in subs]


def _shown(fields: list[Field], name: str, leaf: Leaf) -> list[Field]:
    return [f for f in fields if f.name == name and f.pos == PAYLOAD_POS + leaf.offset]


def _mapped(command: Command, path: str) -> bool:
    """Whether the tables name this exact path (how a bit-field's bits are opted in)."""
    abbr = ABBREVIATIONS[command.cluster.cluster_id]
    return (command.name, path) in COMMAND_FIELDS or path in NAMES.get(abbr, {})


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c, _ in CASES])
def test_tshark_decodes_the_command_and_each_field(dissection: Dissection, index: int) -> None:
    command, instance = CASES[index]
    fields = dissection.packets[index]
    types = dissection.types
    malformed = [f for f in fields if f.name.startswith("_ws.malformed")]
    notes = {f.show for f in fields if f.name == "_ws.expert.message"} - ALLOWED_EXPERT
    assert not malformed and not notes, (malformed, notes)

    abbr = ABBREVIATIONS[command.cluster.cluster_id]
    direction = "srv_tx" if command.server_to_client else "srv_rx"
    (cmd,) = [f for f in fields if f.name == f"zbee_zcl_se.{abbr}.cmd.{direction}.id"]
    assert int(cmd.show, 16) == command.definition.id and cmd.pos == PAYLOAD_POS - 1

    required, bits = _leaves(instance)
    problems = []
    for leaf in required:
        if (command.name, leaf.path) in UNDECODED or _matches(command, leaf, fields, types):
            continue
        # A bit-field octet tshark shows only bit by bit passes if each mapped part matches.
        parts = [b for b in bits if b.path.startswith(leaf.path + ".") and _mapped(command, b.path)]
        if parts and all(_matches(command, b, fields, types) for b in parts):
            continue
        name = _tshark_name(command, leaf.path, types)
        shown = [f.show for f in _shown(fields, name, leaf)] if name else []
        problems.append(
            f"{leaf.path} at {leaf.offset}: {name} shows {shown}, we encoded {leaf.value!r}"
        )
    for leaf in bits:
        if _mapped(command, leaf.path) and not _matches(command, leaf, fields, types):
            problems.append(
                f"{leaf.path} (bits): {_tshark_name(command, leaf.path, types)} != {leaf.value!r}"
            )
    assert not problems, "\n".join(problems)


def _matches(
    command: Command, leaf: Leaf, fields: list[Field], types: dict[str, FieldType]
) -> bool:
    name = _tshark_name(command, leaf.path, types)
    if name is None:
        return False
    kind = types[name]
    divergence = DIVERGENCES.get((command.name, leaf.path))
    want = divergence.shows(leaf.value) if divergence else expected(leaf.value, kind)
    return any(parse_show(f.show, kind) == want for f in _shown(fields, name, leaf))


def test_every_command_is_judged() -> None:
    assert {c.name for c, _ in CASES} == {c.name for c in COMMANDS}
    assert len(COMMANDS) == 130  # 101 of ours and zigpy's 29 Metering commands


def test_what_tshark_leaves_undecoded_has_no_field(dissection: Dissection) -> None:
    """UNDECODED is true: tshark shows no field of the cluster on those octets."""
    for (name, path), why in UNDECODED.items():
        for index, (command, instance) in enumerate(CASES):
            if command.name != name:
                continue
            (leaf,) = [leaf for leaf in leaves(instance) if leaf.path == path]
            abbr = ABBREVIATIONS[command.cluster.cluster_id]
            on_it = [
                f
                for f in dissection.packets[index]
                if f.name.startswith(f"zbee_zcl_se.{abbr}.")
                and f.pos == PAYLOAD_POS + leaf.offset
                and f.size == leaf.size
            ]
            assert not on_it, (name, path, why, on_it)


def test_divergences_are_real(dissection: Dissection) -> None:
    """Each DIVERGENCES entry changes a value we send: tshark does not show what we encoded."""
    for (name, path), divergence in DIVERGENCES.items():
        differs = []
        for command, instance in CASES:
            if command.name == name:
                kind = dissection.types[_tshark_name(command, path, dissection.types) or ""]
                differs += [
                    divergence.shows(leaf.value) != expected(leaf.value, kind)
                    for leaf in leaves(instance)
                    if leaf.path == path
                ]
        assert any(differs), (name, path)


def test_a_missing_tshark_fails_rather_than_skips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception, match="tshark is not installed"):
        dissect(tmp_path, [])


def test_tshark_reads_every_time_attribute(tmp_path: Path) -> None:
    """Time (0x000A, zigpy's definition re-exported): a Read Attributes Response carrying all ten
    attributes shows each id with the ZCL data type and value we sent, UTCTime from 2000."""
    value = 757_382_400  # 2024-01-01T00:00:00Z as UTCTime
    attributes = [a for a in Time.AttributeDefs if a.id <= 0x0009]
    assert len(attributes) == 10
    records = [
        foundation.ReadAttributeRecord(
            attrid=a.id,
            status=foundation.Status.SUCCESS,
            value=foundation.TypeValue(type=a.zcl_type, value=a.type(0x03 if a.id == 1 else value)),
        )
        for a in attributes
    ]
    rsp = foundation.GeneralCommand.Read_Attributes_rsp
    header = foundation.ZCLHeader.general(1, rsp, direction=foundation.Direction.Server_to_Client)
    payload = foundation.GENERAL_COMMANDS[rsp].schema(status_records=records).serialize()
    (fields,) = dissect(tmp_path, [se_frame(Time.cluster_id, header.serialize() + payload, 1)])
    shown = {
        name: [f.show for f in fields if f.name == name]
        for name in ("zbee_zcl_general.time.attr_id", "zbee_zcl.attr.data.type")
    }
    assert shown["zbee_zcl_general.time.attr_id"] == [f"0x{a.id:04x}" for a in attributes]
    assert shown["zbee_zcl.attr.data.type"] == [f"0x{a.zcl_type:02x}" for a in attributes]
    utc = [f.show for f in fields if f.name == "zbee_zcl.attr.utc"]
    assert utc == ["Jan  1, 2024 00:00:00.000000000 UTC"] * 3  # Time, LastSetTime, ValidUntilTime
    numbers = [f.show for f in fields if f.name in ("zbee_zcl.attr.uint32", "zbee_zcl.attr.int32")]
    assert numbers == [str(value)] * 6  # TimeZone, DstStart, DstEnd, DstShift, Standard/LocalTime
    status = [f.show for f in fields if f.name == "zbee_zcl_general.time.attr.time_status"]
    assert status == ["0x03"]  # Master | Synchronized
