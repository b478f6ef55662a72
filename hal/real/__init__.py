"""Backends that are real hardware or real services, not emulations.

The SQLite store (non-volatile memory on the rig's storage), the system clock, the paho MQTT
WAN link, EZSP dongles reached by path, and serial devices (a USB optical probe).
"""
