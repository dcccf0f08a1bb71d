"""The ``movies`` command: the composition root. It may import every layer (etl, data,
schema, server, bench, evaluation); nothing imports it."""
