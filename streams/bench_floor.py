"""The "Faust floor" of the benchmark: a minimal agent doing trivial work per message.

It consumes the input topics exactly as the real agent does (`batches_while_busy`, same batch
size) but only checks each value for a benchmark end marker, which it echoes to the DLQ
topic in the dead-letter shape so the harness can tell when a partition has been consumed,
and for a latency probe, which it answers at once with a stand-in task (as the broker echo
does). What it costs per message is Faust's own machinery plus the worker's batching, so the
worker adds only its scoring to it (a plain `async for` agent costs ~6 µs per message less:
docs/performance.md, figure 3). Its latency at a paced load is Faust's path from the input topic
to a task (figure 5d).
Run as its own process: `python -m streams.bench_floor worker` (settings from the environment).
"""

from __future__ import annotations

import asyncio
from typing import Any

from antifraud.tuning import set_aside_long_lived, use_uvloop

use_uvloop()  # the worker's loop (streams/__main__.py), before Faust is imported

from antifraud.bench.inputs import MARKER_PREFIX, marker_dead_letter, probe_task  # noqa: E402
from antifraud.contracts import DISSUASION_TOPIC, DLQ_TOPIC, INPUT_TOPICS  # noqa: E402
from streams.app import app, settings  # noqa: E402
from streams.batching import batches_while_busy  # noqa: E402

input_topics = app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes)
dead_letters = app.topic(
    DLQ_TOPIC, key_type=bytes, value_type=bytes, partitions=settings.output_partitions
)
tasks = app.topic(
    DISSUASION_TOPIC, key_type=bytes, value_type=bytes, partitions=settings.output_partitions
)


@app.agent(input_topics)
async def floor(stream: Any) -> None:
    set_aside_long_lived()  # as the worker does (streams/agents.py)
    seen_bytes = 0
    async for events in batches_while_busy(stream, settings.batch_max_events):
        deliveries = []
        for event in events:
            value = event.value or b""
            seen_bytes += len(value)
            if value.startswith(MARKER_PREFIX):
                message = event.message
                dead_letter = marker_dead_letter(
                    message.topic, message.partition, message.offset, value
                )
                deliveries.append(await dead_letters.send(value=dead_letter))
            elif (task := probe_task(value)) is not None:
                deliveries.append(await tasks.send(value=task))
        # Wait for the sends before the next batch, as the worker does (antifraud/route.py).
        await asyncio.gather(*deliveries)


if __name__ == "__main__":
    app.main()
