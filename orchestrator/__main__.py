"""`python -m orchestrator` behaves exactly like the `mcuorch` console script."""

from orchestrator.cli.main import main

if __name__ == "__main__":
    main()
