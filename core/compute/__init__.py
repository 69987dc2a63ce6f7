"""Where independent pieces of work run: in this process (`local`) or as tasks on a Dask
cluster (`dask`; `ray` is declared and refused until built), chosen by `[compute]` in
factory.toml or `--engine` (adrs/0033).

The engine only moves work: a task gets plain data and the components it needs (their
source, checked against their hash), and returns numbers and arrays, collected in order, so
the results are byte-identical to local ones. Nothing a worker sends back is a model, and
nothing is read from a pickle file; every file is written by the driving process.
"""
