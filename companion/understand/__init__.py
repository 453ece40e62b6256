"""Understanding her words on the device: a sentence encoder, trained heads and rules, shared by safety
triage, the reply strategy, instant intents and memory recall."""
