"""Emergencies and honesty: deterministic safety phrases, scripts, AI disclosure."""
