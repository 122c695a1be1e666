"""Batch reading on a Ray cluster (``digitreader read SRC... --engine ray``); imported only then.

``sources`` turns SRC arguments into files, ``reader`` runs them through Ray Data actors that
each hold one ``Recognizer``, ``output`` keeps the rows safe as they arrive and resumes a run.
"""
