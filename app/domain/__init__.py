"""Pure: the order domain (model, identity, transitions, errors). Imports no I/O library."""
