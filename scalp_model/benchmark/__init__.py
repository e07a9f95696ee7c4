"""What ``python -m scalp_model bench`` measures: the paper's Table 1 on this machine, beside a naive reference.

Figures only, never pass/fail. ``run.run_bench`` gathers them; the parts are small modules:

* :mod:`.timing` — timing primitives (one function repeated; several alternated call by call);
* :mod:`.photos` — the input photos (real ones from the shared data folder, else generated JPEGs);
* :mod:`.reference` — the naive reference (full PIL decode, plain torchvision GoogLeNet in fp32, no map);
* :mod:`.machine` — the machine, resident memory and the fresh-process cold start;
* :mod:`.figures` — the figure groups (agreement, forward pass, one image, the set, decoding, int8, CUDA);
* :mod:`.map_cost` — what the map adds to a prediction.

The command line (arguments, table) is :mod:`scalp_model.cli.bench`.
"""
