"""The platform simulator (`orderhub simulate`): the platforms' order APIs over a seeded world.

Pure parts: `world` (orders and every change, from a seed), `render` (an order state in
a platform's JSON shape). I/O: `server` (the aiohttp app, limits, faults, pushes),
`command` (the CLI).
"""
