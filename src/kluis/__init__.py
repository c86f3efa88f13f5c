"""Kluis: the privacy engine that keeps benVitaal's privacy statement."""

__version__ = "0.1.0"
