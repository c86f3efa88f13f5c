"""Mijn privacy: a person signs in with a code mailed to an address Kluis knows, then sees and manages their data."""
