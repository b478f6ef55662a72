"""In-home display (IHD) firmware; run it with `python -m devices.ihd --rig R --name N`."""
