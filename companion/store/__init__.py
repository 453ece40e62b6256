"""The on-device store: TinyDB with atomic writes, typed rows of the shared tables."""
