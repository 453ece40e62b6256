"""Audio frames and WAV I/O, echo and double-talk, sound devices, prosody."""
