"""Exit codes, the same for every command (README "Exit codes"; OPERATIONS and the systemd units
rely on them): 0 done and complete; 1 bad input — nothing ran; 2 a usage error (typer/click's own:
an unknown option, a missing argument); 3 it ran and did not end complete — a lot on hold (or run by
another orchestrator), a verification that found a broken element, an oracle hole."""
COMPLETE = 0
BAD_INPUT = 1
USAGE = 2
NOT_COMPLETE = 3
