"""Faust wiring: the stream processors. Thin: decode, call pure code, write state, publish."""
