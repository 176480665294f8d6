"""Simulation and training: synthetic voters and fingerprints, emulated kits, scenarios, election-day rehearsal."""
