"""The benchmark: how fast the pipeline is, how far from the limit, how it scales.

`antifraud bench` (see `antifraud.bench.cli`) measures, in one run and on the same simulated
input, a bare consumer, the limit of our own code in a plain batched aiokafka loop, a minimal
Faust agent (the floor), the real worker(s), end-to-end latency at fractions of the measured
throughput, a Quix Streams peer and the worker's memory. Nothing here imports Faust: every
Faust (and Quix) consumer runs as its own process, like the real worker does.
"""
