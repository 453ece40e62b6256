"""What emergencies sound like, in words: one broad pattern set per category, used as features.

These are deliberately wide (any fall verb, any chest complaint, any smell of gas):
on their own they would fire on memories, plots and jokes. They never decide: the
safety head (understand.safety) weighs them together with the sentence embedding
and the cues of understand.rules (past, reported, question, denial, joke), trained
on the labelled set. Text is `language.normalize`d ("can't" → "cannot").
"""

from __future__ import annotations

import re

import numpy as np

_WHO = r"(?:i|he|she|we|they|mum|mom|dad|my \w+|\w+)"

# Category → patterns. "hopeless" is passive hopelessness: it earns a caring question, not an alarm.
EMERGENCY_PATTERNS: dict[str, tuple[str, ...]] = {
    "fall": (
        r"\b(?:fallen|fell|fall|falls)\b(?! (?:asleep|in love|for|about|behind|through|apart|silent|out with|"
        r"off the tree|off the trees|early|late|prices|short|into place|in price|in line|sick|ill|pregnant))",
        r"\b(?:a|had a|took a|nasty|bad) (?:fall|tumble)\b", r"\btumbled?\b", r"\btoppled\b",
        r"\b(?:slipped|tripped|stumbled)\b(?! (?:my|his|her) mind)",
        r"\b(?:went|gone|going|go) (?:flying|over|down|head first|headfirst|arse over)\b",
        r"\bkeeled over\b", r"\blost (?:my|his|her) (?:balance|footing)\b",
        r"\b(?:legs|knees|leg|knee|hip) (?:gave|have given|has given|went|have gone|has gone|gave out|buckled)\b",
        r"\b(?:came|come|fell|fallen) (?:off|out of) (?:the|my|his|her) (?:ladder|step|steps|bed|chair|stool|bike)\b",
        r"\b(?:on|off|from) the (?:floor|ground|carpet|pavement|lino|rug|tiles)\b",
        r"\b(?:cannot|can not|could not|unable to|struggling to|too weak to) (?:get|stand|pick \w+|push \w+|lift \w+)"
        r"(?: myself| himself| herself| back)? ?up\b",
        r"\bstuck (?:on|in|between|under) (?:the|my)\b", r"\blying (?:on|here|in|at the bottom)\b",
    ),
    "medical": (
        r"\bchest\b.{0,30}\b(?:pain|pains|hurts?|hurting|tight|tightness|pressure|heavy|crushing|ache|aching|burning|"
        r"band|squeez\w*)\b",
        r"\b(?:pain|pains|pressure|tightness|crushing|heavy|ache|band|elephant)\b.{0,30}\bchest\b",
        r"\bheart attack\b",
        r"\bheart\b.{0,12}\b(?:racing|pounding|fluttering|going (?:fast|mad|funny)|thumping|stopped|giving out|"
        r"skipping|banging|beating (?:fast|funny|wildly))\b",
        r"\bstroke\b(?! (?:the|of|my|his|her|a|it|him)\b)", r"\bslurr\w*\b",
        r"\b(?:face|mouth|lip|eye|smile)\b.{0,15}\b(?:drooping|dropped|droopy|lopsided|numb|twisted|fallen|"
        r"funny|gone)\b",
        r"\b(?:speech|words|talking|voice)\b.{0,25}\b(?:slurred|wrong|funny|jumbled|strange|muddled|gone)\b",
        r"\b(?:cannot|can not|could not|unable to) (?:lift|raise|move|feel|use) (?:my|his|her) (?:arm|leg|hand|"
        r"left|right|face|side|fingers)\b",
        r"\b(?:arm|leg|side|hand|face|fingers)\b.{0,12}\b(?:gone|is|are|feels|went|has gone)\b.{0,8}\b(?:numb|weak|"
        r"dead|heavy|floppy|limp)\b",
        r"\b(?:one|left|right) side\b", r"\bcannot (?:get my words out|speak properly|talk properly)\b",
        r"\b(?:cannot|can not|can hardly|can barely|struggling to|trouble|hard to|unable to|fighting (?:for|to)|"
        r"could not|not able to) (?:breathe|breath|get (?:my |a |any |his |her )?(?:breath|air)|catch (?:my|his|"
        r"her) breath)\b",
        r"\bnot breathing\b", r"\bgasping\b", r"\bshort of breath\b", r"\bwheez\w*\b", r"\bfighting for breath\b",
        r"\bchok\w*\b", r"\bstuck in (?:my|his|her) throat\b", r"\bcannot swallow\b",
        r"\b(?:turning|going|gone|turned) (?:blue|grey|gray)\b",
        r"\bbleed\w*\b", r"\bblood\b(?! (?:test|tests|pressure|sugar|results|donor|orange))",
        r"\bcollapsed?\b", r"\bunconscious\b", r"\bpassed out\b", r"\bblacked out\b", r"\bfloppy\b",
        r"\bnot (?:responding|answering|moving|waking|coming round|making sense)\b",
        r"\b(?:will not|would not|cannot|can not|could not|does not|did not) (?:wake|rouse|respond|answer|come "
        r"round|get (?:a|any) response)\b",
        r"\bfaint\w*\b", r"\bfit\b(?! (?:and|as|for|in|the|into|enough))", r"\bfitting\b", r"\bseizures?\b",
        r"\bconvuls\w*\b", r"\bshaking all over\b", r"\beyes\b.{0,10}\brolling\b", r"\bjerking\b",
        r"\bhypo\b", r"\bsugars?\b.{0,25}\b(?:low|dropping|dropped|crashed|gone down)\b",
        r"\btoo many (?:of )?(?:my |his |her |the |those |these )?(?:\w+ )?(?:pills|tablets|capsules|painkillers|"
        r"paracetamol|meds|medication|medicine|insulin)\b",
        r"\boverdos\w*\b", r"\bdouble (?:dose|my|his|her|the)\b",
        r"\b(?:taken|took|swallowed|had) (?:all|a whole|the whole|the wrong|someone else'?s?|my \w+ twice|them twice|"
        r"my (?:pills|tablets) twice|twice)\b",
        r"\bwrong (?:pills|tablets|medicine)\b",
        r"\bworst headache\b", r"\b(?:sudden|terrible|awful|splitting|thunderclap|blinding)\b.{0,15}\b(?:headache|"
        r"pain in (?:my|his|her) head)\b", r"\bhead is splitting\b",
        r"\bseeing double\b", r"\bdouble vision\b", r"\btwo of everything\b", r"\bblurr\w*\b", r"\bgone blind\b",
        r"\b(?:in|terrible|awful|unbearable|severe|so much|agonising) (?:agony|pain)\b", r"\bunbearable\b",
        r"\bagony\b",
        r"\b(?:feel|feeling|felt|am|is)\b.{0,10}\b(?:very|really|so|terribly|awfully)? ?(?:unwell|ill|faint|dizzy|"
        r"funny|strange|awful|peculiar|poorly|terrible)\b",
        r"\bcome over (?:all )?(?:funny|faint|dizzy|peculiar|queer|strange|unwell)\b", r"\bfunny turn\b",
        r"\b(?:room|everything) is spinning\b", r"\bgoing to (?:faint|pass out|be sick|collapse)\b",
        r"\bvomit\w*\b", r"\bsick\b.{0,20}\bblood\b",
        r"\b(?:swelling|swollen|swelled)\b", r"\bstung\b", r"\ballergic\b", r"\bscald\w*\b",
        r"\bburn(?:t|ed)? (?:myself|my (?:hand|arm|leg|face)|himself|herself)\b", r"\bbroken (?:my|his|her)\b",
        r"\bclutching (?:his|her|my) chest\b", r"\bnumb\b", r"\bdizzy\b",
    ),
    "suicidal": (
        r"\b(?:want|wanting|wanted|going|ready|wish|like|longing|decided|thinking) (?:\w+ )?to (?:die|be dead|end "
        r"(?:it|my life|things|everything|it all)|kill myself|not be here|go to sleep (?:forever|and never|and not))\b",
        r"\bkill(?:ing)? myself\b", r"\bsuicid\w*\b",
        r"\bend(?:ing)? (?:it all|my life|my own life|things|it)\b(?! (?:there|here|for|now for|with|off))",
        r"\brather be dead\b", r"\b(?:want|like) (?:it|this|everything) (?:all )?to (?:be over|stop|end)\b",
        r"\b(?:wish|rather) i (?:had not|had never|was not|were not|never) (?:been born|existed|woken|here)\b",
        r"\btake my (?:own )?life\b", r"\bending (?:my life|it all)\b",
        r"\bbetter off (?:dead|without me|if i)\b",
        r"\b(?:happier|easier|better|simpler)\b.{0,25}\b(?:if|when) i (?:was|were|am|had|just)\b.{0,12}\b(?:gone|dead|"
        r"not here|died|disappeared)\b",
        r"\b(?:if|when) i (?:just )?(?:died|was gone|were gone|was dead|was not here)\b",
        r"\b(?:do not|does not|no longer|never) (?:want|wish) to (?:live|be alive|be here|wake up|go on|carry on|"
        r"keep going|be around)\b(?! (?:early|at|before|so|for))",
        r"\b(?:never|not) (?:to )?wake up\b", r"\b(?:hope|pray|wish)\b.{0,12}\b(?:do not|will not|would not|never|did "
        r"not|had not|not) (?:wake|woken|waking)\b",
        r"\bwish(?:ed)? i (?:was|were|had|would|could)\b.{0,10}\b(?:dead|never|not|died|disappear)\b",
        r"\bwish (?:god|the lord|he|death) would take me\b", r"\btake me (?:now|tonight|away|home)\b",
        r"\bready to go\b", r"\bbe with (?:my )?(?:husband|wife|him|her|jack) (?:now|again)\b",
        r"\bno (?:point|reason|use) (?:in |to |for )?(?:me|living|live|going on|carrying on|carry on|go on|being "
        r"here|being alive)\b",
        r"\bnothing (?:left )?to live for\b", r"\bnot worth living\b", r"\blife is not worth\b",
        r"\bhad enough of (?:living|life|it all|everything)\b", r"\b(?:cannot|can not) (?:go on|carry on|keep going)\b",
        r"\bno way out\b", r"\b(?:nobody|no one) would (?:miss|notice|care)\b",
        r"\b(?:saving|saved|stockpil\w+|hoard\w*|collect\w*|lined up|all my|all of my|all the)\b.{0,12}\b(?:pills|"
        r"tablets|medication|medicine)\b",
        r"\b(?:pills|tablets) (?:ready|lined up|saved)\b", r"\bjump (?:off|from|in front)\b",
        r"\bwalk into the (?:sea|river|road)\b", r"\bin front of a (?:train|bus|car|lorry)\b",
        r"\bgoodbye (?:letters?|notes?)\b", r"\bhow i would do it\b", r"\bhang myself\b",
        r"\b(?:hurt|harm|cut|cutting|hitting|hit|burn\w*|hurting|harming|starve|starving) myself\b",
        r"\bself harm\w*\b", r"\bon purpose\b", r"\blooking at the (?:knives|pills|tablets|rope)\b",
    ),
    "hopeless": (
        r"\bwhat is the point\b", r"\bno point\b", r"\bsee the point\b", r"\bburden\b", r"\bnuisance\b",
        r"\buseless\b", r"\bhopeless\b", r"\bnothing matters\b", r"\bnothing to look forward\b",
        r"\b(?:no one|nobody) (?:needs|wants|cares about) me\b", r"\btired of (?:everything|it all|living|life)\b",
        r"\bfed up (?:of|with) (?:living|life|everything|it all)\b", r"\bwaiting to die\b",
        r"\bhow (?:much )?longer i can\b", r"\b(?:want|sure i want|going) to (?:carry on|keep going|go on)\b",
        r"\bgive up\b", r"\bgiving up\b", r"\bwhy (?:i|should i) (?:keep|carry|go) on\b",
        r"\bkeep going\b", r"\bcannot be bothered (?:with )?(?:anything|everything|any more|anymore|to live)\b",
        r"\bnothing but (?:trouble|a nuisance|a burden|a worry)\b", r"\bno (?:reason|point) (?:for|to) me\b",
    ),
    "fire": (
        r"\bon fire\b", r"\bcaught (?:fire|light|alight)\b", r"\bcatch(?:ing)? fire\b", r"\bburning\b",
        r"\bflames?\b", r"\bfire\b(?! (?:is lit|brigade visit|safety|drill|works)|works|man|men|place|side|wood)",
        r"\bsmok(?:e|ing|y)\b", r"\bsmell\w*\b.{0,25}\b(?:gas|burning|smoke|fumes)\b", r"\bgas\b.{0,20}\b(?:leak\w*|"
        r"everywhere|smell\w*|on|alarm|hissing)\b", r"\bleak\w*\b.{0,12}\bgas\b", r"\brotten eggs?\b",
        r"\bcarbon monoxide\b", r"\bsparks?\b", r"\bsparking\b", r"\bhissing\b", r"\bfumes\b", r"\bexplo\w*\b",
    ),
    "stranger": (
        r"\bstrangers?\b(?! things)", r"\bintruders?\b", r"\bburgl\w*\b", r"\bbroken in\b", r"\bbreak(?:ing)? in\b",
        r"\bforc(?:e|ed|ing)\b", r"\bsmash\w*\b", r"\brattl\w*\b", r"\b(?:banging|hammering|knocking|pounding) "
        r"(?:on|at)\b", r"\bpush(?:ed|ing)? (?:past|in|his way|their way|to come)\b",
        r"\b(?:will not|would not|refuses? to|refused to|does not|did not) (?:go|leave|go away|get out)\b",
        r"\btrying (?:to get in|to open|to break|the doors?|to force|to come in|the handle|to climb)\b",
        r"\b(?:someone|somebody|a man|a woman|men|people|a stranger|a person)\b.{0,15}\b(?:in|inside) (?:the|my|our) "
        r"(?:house|home|room|kitchen|bedroom|hall|garden|flat)\b",
        r"\b(?:someone|somebody|a man|a woman|men|people|a stranger)\b.{0,10}\b(?:downstairs|upstairs|outside|"
        r"in the garden|at the (?:door|window)|looking through|lurking|watching)\b",
        r"\bfootsteps\b", r"\bfollow(?:ed|ing) me\b", r"\bwatching (?:me|the house)\b", r"\blurking\b",
        r"\bthreaten\w*\b", r"\bi do not know (?:him|her|them|who)\b", r"\b(?:man|men|woman|person) i do not know\b",
        r"\bshould not be (?:here|there|in)\b", r"\bnobody should be\b", r"\bglass breaking\b",
        r"\bclimb(?:ing)? (?:in|over|through)\b", r"\bhurt me\b",
    ),
    "scam": (
        r"\b(?:bank|card|account|pin|password|security|sort code|savings|money|cash|vouchers?|gift cards?|itunes|bail|"
        r"fee|tax|taxes|code|details|passcode|payment|pension)\b.{0,40}\b(?:phone|rang|ringing|caller|calling|called|"
        r"asking|asked|wants|wanted|needs|told me|telling me|keeps?|text)\b",
        r"\b(?:phone|rang|ringing|caller|calling|called|asking|asked|wants|wanted|needs|told me|telling me|keeps? "
        r"asking|says|said)\b.{0,40}\b(?:bank|card|account|pin|password|security|sort code|savings|money|cash|"
        r"vouchers?|gift cards?|itunes|bail|fee|tax|taxes|code|details|passcode|payment|transfer)\b",
        r"\bsafe account\b", r"\bgift cards?\b", r"\bvouchers\b", r"\b(?:take|taken|taking) (?:control|over) (?:of )?"
        r"(?:my|the) computer\b", r"\b(?:get|getting|log) into (?:my|the) (?:computer|bank|account)\b",
        r"\bvirus\b", r"\bmicrosoft\b", r"\bowe\b.{0,10}\btax\b", r"\barrested\b", r"\bwon (?:a|the) (?:prize|lottery|"
        r"competition|draw)\b", r"\bcourier\b", r"\bnot to hang up\b", r"\b(?:do not|must not|mustn't|not to) tell "
        r"(?:anyone|my family|my son|my daughter|the bank)\b", r"\bone time (?:passcode|code)\b",
        r"\bmove (?:my|all my) (?:money|savings)\b", r"\btransfer (?:my|the|all|some) (?:money|savings)\b",
        r"\bread (?:out|them|him|her) the (?:code|numbers?)\b", r"\bcollect my (?:bank )?card\b",
    ),
    "lost": (
        r"\b(?:do not|cannot|can not|no longer|could not) (?:know|remember|recognise|recognize|find|tell|work out) "
        r"(?:where i am|where i live|my way|the way|how to get (?:home|back)|which way|my address|this place|this "
        r"street|where i was going|how i got here|what day|these people|where (?:i|we) are|my (?:street|road|house))\b",
        r"\blost\b(?! (?:my|his|her|for|at|with|weight|interest|touch|the thread|count|track|a bit|some|cause|without)"
        r"\b)", r"\bwhere am i\b(?! (?:going|supposed|putting|meant))", r"\bwhich way (?:is|to) (?:home|back)\b",
        r"\b(?:way|how to get) (?:home|back)\b", r"\bwrong stop\b", r"\bnot my (?:house|home|room|bed)\b",
        r"\bnothing (?:looks|seems) familiar\b", r"\b(?:everything|it all) (?:looks|seems) (?:strange|different|"
        r"wrong)\b", r"\bwandering\b", r"\bdo not recogni[sz]e\b", r"\bwho are these people\b",
        r"\bhow did i get here\b",
        r"\b(?:so |very |all )?(?:confused|muddled|disorientated|disoriented)\b(?! (?:by|about|with|over|at))",
        r"\bwhere i live\b",
    ),
    "help": (
        r"\bhelp\b(?! (?:me (?:find|with|remember|to|get|look|sort|put|choose|write|fix|understand|read|think|do|make|"
        r"decide|in|out|up|carry|move|set|pick|plan|tidy|clean|cook|work)|you|yourself|him|her|them|with|my \w+ with))",
        r"\bambulance\b", r"\bnine nine nine\b", r"\b(?:999|911|112)\b", r"\bemergency\b", r"\bpolice\b",
        r"\bfire brigade\b", r"\bparamedics?\b", r"\bneed a doctor\b", r"\bget (?:a|the) doctor\b",
        r"\b(?:get|fetch|call|ring|phone) (?:someone|somebody|my \w+|\w+) (?:here |round |now|quick|urgently|"
        r"straight|quick\w*)\b", r"\bcome quick\w*\b", r"\burgent\w*\b", r"\bsomething terrible\b", r"\bsos\b",
        r"\bmayday\b", r"\bin trouble\b", r"\bscared\b", r"\bfrightened\b", r"\bterrified\b", r"\bplease come\b",
    ),
}

EMERGENCY_CATEGORIES = tuple(EMERGENCY_PATTERNS)
_COMPILED = {c: [re.compile(p) for p in ps] for c, ps in EMERGENCY_PATTERNS.items()}


def matches(text: str) -> dict[str, str]:
    """Category → the first words that matched its patterns (normalised text in)."""
    out: dict[str, str] = {}
    for category, patterns in _COMPILED.items():
        for rx in patterns:
            m = rx.search(text)
            if m:
                out[category] = m.group(0)
                break
    return out


def vector(found: dict[str, str]) -> np.ndarray:
    """The matches as 0/1 features, in EMERGENCY_CATEGORIES order."""
    return np.array([float(c in found) for c in EMERGENCY_CATEGORIES], dtype=np.float32)
