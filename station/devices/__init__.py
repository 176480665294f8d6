"""Device layer of the kit: fingerprint scanners, the ID-card reader and the slip printer.

Devices speak in events (``station.devices.health``); the agent and the screen consume them.
"""
