"""The use cases (install, lock, upgrade, outdated, check, validate, gc, ...), each handed its edges by the caller.

An action plans (pure), then executes through the edges; each records its own ledger event.
"""
