"""`companion bench --hearing DIR` and `--turn-taking DIR`: recognition and turn-taking on real voices.

--hearing: word error rate of each recogniser on a folder of labelled
recordings (ears.evaluation), train and test speakers reported apart.

--turn-taking: cases built from the real voices in DIR (RAVDESS actors of the
chosen split), played through the whole loop in real time: complete
utterances, word-finding pauses of 1.0-1.8 s cut into real sentences at a word
boundary, two sentences joined by a pause, slow Piper speech with and without
pauses, each also with a TV-like background (other speech 18 dB below her
voice). Reported: WER, the cut-off rate (a turn ended inside a pause and her
next words were lost), early endpoints rescued by joining, the long-wait rate
(a complete utterance waited more than 1.2 s) and the median endpoint from the
true end of her speech. No recording is copied anywhere.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from companion.audio.frames import SAMPLE_RATE
from companion.ears.evaluation import Labelled, labelled_recordings, word_errors

LONG_WAIT_S = 1.2
TV_BELOW_DB = 18.0
HER_DB = -26.0  # active-speech level she is scaled to (dBFS)
TV_LINES = ["And now the weather for the weekend. Rain is expected in the north, with sunny spells in the south.",
            "Temperatures will stay mild for the time of year, and the wind will ease by Sunday evening.",
            "In other news, the village fete raised a record sum for the church roof this summer.",
            "Back to the studio now for the rest of the evening news and the sport."]
SLOW_LINES = [(["Could you tell me what time it is?"], None), (["What's the weather like today?"], None),
              (["I was talking to my", 1.4, "neighbour about the garden."], 1),
              (["Yesterday I went to the", 1.6, "doctor about my knee."], 1)]


def _read(path) -> np.ndarray:
    from companion.audio.wav import read_audio

    return read_audio(path)


def hearing(settings, directory: str, engines: list[str], split: str) -> dict:
    """WER per engine and split on the labelled recordings in `directory`."""
    from companion.ears.stt import load_recognizer

    items = [x for x in labelled_recordings(directory) if split == "all" or x.split == split]
    out: dict = {}
    for engine in engines:
        rec = load_recognizer(settings.replace(stt={"engine": engine}).stt)
        per: dict[str, list[int]] = {}
        audio_s = cpu_s = 0.0
        for i, item in enumerate(items):
            audio = _read(item.path)
            t0 = time.monotonic()
            text = rec.transcribe(audio).text
            cpu_s += time.monotonic() - t0
            audio_s += len(audio) / SAMPLE_RATE
            e, n = word_errors(item.text, text)
            acc = per.setdefault(item.split, [0, 0, 0, 0])
            acc[0], acc[1], acc[2], acc[3] = acc[0] + e, acc[1] + n, acc[2] + (e > 0), acc[3] + 1
            if (i + 1) % 100 == 0:
                print(f"  {engine}: {i + 1}/{len(items)}", flush=True)
        out[engine] = {s: {"wer": a[0] / a[1], "sentences_wrong": a[2] / a[3], "clips": a[3]}
                       for s, a in sorted(per.items())}
        out[engine]["rtf"] = cpu_s / audio_s if audio_s else None
        rec.close()
    return out


# ---------------------------------------------------------------- turn-taking


@dataclass
class Case:
    """One utterance for the loop: her audio (wake word first) and what is true about it."""

    name: str
    audio: np.ndarray
    text: str  # what she said
    speech_end_s: float  # true end of her speech, seconds into the clip
    pauses: list[tuple[float, float]] = field(default_factory=list)  # word-finding pauses, seconds into the clip


def _active_db(audio: np.ndarray) -> float:
    a = audio.astype(np.float64)
    active = a[np.abs(a) > 0.05 * (np.abs(a).max() + 1)]
    return 20 * np.log10(np.sqrt(np.mean(active ** 2)) / 32768 + 1e-12)


def _scale(audio: np.ndarray, db: float) -> np.ndarray:
    return np.clip(audio * 10 ** ((db - _active_db(audio)) / 20), -32768, 32767).astype(np.int16)


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > 0.05 * np.abs(audio).max())[0]
    return audio[max(0, loud[0] - 800):loud[-1] + 800]


def _split_at_word(audio: np.ndarray, recognizer, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut a real sentence after its k-th word, at the quietest point between the two words."""
    result = recognizer.transcribe(audio)
    if len(result.words) <= k:
        return None
    a, b = result.words[k - 1].end_s, result.words[k].start_s
    lo, hi = int((min(a, b) - 0.08) * SAMPLE_RATE), int((max(a, b) + 0.08) * SAMPLE_RATE)
    if lo <= 0 or hi >= len(audio):
        return None
    env = np.convolve(np.abs(audio[lo:hi]).astype(np.float64), np.ones(160) / 160, "same")
    cut = lo + int(np.argmin(env))
    return audio[:cut], audio[cut:]


def build_cases(items: list[Labelled], tts, recognizer, *, n: int = 6, seed: int = 0) -> list[Case]:
    """Complete utterances and word-finding pauses from real voices, and slow Piper speech."""
    from companion.voice.spoken import silence, speak_16k

    rng = np.random.default_rng(seed)
    picks = [items[i] for i in rng.permutation(len(items))[:3 * n]]
    wake = _trim(speak_16k(tts, "Hey Jarvis"))
    cases: list[Case] = []

    def make(name: str, parts: list, text: str) -> Case:
        lead = [silence(0.6), wake, silence(0.45)]
        t = sum(len(x) for x in lead) / SAMPLE_RATE
        pieces, pauses = list(lead), []
        for p in parts:
            if isinstance(p, float):
                pauses.append((t, t + p))
                pieces.append(silence(p))
                t += p
            else:
                pieces.append(p)
                t += len(p) / SAMPLE_RATE
        return Case(name, np.concatenate(pieces + [silence(2.5)]), text, t, pauses)

    for item in picks[:n]:  # complete sentences, real voices
        cases.append(make(f"complete {item.path.name}", [_scale(_trim(_read(item.path)), HER_DB)], item.text))
    for j, item in enumerate(picks[n:2 * n]):  # a word-finding pause inside a real sentence
        audio = _scale(_trim(_read(item.path)), HER_DB)
        halves = _split_at_word(audio, recognizer, k=2 + j % 4)
        if halves is None:
            continue
        pause = float(np.round(rng.uniform(1.0, 1.8), 2))
        cases.append(make(f"pause {pause}s {item.path.name}", [halves[0], pause, halves[1]], item.text))
    for a, b in zip(picks[2 * n:3 * n:2], picks[2 * n + 1:3 * n:2]):  # two sentences, a pause between
        pause = float(np.round(rng.uniform(1.0, 1.8), 2))
        cases.append(make(f"two sentences {pause}s", [_scale(_trim(_read(a.path)), HER_DB), pause,
                                                      _scale(_trim(_read(b.path)), HER_DB)], f"{a.text} {b.text}"))
    for parts, _ in SLOW_LINES:  # slow synthetic speech (Piper at 1.6x length)
        audio = [float(p) if isinstance(p, (int, float)) else _scale(_trim(speak_16k(tts, p, length_scale=1.6)),
                                                                        HER_DB) for p in parts]
        text = " ".join(p for p in parts if isinstance(p, str))
        cases.append(make(f"slow: {text}", audio, " ".join(re.findall(r"[a-z']+", text.lower()))))
    return cases


def with_tv(case: Case, tv: np.ndarray) -> Case:
    """The same case with TV talk 18 dB below her voice, from 2 s before the wake word to the end."""
    lead = np.zeros(2 * SAMPLE_RATE, np.int16)
    audio = np.concatenate([lead, case.audio])
    reps = int(np.ceil(len(audio) / len(tv)))
    mixed = np.clip(audio.astype(np.int32) + np.tile(tv, reps)[:len(audio)], -32768, 32767).astype(np.int16)
    return Case(case.name + " +TV", mixed, case.text, case.speech_end_s + 2.0,
                [(a + 2.0, b + 2.0) for a, b in case.pauses])


def tv_audio(tts) -> np.ndarray:
    """News-reader talk at HER_DB - 18 dB, long enough to loop under a case."""
    from companion.voice.spoken import speak_16k

    return _scale(np.concatenate([speak_16k(tts, line) for line in TV_LINES]), HER_DB - TV_BELOW_DB)


def run_cases(settings, components, cases: list[Case], data) -> list[dict]:
    """Play the cases through the whole loop in real time; one result row per case."""
    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource
    from companion.loop.turn import Resumed, SpeechEnded, TurnEvent

    events: list[tuple[float, TurnEvent]] = []
    echo = EchoPath()
    source = WavFileSource.from_arrays([c.audio for c in cases], realtime=True, gap_s=0.8, tail_s=2.0, echo=echo)
    sink = WavFileSink(data / "turns", realtime=False, echo=echo)
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, start_alerts=False)
    app.engine.events.add_listener(lambda e: events.append((app.engine.stream_s, e)))
    source.ready = app.engine.awaiting_user
    try:
        app.run()
    finally:
        app.close()
    rows = []
    starts = source.file_starts_s + [float("inf")]
    for i, case in enumerate(cases):
        t0, t1 = starts[i], starts[i + 1]
        ends = [(e.speech_end_stream_s + e.endpoint_ms / 1000, e) for _, e in events
                if isinstance(e, SpeechEnded) and t0 <= e.speech_end_stream_s < t1]
        resumed = {id(e.turn) for s, e in events if isinstance(e, Resumed) and t0 <= s < t1}
        early = [(t, e) for t, e in ends for a, b in case.pauses if t0 + a <= t < t0 + b]
        cut = [e for _, e in early if id(e.turn) not in resumed]
        turns = [t for t in app.engine.turns if t.timings.speech_end_stream_s is not None
                 and t0 <= t.timings.speech_end_stream_s < t1]
        final = [t for t in ends if t[0] >= t0 + case.speech_end_s - 0.05]
        heard = " ".join(t.text for t in turns)  # a turn cut in two still heard every word
        err, n = word_errors(case.text, heard)
        rows.append({"case": case.name, "pause": bool(case.pauses), "heard": heard, "turns": len(turns),
                     "wer_errors": err, "words": n, "early_endpoints": len(early), "resumed": len(resumed),
                     "cut_off": bool(cut) or len(turns) > 1,
                     "endpoints_s": [round(t - t0 - case.speech_end_s, 3) for t, _ in ends],
                     "endpoint_s": (final[0][0] - t0 - case.speech_end_s) if final else None})
    return rows


def summarise(rows: list[dict]) -> dict:
    """WER, cut-off rate, rescued early endpoints, long waits and median endpoint of a set of case rows."""
    complete = [r for r in rows if not r["pause"]]
    paused = [r for r in rows if r["pause"]]
    waits = [r["endpoint_s"] for r in complete if r["endpoint_s"] is not None]
    return {
        "cases": len(rows),
        "wer": sum(r["wer_errors"] for r in rows) / max(1, sum(r["words"] for r in rows)),
        "cut_off_rate": sum(r["cut_off"] for r in paused) / max(1, len(paused)),
        "early_endpoint_rescued": sum(r["early_endpoints"] > 0 and not r["cut_off"] for r in paused),
        "split_turns": sum(r["turns"] > 1 for r in rows),
        "long_wait_rate": sum(w > LONG_WAIT_S for w in waits) / max(1, len(complete)),
        "unanswered": sum(r["endpoint_s"] is None for r in complete),
        "median_endpoint_ms": float(np.median(waits) * 1000) if waits else None,
        "max_endpoint_ms": float(max(waits) * 1000) if waits else None,
    }


def turn_taking(settings, components, directory: str, split: str, data, n: int = 6) -> dict:
    """Build the cases from DIR's real voices (one split), run them quiet and with a TV, summarise."""
    items = [x for x in labelled_recordings(directory) if split == "all" or x.split == split]
    cases = build_cases(items, components.tts, components.recognizer, n=n)
    tv = tv_audio(components.tts)
    out = {}
    for label, run in (("quiet", cases), ("tv_18db_below", [with_tv(c, tv) for c in cases])):
        print(f"Turn-taking ({label}): {len(run)} cases in real time...", flush=True)
        rows = run_cases(settings, components, run, data)
        out[label] = {"summary": summarise(rows), "cases": rows}
    return out

