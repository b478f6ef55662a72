"""Which devices the hub has on its network, and where: remembered across restarts.

zigpy's database is off (it would keep the network key in clear, clause 17.2.10), so the hub
keeps its own small record in its store: EUI-64 -> NWK address of every device zigpy has
interviewed (no keys: those are in the NCP's sealed tokens), and the names of devices removed
from the HAN until they are commissioned again (clause 17.2.6).
"""

from __future__ import annotations

from hal.ports import NonVolatileStore

__all__ = ["KnownDevices"]

STORE_NAMESPACE = "han"
KNOWN_DEVICES_KEY = "known_devices"
DECOMMISSIONED_KEY = "decommissioned"
HANDED_KEY = "handed_install_codes"


class KnownDevices:
    """The hub's store of HAN membership."""

    def __init__(self, store: NonVolatileStore) -> None:
        self._store = store
        self._decommissioned = set(store.get(STORE_NAMESPACE, DECOMMISSIONED_KEY, []))

    def addresses(self) -> dict[str, int]:
        """EUI-64 text -> NWK address of every device last seen on the network."""
        return dict(self._store.get(STORE_NAMESPACE, KNOWN_DEVICES_KEY, {}))

    def seen(self, eui64: str, nwk: int) -> None:
        known = self.addresses()
        if known.get(eui64) != nwk:
            known[eui64] = nwk
            self._store.put(STORE_NAMESPACE, KNOWN_DEVICES_KEY, known)

    def forget(self, eui64: str) -> None:
        known = self.addresses()
        if known.pop(eui64, None) is not None:
            self._store.put(STORE_NAMESPACE, KNOWN_DEVICES_KEY, known)

    def decommissioned(self, name: str) -> bool:
        return name in self._decommissioned

    def set_decommissioned(self, name: str, removed: bool) -> None:
        """Mark a device removed (True) or commissioned again (False); saved at once."""
        if removed:
            self._decommissioned.add(name)
        else:
            self._decommissioned.discard(name)
        self._store.put(STORE_NAMESPACE, DECOMMISSIONED_KEY, sorted(self._decommissioned))

    def handed(self) -> dict[str, str]:
        """Device name -> install code (hex) handed to the hub out of band (17.2.9)."""
        return dict(self._store.get(STORE_NAMESPACE, HANDED_KEY, {}))

    def hand(self, name: str, install_code: bytes) -> None:
        codes = self.handed()
        codes[name] = install_code.hex()
        self._store.put(STORE_NAMESPACE, HANDED_KEY, codes)
