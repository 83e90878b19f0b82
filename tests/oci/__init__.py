"""Tests of OCI registry support against a real docker-registry (a package, so its conftest keeps its own name)."""
