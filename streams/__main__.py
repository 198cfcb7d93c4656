"""`python -m streams worker`: the stream worker process that `antifraud up` starts."""

from antifraud.tuning import use_uvloop

use_uvloop()  # before Faust is imported and makes its loop

from streams import agents  # noqa: E402, F401  (registers the agents on the app)
from streams.app import app  # noqa: E402

if __name__ == "__main__":
    app.main()
