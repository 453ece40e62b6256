"""What she hears in an emergency, and how her answers are read.

Every line is written by people and spoken as written (never by the LLM, never cut by
the LLM's reply filter). Scripts are short, calm, and say what to do *now*. Each
emergency ends with one question whose answer changes what happens next; a middle-
confidence utterance gets one direct check question instead. Placeholders:
{emergency} and {crisis} come from [safety]; {who} is the first person alerted;
{status} is the honest line about the alert (understand: "trying to reach" until a
channel confirmed delivery, see safety.skill).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.language import yes_no
from companion.understand.safety import prepare

# The script for each category: what to do now. "gas" is the fire category when she smells gas.
SCRIPTS = {
    "help": "I'm here with you. {status} If you are in danger or badly hurt, call {emergency} now, or press "
            "your pendant.",
    "fall": "I'm here with you. Stay still for a moment and don't rush to get up. {status} If you're hurt, "
            "call {emergency} or press your pendant.",
    "medical": "That could be serious. Please call {emergency} now, or ask someone near you to call. If you can, "
               "sit down and unlock the front door. {status}",
    "suicidal": "I'm so sorry you're feeling this way. You matter, and you don't have to face this alone. You can "
                "talk to someone right now on the crisis line, {crisis}. If you are in danger, call {emergency}. "
                "{status}",
    "fire": "Please get out of the house now, and close the door behind you. Don't stop to take anything. "
            "Call {emergency} once you're outside. {status}",
    "gas": "Please leave the house now. Don't touch any switches, and don't light anything. Open the door as you "
           "go out. Call {emergency} once you're outside. {status}",
    "stranger": "Don't open the door, and keep it locked. You don't have to talk to anyone you don't know. If "
                "someone is trying to get in, call {emergency} now. {status}",
    "scam": "Please hang up now. Don't give bank details, a PIN, codes or money to anyone who calls you. Real "
            "banks never ask for that, and it's fine to hang up. {status}",
    "lost": "It's all right. Stay where you are, somewhere safe and light. If there's a shop or someone nearby, "
            "you can ask them to help you. {status}",
}

# The question that ends each script: (question, does "yes" mean she is all right?)
FOLLOW_UP = {
    "help": ("Are you all right?", True),
    "fall": ("Are you hurt?", False),
    "medical": ("Can you reach the phone?", True),
    "suicidal": ("Are you safe right now?", True),
    "fire": ("Are you outside?", True),
    "stranger": ("Is the door locked?", True),
    "scam": ("Have you hung up?", True),
    "lost": ("Are you at home?", True),
}

# One short direct check for middle confidence: "yes" always means "this is an emergency".
CHECKS = {
    "help": "Do you need help right now? Do you want me to get {who}?",
    "fall": "That sounds frightening. Are you hurt? Do you want me to get {who}?",
    "medical": "That sounds worrying. Are you feeling unwell right now? Do you want me to get {who}?",
    # as crisis lines advise: ask directly; asking does not put the idea in her head
    "suicidal": "I'm sorry things feel so hard. I'd like to ask you something directly, because it matters. "
                "Are you having thoughts of ending your life?",
    "fire": "Is there smoke, fire or a smell of gas in the house right now?",
    "stranger": "Is someone there right now who you don't want there?",
    "scam": "Is someone on the phone right now asking you for bank details or money?",
    "lost": "Are you outside and not sure where you are?",
}
RECHECK = "I want to be sure you're safe. Please just say yes or no. {question}"

# Her answer said she is not all right: what to do now.
NOT_ALL_RIGHT = {
    "help": "Please call {emergency} now if you can, or press your pendant. {status} I'm right here.",
    "fall": "Please stay still and keep warm, with a cushion or a coat if you can reach one. {status} If you "
            "can, call {emergency} or press your pendant. I'm staying right here.",
    "medical": "Stay where you are. If you can, call out to a neighbour, or press your pendant. {status} "
               "I'm staying right here.",
    "suicidal": "Please call {emergency} now, or the crisis line, {crisis}. If you can, move away from anything "
                "you could hurt yourself with. {status} I'm staying right here with you.",
    "fire": "Please go outside now, and leave everything behind. Call {emergency} when you're out. {status}",
    "stranger": "If you can do it safely, lock the door and stay in a room away from it. If they try to come in, "
                "call {emergency}. {status}",
    "scam": "Please put the phone down now. It's not rude to hang up. Don't give them any numbers or codes. "
            "{status}",
    "lost": "Please stay where you are, somewhere light and safe. If someone is near, you can ask them to help "
            "you. {status}",
}
# Her answer said she is all right.
ALL_RIGHT = {
    "help": "I'm glad you're all right.",
    "fall": "I'm glad you're not hurt. Take your time getting up: roll onto your side first, and use something "
            "sturdy to push up on.",
    "medical": "Good. Please call {emergency} now. I'm staying right here.",
    "suicidal": "I'm glad. Thank you for telling me. You can call {crisis} any time, day or night, and I'm here "
                "to listen.",
    "fire": "Well done. Stay outside, and call {emergency} from there.",
    "stranger": "Good. Keep it locked and don't open it. If they try to get in, call {emergency}.",
    "scam": "Well done. If you're worried about your bank, ring them later on the number on the back of your card.",
    "lost": "You're at home, and you're safe. Take a slow breath.",
}
# A middle-confidence check she answered "no" to.
STAND_DOWN = "All right, I'm glad. I'm here if anything changes."
STAND_DOWN_SUICIDAL = ("Thank you for telling me. If those thoughts ever come, please tell me, or call {crisis} "
                       "any time, day or night. Would you like to tell me what's been making things hard?")
NO_ANSWER = "I didn't hear an answer, so I'm treating this as an emergency. {status}"
TROUBLE = ("I'm having trouble on my side. If you need help, call {emergency} or press your pendant now. "
           "I'm trying to reach {who}.")

# Alert titles by category (the caregiver reads these first).
TITLES = {
    "help": "She asked for help",
    "fall": "She may have fallen",
    "medical": "She described a possible medical emergency",
    "suicidal": "She talked about ending her life or harming herself",
    "fire": "She reported fire or smoke at home",
    "gas": "She smelled gas at home",
    "stranger": "She reported a stranger or intruder",
    "scam": "She may be on a scam call (asked for bank details or money)",
    "lost": "She sounded lost or confused",
}
# What she was told, in a few words, for the alert text ("What she was told: ...").
GIST = {
    "help": "that the companion is with her, and to call the emergency number or press her pendant if in danger",
    "fall": "to stay still and not rush to get up, and to call the emergency number or press her pendant if hurt",
    "medical": "to call the emergency number now, sit down and unlock the front door",
    "suicidal": "that she matters, the crisis line number, and to call the emergency number if in danger",
    "fire": "to get out of the house now, close the door and call the emergency number from outside",
    "gas": "to leave the house now without touching switches, and call the emergency number from outside",
    "stranger": "not to open the door, to keep it locked, and to call the emergency number if someone tries to get in",
    "scam": "to hang up and not give bank details, a PIN, codes or money to the caller",
    "lost": "to stay somewhere safe and light and ask a shop or someone nearby for help",
    "trouble": "that the companion is having trouble, and to call the emergency number or press her pendant",
}
GIST_NOT_ALL_RIGHT = "what to do now, and to call the emergency number or press her pendant"
_GAS = re.compile(r"\b(?:gas|carbon monoxide|rotten eggs?|fumes|hissing)\b")


def script_key(category: str, text: str) -> str:
    """The script for this category and these words ("fire" becomes "gas" when she smells gas)."""
    if category == "fire" and _GAS.search(prepare(text)):
        return "gas"
    return category


# ---------------------------------------------------------------- her answers

# Said after "are you hurt?" or "are you all right?": she is all right, or the worry is over.
_FINE = re.compile(
    r"\b(?:i am|i feel|i am feeling|i think i am|it is|all is|everything is|we are|he is|she is) (?:fine|ok|okay|"
    r"all right|alright|safe|good|grand|well|not hurt|unhurt|fine now|ok now|outside|out|home|at home|up|back up)\b|"
    r"\bfalse alarm\b|\bnever mind\b|\bcancel\b|\ball good\b|\bno harm done\b|\bnot hurt\b|\bnot injured\b|"
    r"\bno pain\b|\bnothing hurts\b|\bdoes not hurt\b|\b(?:do not|does not|no) need (?:any )?help\b|"
    r"\b(?:he|she|they) (?:has|have|is|are) gone\b|\b(?:hung|hang) up\b|\bput the phone down\b|\bgot up\b|"
    r"\bi can (?:get up|reach|stand|breathe)\b|\bit (?:has|is) (?:stopped|passed|gone|out)\b|\bmistake\b")
# Anything that says she is not all right, even after "I'm fine" ("I'm ok but my hip hurts").
_DISTRESS = re.compile(
    r"\b(?:hurts?|hurting|hurt|pain|painful|ache|aching|agony|bleeding|blood|broken|broke|cannot|can not|could "
    r"not|unable|stuck|help|scared|frightened|terrified|dizzy|faint|sick|worse|bad|awful|terrible|numb|swollen|"
    r"please (?:come|hurry|get)|not (?:fine|ok|okay|all right|alright|safe|good|well|breathing|sure)|no i am not|"
    r"hurry|quick|still (?:here|there|on|at|outside|ringing|on the phone)|on the floor|trying to get in)\b")
_NEGATED_DISTRESS = re.compile(r"\b(?:not|no|never|nothing|does not|did not|do not) (?:too )?(?:hurt|hurts|hurting|"
                               r"pain|broken|bleeding|need (?:any )?help|stuck|dizzy|sick|bad)\b|\bno (?:pain|blood)\b")
# Not sure: to the suicide question this counts as a yes (crisis-line practice); elsewhere she is asked again.
_UNSURE = re.compile(r"\b(?:i do not know|not sure|maybe|perhaps|sometimes|a bit|a little|i suppose|i might|"
                     r"now and then|on and off|i think so)\b")
# "Are you hurt?" → "I am" is a yes; the shared parser knows the rest.
_YES = ("i am", "i do", "it is", "i have", "i can", "i did", "i think so", "i think i am")
_NO = ("i am not", "i do not", "i have not", "i cannot", "i can not", "not yet", "not really", "no i")


@dataclass(frozen=True)
class Answer:
    """How her answer reads: a yes or no, words that she is all right, words that she is not."""

    said: bool | None  # yes (True), no (False), or neither
    fine: bool
    distress: bool
    unsure: bool = False  # "I don't know", "maybe", "sometimes"

    def all_right(self, yes_means_ok: bool) -> bool | None:
        """True: she is all right; False: she is not; None: the answer says neither.

        Distress wins over everything ("I'm ok but my hip hurts" is not all right); then
        the fine words; then the yes or no, read with what "yes" means for the question.
        """
        if self.distress:
            return False
        if self.fine:
            return True
        if self.said is None or self.unsure:
            return None
        return self.said if yes_means_ok else not self.said


def read_answer(text: str) -> Answer:
    """Read her answer to a safety question."""
    norm = prepare(text)
    without_negated = _NEGATED_DISTRESS.sub(" ", norm)
    fine = bool(_FINE.search(norm))
    distress = bool(_DISTRESS.search(without_negated))
    said = yes_no(norm, yes=_YES, no=_NO)
    return Answer(said, fine, distress, bool(_UNSURE.search(norm)))
