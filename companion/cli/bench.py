"""`companion bench`: latency from the end of her speech to the first reply audio, and what it costs.

A fixed set of Piper-synthesised utterances — complete questions and
statements, and unfinished phrases with 1–1.5 s word-finding pauses — is
played through the whole loop in real time, several times, in streaming mode
and in a sequential baseline (fixed silence, whole transcript → whole reply →
whole audio). Idle CPU while waiting for the wake word and peak memory are
measured in the same process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from companion.audio.echo import EchoPath
from companion.audio.frames import SAMPLE_RATE
from companion.audio.wav import WavFileSink, WavFileSource
from companion.config import Settings
from companion.voice.spoken import silence, speak_16k

# (parts, index of the part that comes after a word-finding pause, or None)
UTTERANCES: list[tuple[list[Any], int | None]] = [
    (["What time is it?"], None),
    (["Tell me something cheerful about autumn."], None),
    (["I baked an apple pie this morning."], None),
    (["My daughter is coming to visit on Sunday."], None),
    (["Can you tell me a joke?"], None),
    (["I feel a little tired today."], None),
    (["I went to the market and", 1.2, "bought some fresh bread."], 2),
    (["I was talking to my", 1.4, "neighbour about the garden."], 2),
    (["Yesterday I saw the", 1.0, "doctor about my knee."], 2),
    (["I would like to", 1.5, "call my sister later."], 2),
]
SEQUENTIAL_SILENCE_MS = 1600  # the baseline's fixed silence: shorter would cut 1-1.5 s word-finding pauses
STAGES = ("endpoint_ms", "stt_ms", "llm_first_token_ms", "first_sentence_ms", "tts_first_audio_ms",
          "first_audio_after_speech_end_ms")


@dataclass
class BenchClip:
    """One benchmark utterance and where its post-pause part starts (seconds into the clip)."""

    audio: np.ndarray
    resume_s: float | None


def make_clips(tts, utterances: list[tuple[list[Any], int | None]] | None = None) -> list[BenchClip]:
    """Synthesise the utterance set (wake word first) with the installed Piper voice."""
    clips = []
    for parts, resume_index in utterances or UTTERANCES:
        lead = [silence(0.5), speak_16k(tts, "Hey Jarvis"), silence(0.45)]
        pieces = [silence(p) if isinstance(p, (int, float)) else speak_16k(tts, p) for p in parts]
        resume = None
        if resume_index is not None:
            resume = sum(len(x) for x in lead + pieces[:resume_index]) / SAMPLE_RATE
        clips.append(BenchClip(np.concatenate(lead + pieces), resume))
    return clips


def _pct(values: Sequence[float], q: float) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    return float(np.percentile(vals, q))


def run_pass(settings: Settings, components, clips: list[BenchClip], *, streaming: bool, data: Path) -> tuple[list, int]:
    """Play every clip through the loop (turn-taking, real time); returns turn logs and the cut-off count."""
    from companion.app import App

    echo = EchoPath()
    source = WavFileSource.from_arrays([c.audio for c in clips], realtime=True, gap_s=0.8, tail_s=2.0, echo=echo)
    sink = WavFileSink(data / ("stream" if streaming else "seq"), realtime=False, echo=echo)
    app = App(settings, source=source, speaker=sink, echo=echo, components=components, start_alerts=False)
    app.engine.streaming = streaming
    source.ready = app.engine.awaiting_user
    try:
        app.run()
    finally:
        app.close()
    cutoffs = 0
    turns = app.engine.turns
    for i, clip in enumerate(clips):
        if clip.resume_s is None or i >= len(source.file_starts_s):
            continue
        start = source.file_starts_s[i]
        end = source.file_starts_s[i + 1] if i + 1 < len(source.file_starts_s) else float("inf")
        ends = [t.timings.speech_end_stream_s for t in turns]
        inside = [s for s in ends if s is not None and start <= s < end]
        if not inside or len(inside) > 1 or inside[0] < start + clip.resume_s:
            cutoffs += 1
    return turns, cutoffs


def idle_cpu_percent(settings: Settings, components, seconds: float, data: Path) -> float:
    """CPU used by the whole process while it waits for the wake word, in % of one core."""
    from companion.app import App

    rng = np.random.default_rng(0)
    room = (rng.normal(0, 30, int(seconds * SAMPLE_RATE))).astype(np.int16)  # quiet room noise, ~-60 dBFS
    echo = EchoPath()
    source = WavFileSource.from_array(room, realtime=True, tail_s=0)
    app = App(settings, source=source, speaker=WavFileSink(data / "idle", realtime=False), echo=echo,
              components=components, start_alerts=True)
    try:
        t0, c0 = time.monotonic(), time.process_time()
        app.run()
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
    finally:
        app.close()
    return 100.0 * cpu / wall


def bench(settings: Settings, *, repeats: int = 2, json_path: str | None = None, idle_s: float = 20.0,
          compare: str = "pocketsphinx", hearing_dir: str | None = None, turns_dir: str | None = None,
          split: str = "test", engines: str = "whisper,pocketsphinx") -> int:
    """Run the benchmark (or its --hearing / --turn-taking mode) and print (and optionally save) the figures."""
    from companion.app import load_components

    if hearing_dir:
        from companion.cli.bench_hearing import hearing

        result = {"hearing": hearing(settings, hearing_dir, engines.split(","), split)}
        _print_hearing(result["hearing"])
        return _save(result, json_path)
    echo = EchoPath()
    print("Loading models...", flush=True)
    t0 = time.monotonic()
    components = load_components(settings, echo)
    load_s = time.monotonic() - t0
    if turns_dir:
        from companion.cli.bench_hearing import turn_taking

        with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
            bench_settings = settings.replace(memory={"data_dir": str(Path(tmp) / "store")}, routines={"file": ""})
            result = {"turn_taking": turn_taking(bench_settings, components, turns_dir, split, Path(tmp)),
                      "engine": components.recognizer.name}
        _print_turns(result["turn_taking"])
        return _save(result, json_path)
    clips = make_clips(components.tts)
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
        data = Path(tmp)
        bench_settings = settings.replace(memory={"data_dir": str(data / "store")},
                                          routines={"file": ""})
        seq_settings = bench_settings.replace(vad={"complete_silence_ms": SEQUENTIAL_SILENCE_MS,
                                                   "default_silence_ms": SEQUENTIAL_SILENCE_MS,
                                                   "incomplete_silence_ms": SEQUENTIAL_SILENCE_MS})
        stream_turns, seq_turns, cutoffs, paused = [], [], 0, 0
        for r in range(repeats):
            print(f"Pass {r + 1}/{repeats}: streaming...", flush=True)
            turns, cut = run_pass(bench_settings, components, clips, streaming=True, data=data)
            stream_turns += turns
            cutoffs += cut
            paused += sum(1 for c in clips if c.resume_s is not None)
            print(f"Pass {r + 1}/{repeats}: sequential...", flush=True)
            turns, _ = run_pass(seq_settings, components, clips, streaming=False, data=data)
            seq_turns += turns
        old_first: list = []
        if compare != "none" and compare != components.recognizer.name:
            from companion.ears.stt import load_recognizer

            old = dataclasses.replace(components, recognizer=load_recognizer(settings.replace(
                stt={"engine": compare}).stt))
            for r in range(repeats):
                print(f"Pass {r + 1}/{repeats}: streaming with {compare} (the comparison)...", flush=True)
                turns, _ = run_pass(bench_settings, old, clips, streaming=True, data=data)
                old_first += [t.timings.first_audio_after_speech_end_ms for t in turns]
        print(f"Idle: {idle_s:.0f} s listening for the wake word...", flush=True)
        idle = idle_cpu_percent(bench_settings, components, idle_s, data)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    first = [t.timings.first_audio_after_speech_end_ms for t in stream_turns]
    seq_first = [t.timings.first_audio_after_speech_end_ms for t in seq_turns]
    result = {
        "acknowledgement": acknowledgement_lead(stream_turns),
        "first_audio_ms": {"p50": _pct(first, 50), "p95": _pct(first, 95)},
        "sequential_first_audio_ms": {"p50": _pct(seq_first, 50), "p95": _pct(seq_first, 95)},
        "streaming_speedup": None,
        "cutoff_rate": cutoffs / paused if paused else 0.0,
        "idle_cpu_percent": idle,
        "peak_rss_mb": peak_rss_mb,
        "stages_ms": {k: {"p50": _pct([getattr(t.timings, k) for t in stream_turns], 50),
                          "p95": _pct([getattr(t.timings, k) for t in stream_turns], 95)} for k in STAGES},
        "sequential_stages_ms": {k: {"p50": _pct([getattr(t.timings, k) for t in seq_turns], 50),
                                     "p95": _pct([getattr(t.timings, k) for t in seq_turns], 95)} for k in STAGES},
        "compared_first_audio_ms": {"engine": compare, "p50": _pct(old_first, 50), "p95": _pct(old_first, 95)}
        if old_first else None,
        "turns": len(stream_turns),
        "speculation_used": sum(t.speculative_used for t in stream_turns),
        "model_load_s": load_s,
        "machine": {"cores": os.cpu_count()},
        "engines": {"stt": components.recognizer.name, "llm": components.llm.model_name},
    }
    if result["first_audio_ms"]["p50"] and result["sequential_first_audio_ms"]["p50"]:
        result["streaming_speedup"] = result["sequential_first_audio_ms"]["p50"] / result["first_audio_ms"]["p50"]
    _print(result)
    return _save(result, json_path)


def _save(result: dict[str, Any], json_path: str | None) -> int:
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2))
        print(f"\nJSON written to {json_path}")
    return 0


def _print_hearing(r: dict[str, Any]) -> None:
    print("\nWord error rate on labelled real recordings (speakers split: train / test)")
    for engine, by in r.items():
        parts = [f"{s} {v['wer']:.1%} WER ({v['sentences_wrong']:.0%} of {v['clips']} sentences wrong)"
                 for s, v in by.items() if isinstance(v, dict)]
        print(f"  {engine:13s} " + "; ".join(parts) + f"; real-time factor {by['rtf']:.2f}")


def _print_turns(r: dict[str, Any]) -> None:
    f = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    for label, v in r.items():
        s = v["summary"]
        print(f"\nTurn-taking, {label} ({s['cases']} cases through the whole loop):")
        print(f"  WER {s['wer']:.1%}   cut-offs in word-finding pauses {s['cut_off_rate']:.0%}   "
              f"early endpoints rescued by joining {s['early_endpoint_rescued']}")
        print(f"  complete utterances: long waits (> 1.2 s) {s['long_wait_rate']:.0%}, median endpoint "
              f"{f(s['median_endpoint_ms'])} ms, worst {f(s['max_endpoint_ms'])} ms, unanswered {s['unanswered']}")
        for row in v["cases"]:
            end = None if row["endpoint_s"] is None else row["endpoint_s"] * 1000
            print(f"    {row['case'][:48]:48s} endpoint {f(end):>6s} ms  {'CUT ' if row['cut_off'] else ''}"
                  f"{row['heard']!r}")
def acknowledgement_lead(turns: list) -> dict[str, Any]:
    """For replies where the model was asked for a sentence: does the acknowledgement's audio start before the
    model's first token, and by how much (ms, both from the end of her speech)?"""
    leads = [t.timings.llm_first_token_after_speech_end_ms - t.timings.first_audio_after_speech_end_ms
             for t in turns if t.timings.first_audio_after_speech_end_ms is not None
             and t.timings.llm_first_token_after_speech_end_ms is not None]
    return {"turns": len(leads), "ack_first": sum(lead > 0 for lead in leads),
            "lead_ms": {"p50": _pct(leads, 50), "min": min(leads) if leads else None}}


def _print(r: dict[str, Any]) -> None:
    f = lambda v: "-" if v is None else f"{v:7.0f}"  # noqa: E731
    print("\nEnd of her speech → first reply audio (ms, trailing silence included)")
    print(f"  streaming   p50 {f(r['first_audio_ms']['p50'])}   p95 {f(r['first_audio_ms']['p95'])}")
    print(f"  sequential  p50 {f(r['sequential_first_audio_ms']['p50'])}   "
          f"p95 {f(r['sequential_first_audio_ms']['p95'])}")
    sp = r["streaming_speedup"]
    print(f"  streaming speed-up: {sp:.2f}x" if sp else "  streaming speed-up: -")
    if r.get("compared_first_audio_ms"):
        c = r["compared_first_audio_ms"]
        print(f"  same run, {r['engines']['stt']} vs {c['engine']}: p50 {f(r['first_audio_ms']['p50'])} vs "
              f"{f(c['p50'])}   p95 {f(r['first_audio_ms']['p95'])} vs {f(c['p95'])}")
    print("\nStages, streaming (p50 / p95 ms):")
    for k, v in r["stages_ms"].items():
        print(f"  {k:34s} {f(v['p50'])} / {f(v['p95'])}")
    ack = r["acknowledgement"]
    print(f"\nAcknowledgement audio before the model's first token: {ack['ack_first']} of {ack['turns']} replies "
          f"that asked the model (lead p50 {f(ack['lead_ms']['p50'])} ms, min {f(ack['lead_ms']['min'])} ms)")
    print(f"\nCut-offs inside word-finding pauses: {r['cutoff_rate']:.2f}")
    print(f"Speculative replies used: {r['speculation_used']} of {r['turns']} turns")
    print(f"Idle CPU while listening for the wake word: {r['idle_cpu_percent']:.1f} % of one core")
    print(f"Peak resident memory: {r['peak_rss_mb']:.0f} MB")


def add_commands(subparsers) -> None:
    """Register `companion bench`."""
    b = subparsers.add_parser("bench", help="measure latency, streaming speed-up, cut-offs, idle CPU and memory")
    b.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    b.add_argument("--repeats", type=int, default=3, help="runs of the utterance set (default 3)")
    b.add_argument("--compare", default="pocketsphinx", metavar="ENGINE",
                   help="also measure first audio with this recogniser in the same run ('none' to skip)")
    b.add_argument("--hearing", metavar="DIR", help="instead: word error rate on labelled real recordings in DIR")
    b.add_argument("--turn-taking", metavar="DIR", help="instead: turn-taking cases built from the voices in DIR")
    b.add_argument("--split", choices=["train", "test", "all"], default="test", help="speakers to use (default test)")
    b.add_argument("--engines", default="whisper,pocketsphinx", help="recognisers for --hearing (comma-separated)")
    b.set_defaults(func=lambda args, settings: bench(settings, repeats=args.repeats, json_path=args.json,
                                                     compare=args.compare, hearing_dir=args.hearing,
                                                     turns_dir=args.turn_taking, split=args.split,
                                                     engines=args.engines))
