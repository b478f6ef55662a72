"""A device's memory of the requests it has carried out, by the issuer's id (clause 19.1.6).

A command the head-end sends through the hub (a new local-access password, a message to show)
reaches the device with an issuer event id the hub derives from the WAN request id
(`hub.han.messages.issuer_id`), so a command the hub carries again after a crash arrives with
the same id. The device notes the id in its own store in the same transaction as the effect and
does nothing the second time: never twice, whatever restarts in between.
"""

from __future__ import annotations

from hal.ports import NonVolatileStore, Tx

__all__ = ["RequestMemory"]

SCHEMA_COMPONENT = "request_memory"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS request_memory (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster INTEGER NOT NULL,
    issuer_id INTEGER NOT NULL,
    UNIQUE (cluster, issuer_id)
);
"""
#: Requests remembered per device; the hub never carries one again thousands of requests later.
KEEP = 1000


class RequestMemory:
    def __init__(self, store: NonVolatileStore) -> None:
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)

    def first_time(self, tx: Tx, cluster: int, issuer_id: int) -> bool:
        """Note (`cluster`, `issuer_id`) inside `tx`; False if it was noted before."""
        tx.execute(
            "INSERT OR IGNORE INTO request_memory (cluster, issuer_id) VALUES (?, ?)",
            (cluster, issuer_id),
        )
        if tx.rowcount == 0:
            return False
        tx.execute(
            "DELETE FROM request_memory WHERE n <= (SELECT MAX(n) FROM request_memory) - ?",
            (KEEP,),
        )
        return True
