"""Faust wiring: HTTP views on the worker's web server (found by autodiscovery), one module per concept.

The console's reads are answered from the tables of the worker that owns the order
(`api.on_owner`) or gathered from every worker (`api.gather`); its changes go onto
`ops-commands` and are applied by the `process-orders` agent, never written here.
"""
