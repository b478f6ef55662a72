"""The hand-held terminal (HHT): an installer's tool on the optical port and the head-end.

`optical_client` talks IEC 62056-21 to a meter through a probe; `state` keeps the engineer's
credential across restarts; `workflows` are installation, replacement and decommissioning;
`tools/cli_hht.py` is the `smartmeter hht` front end.
"""
