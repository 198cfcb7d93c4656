"""A simulated city for demos, tests, benchmarks and training: subscribers, fraud rings, victims.

Records follow the input contracts of DESIGN.md exactly; ground truth is kept apart.
"""

from antifraud.simulate.config import SimConfig
from antifraud.simulate.events import SimEvent
from antifraud.simulate.traffic import Simulation, generate

__all__ = ["SimConfig", "SimEvent", "Simulation", "generate"]
