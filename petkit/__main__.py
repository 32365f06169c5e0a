"""`python3 -m petkit ...` from a checkout: makes `.venv` if it is missing, then runs the CLI in it."""
from petkit.bootstrap import main

main()
