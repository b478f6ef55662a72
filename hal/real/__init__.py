"""hal/real package."""
