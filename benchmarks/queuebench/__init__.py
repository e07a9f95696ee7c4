"""The consultation-store benchmark behind ``benchmarks/queue_bench.py`` (its command line), one job a module:

* :mod:`.timing` — p50/p95 of repeated calls, progress log;
* :mod:`.stores` — the SQLite file or PostgreSQL server measured, and their sizes;
* :mod:`.workload` — what is timed, each the way the app's pages do it, and PostgreSQL's plans;
* :mod:`.runner` — one backend grown through the sizes, seeded and measured at each;
* :mod:`.photos` — realistic stored sizes from real photos;
* :mod:`.report` — the machine, the Markdown table and the printed report.
"""
