"""Filesystem primitives every edge shares: how a file is replaced so readers never see half of it."""
