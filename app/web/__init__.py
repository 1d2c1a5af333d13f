"""Faust wiring: the HTTP API and the dashboard (Faust's aiohttp server).

Modules here register their views with `@app.page` when the worker autodiscovers this
package. Reads are answered from the tables of the worker that owns the order
(`api.on_owner`) or gathered from every worker (`api.gather`); changes go onto
`ops-commands` and are applied by the `process-orders` agent, never written here.
"""
