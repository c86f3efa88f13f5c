"""`python -m kluis` is the `kluis` command."""

from kluis.cli import main

main()
