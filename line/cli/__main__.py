"""`python -m line.cli`: the `bumpline` command without its console script (tests, workers)."""
from line.cli import main

main()
