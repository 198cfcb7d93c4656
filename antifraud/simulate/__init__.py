"""A simulated city for demos, tests, benchmarks and training: subscribers, fraud rings, victims.

Records follow the input contracts of DESIGN.md exactly; ground truth is kept apart.
"""

from antifraud.simulate.config import SimConfig
from antifraud.simulate.events import SimEvent
from antifraud.simulate.stream import stream_to_kafka
from antifraud.simulate.traffic import Simulation, generate
from antifraud.simulate.writers import write_files

__all__ = ["SimConfig", "SimEvent", "Simulation", "generate", "stream_to_kafka", "write_files"]
