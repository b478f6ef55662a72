"""Electricity meter (ESME) firmware; run it with `python -m devices.esme --rig R --name N`."""
