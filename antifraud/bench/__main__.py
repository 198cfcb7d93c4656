"""`python -m antifraud.bench`: the same as `antifraud bench` (before the CLI mounts it)."""

from antifraud.bench.cli import bench_app

bench_app(prog_name="antifraud bench")
