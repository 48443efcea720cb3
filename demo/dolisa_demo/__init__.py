"""Beside the product, not in it: the demo District Export hub and its data generator
(`dolisa_demo.hub`), the benchmark (`dolisa_demo.bench`) and the report samples
(`dolisa_demo.report_sample`).

The production package `dolisa` (the wheel, the image's Airflow services) does not ship
them. They are used by the README's demo (`scripts/demo.sh`), the tests and the benchmark
(`scripts/benchmark.sh`); `scripts/bootstrap.sh` puts this folder on the virtualenv's path
(an editable install: `dolisa_demo.pth` in site-packages), and the image's `demo` target
(the compose profile `demo`) copies it.
"""
