"""`make bench`: capi-relay against Meta's own Python SDK, measured in one run on the same inputs.

Not tests: nothing here asserts a timing. `python -m bench.run` prints a table and writes JSON.
"""
