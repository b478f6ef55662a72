"""The hub's HAN: coordinator and trust centre (`network`), who may join (`commissioning`),
what it remembers of its devices (`known_devices`), and the on-demand read (`metering_read`)."""

from .commissioning import DeviceUnavailable
from .network import HUB_ENDPOINT, HanNetwork

__all__ = ["HUB_ENDPOINT", "DeviceUnavailable", "HanNetwork"]
