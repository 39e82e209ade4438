"""`python -m sohoa …` is the `sohoa` command."""

from sohoa.cli import main

main()
