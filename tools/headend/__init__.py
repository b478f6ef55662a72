"""Head-end simulator: the supplier's systems as far as the WAN sees them (DESIGN.md §2).

`python -m tools.headend` connects to the rig's MQTT broker, records every hub status, command,
acknowledgement, result and event in its own SQLite database, and serves a local control socket
(`tools.headend.client` is its Python front end) for on-demand reads (clause 6.1.11), hub status
and recent events.
"""
