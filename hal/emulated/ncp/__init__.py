"""Emulated EZSP network co-processor: an ASH/EZSP front over a small ZigBee stack."""
