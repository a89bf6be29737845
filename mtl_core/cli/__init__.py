"""`python -m mtl_core ...`: one module per command, each with `add_parser` and `run`."""
