"""Getting orders in: pull connectors and webhook receivers per configured shop (`orderhub connect`).

Pure parts: `cursor` (windows, cursor, dedup), `pacing` (adaptive rate), `shops` (the
shops file). I/O: `client` (aiohttp + pacing + retries), `limiter` (aiolimiter paces),
`puller` (a shop's pull loop), `kafka` (envelopes, alerts, cursor checkpoints),
`service` (all shops in one process), `command` (the CLI).
"""
