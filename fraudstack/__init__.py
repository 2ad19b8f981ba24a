"""fraudstack: local-first, real-time financial fraud detection on the AWS reference architecture."""

__version__ = "0.1.0"
