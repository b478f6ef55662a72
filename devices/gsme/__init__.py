"""Gas meter (GSME) firmware; run it with `python -m devices.gsme --rig R --name N`."""
