"""tapwork: spare minutes on a phone -> labelled training data and fairly paid micro-work."""

__version__ = "0.1.0"
