"""CLI commands, one module each (discovered by mtl_core.cli.main)."""
