"""Plain values the whole program shares: handles, candidates and files, target environments, version changes.

Pure core: no I/O, no imports from any edge.
"""
