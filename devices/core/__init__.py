"""Firmware shared by every device: event log, and later registers, tariffs, prepayment, modes."""
