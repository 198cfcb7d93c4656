"""`python -m streams worker`: the stream worker process that `antifraud up` starts."""

from streams import agents  # noqa: F401  (registers the agents on the app)
from streams.app import app

if __name__ == "__main__":
    app.main()
