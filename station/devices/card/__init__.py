"""The ID-card reader: ICAO 9303 eMRTD chips through PC/SC (pyscard), BAC, secure messaging, passive authentication."""
