"""Caregivers: alerts and their channels, inactivity watch, wellbeing summaries."""
