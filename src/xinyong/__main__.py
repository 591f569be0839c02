"""`python -m xinyong` is the `xinyong` command."""

from xinyong.cli import main

main()
