"""Words: one normaliser for transcripts and typed text."""

from __future__ import annotations

import re

_CONTRACTIONS = {
    "can't": "cannot", "cant": "cannot", "can not": "cannot", "couldn't": "could not",
    "couldnt": "could not", "didn't": "did not", "didnt": "did not", "don't": "do not",
    "dont": "do not", "doesn't": "does not", "doesnt": "does not", "won't": "will not",
    "wont": "will not", "wouldn't": "would not", "wouldnt": "would not", "haven't": "have not",
    "havent": "have not", "hasn't": "has not", "hasnt": "has not", "isn't": "is not",
    "isnt": "is not", "wasn't": "was not", "wasnt": "was not", "aren't": "are not",
    "shouldn't": "should not", "ain't": "am not", "i'm": "i am", "im": "i am", "i've": "i have",
    "ive": "i have", "i'd": "i would", "i'll": "i will", "it's": "it is", "its": "it is",
    "there's": "there is", "theres": "there is", "he's": "he is", "she's": "she is",
    "someone's": "someone is", "somebody's": "somebody is", "that's": "that is",
    "what's": "what is", "they're": "they are", "there're": "there are", "we're": "we are",
    "you're": "you are", "wanna": "want to", "gonna": "going to", "gotta": "got to",
}


# Mis-hearings of small speech recognisers, applied after contractions (regex → replacement).
_GARBLES = [
    (r"\bhe?lp+ me\b", "help me"), (r"\bhep\b", "help"), (r"\bhalp\b", "help"), (r"\byelp\b", "help"),
    (r"\bchess (pains?|hurts|is tight)\b", r"chest \1"), (r"\bchest pains\b", "chest pain"),
    (r"\btest pain\b", "chest pain"), (r"\bheart attach\b", "heart attack"),
    (r"\bi (?:fail|fall|fel|feel) (down|over)\b", r"i fell \1"), (r"\bi have (?:fell|fall)\b", "i have fallen"),
    (r"\bon the (?:flaw|flour|flo)\b", "on the floor"),
    (r"\b(cannot|can hardly|can barely|struggling to|hard to|trouble|unable to) (?:breed|brief|bree|breath|breeze|brave)\b",
     r"\1 breathe"),
    (r"\bkill my self\b", "kill myself"), (r"\bhurt my self\b", "hurt myself"),
    (r"\bwant (?:a|too|two) die\b", "want to die"), (r"\bany more\b", "anymore"),
    (r"\bsome one\b", "someone"), (r"\bsome body\b", "somebody"), (r"\bbang details\b", "bank details"),
    (r"\bambulence\b", "ambulance"), (r"\bnine one one\b", "911"), (r"\bnine nine nine\b", "999"),
    (r"\bone one two\b", "112"), (r"\brecognize\b", "recognise"),
]


def normalize(text: str) -> str:
    """Lower-case, strip punctuation, expand contractions and undo common ASR mis-hearings."""
    t = text.lower().replace("’", "'").replace("‘", "'")
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    words = []
    for w in t.split(" "):
        words.append(_CONTRACTIONS.get(w, w.strip("'")))
    t = " ".join(words)
    t = t.replace("can not", "cannot")
    for pattern, repl in _GARBLES:
        t = re.sub(pattern, repl, t)
    return re.sub(r"\s+", " ", t).strip()

