"""How strongly one component hears another on the HAN: the radio model of a premises.

Log-distance path loss from the components' positions (rig file `position`, metres), extra loss
for walls between named pairs, and the fade region near the receiver's sensitivity where frames
are lost at random. The emulated air applies it to every frame; the hub's signal report (12.1.r)
and an installer's link-quality view (20.4.1.c) show its results as RSSI and LQI.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

__all__ = [
    "DEFAULT_PATH_LOSS_EXPONENT",
    "DEFAULT_SPACING_M",
    "DEFAULT_TX_POWER_DBM",
    "FADE_MARGIN_DB",
    "SENSITIVITY_DBM",
    "RadioModel",
    "lqi_from_rssi",
]

#: Log-distance path loss (ITU-R P.1238 style) at 2.4 GHz: about 40 dB lost in the first metre,
#: then 10·n dB per decade of distance; n = 3 is a typical house with internal walls.
REFERENCE_LOSS_DB = 40.0
DEFAULT_TX_POWER_DBM = 3.0
DEFAULT_PATH_LOSS_EXPONENT = 3.0
#: Below the sensitivity nothing is received; in the fade margin above it a frame is received
#: with a probability rising linearly from 0 to 1, as packet error rate does near the edge.
SENSITIVITY_DBM = -100
FADE_MARGIN_DB = 10
#: The LQI scale: EmberZNet-class NCPs report 0 near sensitivity and 255 on a strong link.
LQI_FLOOR_DBM = -100
LQI_CEILING_DBM = -40
#: Where devices stand when the rig file gives no position: 3 m apart in a line from the hub.
DEFAULT_SPACING_M = 3.0


def lqi_from_rssi(rssi: int) -> int:
    """Link quality indicator 0..255, linear in RSSI between the floor and the ceiling.

    IEEE 802.15.4-2006 clause 6.9.8 leaves the LQI scale to the implementer; a linear map of
    signal strength is what the hub's signal report (12.1.r, 20.4.1.c) needs to rank links.
    """
    span = LQI_CEILING_DBM - LQI_FLOOR_DBM
    return max(0, min(255, round((rssi - LQI_FLOOR_DBM) * 255 / span)))


@dataclasses.dataclass(frozen=True)
class RadioModel:
    """Signal strength of every link of a premises, from where its components stand.

    A node the model does not know (a test's attacker, a sniffer) gets the fixed good link of
    an air without a model, so that tests of the protocol are not at the mercy of geometry.
    """

    positions: Mapping[str, tuple[float, float]]
    #: Extra loss of a wall or floor between two components, either way round.
    attenuation_db: Mapping[frozenset[str], float] = dataclasses.field(default_factory=dict)
    tx_power_dbm: float = DEFAULT_TX_POWER_DBM
    path_loss_exponent: float = DEFAULT_PATH_LOSS_EXPONENT
    seed: int = 0

    def rssi(self, sender: str, receiver: str) -> int | None:
        """RSSI in dBm at `receiver` of a frame from `sender`; None if either is unknown."""
        if sender not in self.positions or receiver not in self.positions:
            return None
        (x1, y1), (x2, y2) = self.positions[sender], self.positions[receiver]
        # Closer than a metre the antennas are in each other's near field: no stronger signal.
        distance = max(1.0, math.hypot(x2 - x1, y2 - y1))
        loss = REFERENCE_LOSS_DB + 10 * self.path_loss_exponent * math.log10(distance)
        loss += self.attenuation_db.get(frozenset((sender, receiver)), 0.0)
        return round(self.tx_power_dbm - loss)


def describe(model: RadioModel) -> str:
    """Every link of the model as "a-b RSSI dBm (LQI n)", for the air's start-up log."""
    names = list(model.positions)
    links = []
    for index, a in enumerate(names):
        for b in names[index + 1 :]:
            rssi = model.rssi(a, b)
            if rssi is not None:
                links.append(f"{a}-{b} {rssi} dBm (LQI {lqi_from_rssi(rssi)})")
    return ", ".join(links)
