"""Fingerprint engine: greyscale image and resolution in, quality and minutiae template out; reference matcher.

Pure computation: no file, device, database or network access happens in this package.
"""
