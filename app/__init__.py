"""orderhub: an event-driven order router for multi-channel e-commerce."""

__version__ = "0.1.0"
