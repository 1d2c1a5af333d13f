"""Faust wiring: the order state tables, keyed by OLI, RocksDB-backed with a changelog.

Keys are the OLI's UTF-8 bytes; values are compact orjson bytes (`app.codec`), not
pickles: cheap to store, readable with any tool, and stable across code versions.
"""

from __future__ import annotations

import faust

from app.main import app, settings

#: per RocksDB instance (one per table partition): Faust's defaults (a 2 GiB block cache and
#: 3 x 64 MiB write buffers each) would let a worker with many orders grow far past its state
#: on disk; these keep its memory bounded (docs/performance.md, "Memory")
ROCKSDB_OPTIONS = {
    "block_cache_size": settings.rocksdb_cache_mb * 1024 * 1024,
    "write_buffer_size": settings.rocksdb_write_buffer_mb * 1024 * 1024,
    "max_write_buffer_number": 2,
}


def _raw_table(name: str, help: str) -> faust.Table:
    table = app.Table(name, key_type=bytes, value_type=bytes, partitions=settings.partitions, help=help,
                      options=dict(ROCKSDB_OPTIONS))
    # Faust derives serializers from Record types only; ours are plain bytes
    table.key_serializer = "raw"
    table.value_serializer = "raw"
    return table


orders_table = _raw_table(
    "orders", "Current standard order (SOM) per OLI, with its version, holds and fulfillment.")
pending_payments_table = _raw_table(
    "pending-payments", "Payments whose order has not arrived yet, per OLI; applied when it arrives.")
