"""The `mcuorch` command line: a thin typer layer over the orchestrator modules."""
