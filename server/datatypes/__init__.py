"""Value classes for the collection types: one module per Redis type (list, hash, set, sorted set).

Each class carries ``TYPE_NAME`` (what TYPE prints), ``encoding()`` (what
OBJECT ENCODING prints, following Redis 7.0's size thresholds), ``copy()``
(COPY), ``memory_items()`` (MEMORY USAGE sampling) and ``__len__``.
"""
