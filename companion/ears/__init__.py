"""Hearing: wake word, stop phrase, voice activity and end of turn, speech recognisers."""
