"""`python -m antifraud.simulate ...` until the main CLI mounts it as `antifraud simulate`."""

from antifraud.simulate.cli import app

app()
