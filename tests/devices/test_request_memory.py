"""A device remembers the requests it carried out, by issuer id, in its own store: a command the
hub carries again after a crash is not done twice (clause 19.1.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.core.request_memory import RequestMemory
from hal.real.sqlite_store import SqliteStore
from hub.han.messages import issuer_id
from protocol.se import DeviceManagement, Messaging


@pytest.mark.req("19.1.6")
def test_a_request_is_done_once_across_restarts_of_the_device(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "esme.sqlite") as store:
        memory = RequestMemory(store)
        with store.transaction() as tx:
            assert memory.first_time(tx, DeviceManagement.cluster_id, 7)
            assert not memory.first_time(tx, DeviceManagement.cluster_id, 7)
            assert memory.first_time(tx, Messaging.cluster_id, 7), "ids are per cluster"
    with SqliteStore(tmp_path / "esme.sqlite") as store:  # the meter restarted
        again = RequestMemory(store)
        with store.transaction() as tx:
            assert not again.first_time(tx, DeviceManagement.cluster_id, 7)


def test_the_hub_gives_a_command_carried_again_the_same_issuer_id() -> None:
    request = "9f1c2b3a-0000-4000-8000-000000000001"
    assert issuer_id(request) == issuer_id(request) == 0x9F1C2B3A
    assert issuer_id("00000000-0000-4000-8000-000000000001") == 1
    assert issuer_id(None) != issuer_id(None), "the hub's own messages each get a new one"
