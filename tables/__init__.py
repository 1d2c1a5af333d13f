"""Faust wiring: table declarations only (name, key/value types, help)."""
