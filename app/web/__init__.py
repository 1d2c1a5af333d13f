"""Faust wiring: HTTP views on the worker's web server (found by autodiscovery), one module per concept."""
