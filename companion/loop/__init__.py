"""The conversation loop: state machine, skills seam, dialogue, instant intents, engine."""
