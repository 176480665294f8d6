"""Helpers shared by the server's tests and the ingest benchmark: a throwaway PostgreSQL server, simulated kits."""
