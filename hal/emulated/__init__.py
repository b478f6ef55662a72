"""hal/emulated package."""
