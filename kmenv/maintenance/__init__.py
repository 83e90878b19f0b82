"""Keeping the store and environments healthy: gc roots, validate/repair, rollback, cache inspection and gc."""
