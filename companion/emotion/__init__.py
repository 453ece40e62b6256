"""Mood from the voice's prosody and the words, and her consent to it."""
