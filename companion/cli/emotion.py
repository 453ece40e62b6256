"""`companion emotion ...` subcommands: score the shipped voice-emotion model on labelled audio."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TASKS = ("8class", "4class", "arousal", "valence")


def add_commands(subparsers: Any) -> None:
    """Register `emotion eval` (and `emotion status`) on the CLI's subparsers."""
    p = subparsers.add_parser("emotion", help="mood sensing: evaluate the model, show consent state")
    sub = p.add_subparsers(dest="emotion_command", required=True)
    ev = sub.add_parser("eval", help="unweighted average recall on DIR (audio + labels.csv: file,speaker,emotion)")
    ev.add_argument("dir", type=Path, help="directory with audio files and labels.csv")
    ev.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ev.add_argument("--model", type=Path, help="weights to score (default: the shipped ones or [emotion] model_path)")
    ev.set_defaults(func=run_eval)
    st = sub.add_parser("status", help="is mood sensing on, her answer, her voice baseline")
    st.set_defaults(func=run_status)


def run_eval(args: argparse.Namespace, settings: Any) -> int:
    """Print cold and with-baseline UARs and feature speed for the clips in DIR."""
    from companion.emotion import training as T
    from companion.emotion.model import DEFAULT_MODEL_PATH, EmotionModel
    from companion.errors import CompanionError

    try:
        model = EmotionModel.load(args.model or settings.emotion.model_path or DEFAULT_MODEL_PATH)
        clips = T.read_labels(args.dir)
        if not clips:
            print(f"{args.dir}/labels.csv lists no clip with a known emotion label")
            return 2
        print(f"{len(clips)} clips from {len({c.speaker for c in clips})} speakers in {args.dir}; extracting features...")
        X, ms = T.features(clips)
    except CompanionError as exc:
        print(f"error: {exc}")
        return 2
    spk = np.array([c.speaker for c in clips])
    emo = np.array([c.emotion for c in clips])
    # as the issue defines it: every clip's baseline is all of its speaker's other clips
    res = T.evaluate(model, X, spk, emo)
    need = settings.emotion.baseline_min_utterances
    few = sorted(s for s, n in _counts(spk).items() if n - 1 < need)
    if few:
        print(f"note: {len(few)} speaker(s) have fewer than {need} other clips; the app would still use the cold model for them")
    print(f"\nunweighted average recall ({', '.join(f'{k}: {v}' for k, v in _counts(emo).items())})")
    print(f"  {'':9}" + "".join(f"{t:>9}" for t in TASKS))
    for mode in ("cold", "baseline"):
        print(f"  {mode:9}" + "".join(f"{res[mode][t]:9.3f}" for t in TASKS))
    print(f"\nfeature extraction: {ms:.2f} ms per second of audio")
    if args.json:
        clean = {m: {t: (None if np.isnan(v) else round(float(v), 4)) for t, v in r.items()} for m, r in res.items()}
        args.json.write_text(json.dumps({"uar": clean, "feature_ms_per_audio_s": round(ms, 3)}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _counts(emo: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(emo, return_counts=True)
    return dict(zip(map(str, names), map(int, counts)))


def run_status(args: argparse.Namespace, settings: Any) -> int:
    """Print the mood-sensing status line that `companion doctor` shows."""
    from companion.clock import SystemClock
    from companion.config import data_dir
    from companion.emotion.sensor import MoodSensor
    from companion.store.store import Store

    with Store.open(data_dir(settings)) as store:
        print("mood sensing", MoodSensor.from_settings(settings.emotion, store, SystemClock()).status())
    return 0
