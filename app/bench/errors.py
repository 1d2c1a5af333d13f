"""The benchmark's one error: a phase that could not finish, with what it saw."""


class BenchError(RuntimeError):
    """A benchmark phase failed or timed out; the message says where and what it saw."""
