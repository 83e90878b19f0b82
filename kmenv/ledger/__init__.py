"""The usage ledger: plain event storage in SQLite and the cheap ``use`` hot path; it knows no use-case types."""
