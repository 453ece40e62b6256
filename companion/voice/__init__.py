"""Speaking: the LLM, Piper TTS and voice style, the reply job, Piper-spoken test speech."""
