"""Benchmarks that print ratios against a reference measured in the same run (`make bench`).

`bench/run.py` is the entry point; `bench/data.py` builds the data set; each module of
`bench/paths/` measures one path of the application against its reference.
"""
