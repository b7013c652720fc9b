"""`python -m conveyor`: the CLI (worker child processes start this way)."""

from conveyor.cli import main

main()
