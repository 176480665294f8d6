"""Evaluation of the fingerprint engine on fingerprint databases: decoding images, the protocol, the error rates.

This is the edge around ``fingerprint/``: it reads files; the engine itself never does.
"""
