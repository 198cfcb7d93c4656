"""The joint-operations center console: the 96110 desk queue, the bank liaisons' queues, the
stations' door visits and the supervisors' figures, as a web app over the `jocc.*` topics.

`create_app` lives in `antifraud.desk.app`; `python -m antifraud.desk` serves it. This package
imports nothing heavy at import time, so the CLI can mount `antifraud.desk.cli` cheaply.
"""
