"""``bchook check``: does a chain of passes change what programs do?

Programs run plainly and under the chain, each kind in worker processes of its own
(:mod:`.worker`), and what they did is compared (:mod:`.observe`): the installed corpus of
tricky programs (``corpus/``), generated programs (:mod:`.generate`), and optionally a
slice of CPython's own test suite (:mod:`.cpython`). A program that differs is cut down to
a small reproduction (:mod:`.minimize`). :mod:`.command` is the command line;
:mod:`bchook.testing` offers the same machinery to a pass's own tests.
"""
