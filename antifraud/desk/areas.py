"""The area directory the center maintains: area code -> police station, community grid, contact.

It comes from a CSV (`area_code,district,station,grid,contact`), is imported into Redis with
`antifraud desk areas import FILE`, and decides where an unreachable victim's escalation goes.
A grid code such as `330101-007` that is not listed falls back to its district `330101`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib import resources

import orjson
import redis.asyncio as aioredis

from antifraud.desk.authz import AREA_PATTERN

CSV_COLUMNS = ("area_code", "district", "station", "grid", "contact")
UNASSIGNED = "unassigned"


@dataclass(frozen=True, slots=True)
class Area:
    area_code: str
    district: str
    station: str
    grid: str
    contact: str


class AreaDirectory:
    """Lookups by exact code, then by the district part before the first `-`."""

    def __init__(self, areas: Iterable[Area] = ()) -> None:
        self.by_code: dict[str, Area] = {area.area_code: area for area in areas}

    def __len__(self) -> int:
        return len(self.by_code)

    def lookup(self, area_code: str | None) -> Area | None:
        if not area_code:
            return None
        found = self.by_code.get(area_code)
        if found is None and "-" in area_code:
            found = self.by_code.get(area_code.split("-", 1)[0])
        return found

    def district_of(self, area_code: str) -> str:
        """A readable district name for charts, or the code's district part."""
        area = self.lookup(area_code)
        return area.district if area is not None else area_code.split("-", 1)[0]


def parse_areas_csv(text: str) -> list[Area]:
    """Rows of the directory; a bad row stops the import with its line number (a half-imported
    directory would send officers to the wrong place)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    areas: list[Area] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        code = (row.get("area_code") or "").strip()
        if not AREA_PATTERN.match(code):
            raise ValueError(f"line {line}: area_code {code!r} is not a valid code")
        if code in seen:
            raise ValueError(f"line {line}: area_code {code} appears twice")
        station = (row.get("station") or "").strip()
        if not station:
            raise ValueError(f"line {line}: station is empty")
        seen.add(code)
        areas.append(
            Area(
                code,
                (row.get("district") or "").strip(),
                station,
                (row.get("grid") or "").strip(),
                (row.get("contact") or "").strip(),
            )
        )
    return areas


def demo_areas() -> list[Area]:
    """The directory of the simulated city (`antifraud/data/areas_demo.csv`)."""
    text = resources.files("antifraud").joinpath("data/areas_demo.csv").read_text("utf-8")
    return parse_areas_csv(text)


class AreaStore:
    """The directory in Redis (one hash), replaced whole on import."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._key = f"{prefix}desk:areas"

    async def replace(self, areas: Iterable[Area]) -> int:
        count = 0
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            for area in areas:
                pipe.hset(self._key, area.area_code, orjson.dumps(asdict(area)))
                count += 1
            await pipe.execute()
        return count

    async def load(self) -> AreaDirectory:
        raw: dict[bytes | str, bytes | str] = await self._client.hgetall(self._key)
        return AreaDirectory(Area(**orjson.loads(value)) for value in raw.values())
