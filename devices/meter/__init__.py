"""Shared meter logic: the energy integrator, persisted registers and the Metering cluster."""
