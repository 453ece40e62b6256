#!/usr/bin/env python3
"""Train the shipped voice-emotion weights and print leave-speakers-out cross-validation.

Usage:
    .venv/bin/python scripts/train_emotion.py [--data DIR] [--folds 6] [--augment 2]
        [--opensmile] [--out companion/emotion/data/emotion_model.npz] [--cache FILE.npz]

DIR (default ../shared/data/emotion-speech) holds one folder per corpus, each
with audio and a labels.csv (file,speaker,emotion,...). The audio is only read,
never copied. RAVDESS is CC BY-NC-SA 4.0, and so are the weights trained on it.
`--opensmile` also scores openSMILE's eGeMAPSv02 functionals through the same
classifier (needs the dev-only `opensmile` package).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.emotion import training as T  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emotion-speech"


def corpus_clips(data: Path) -> list[T.Clip]:
    """Every labelled clip of every corpus under DATA (speakers prefixed by corpus)."""
    clips: list[T.Clip] = []
    for labels in sorted(data.glob("*/labels.csv")) or [data / "labels.csv"]:
        for c in T.read_labels(labels.parent):
            clips.append(T.Clip(c.path, f"{labels.parent.name}/{c.speaker}", c.emotion))
    return clips


def opensmile_features(clips: list[T.Clip]) -> tuple[np.ndarray, float]:
    """eGeMAPSv02 functionals of each clip, and openSMILE's ms per second of audio."""
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
    rows, spent, audio_s = [], 0.0, 0.0
    for c in clips:
        a = T.load_audio(c.path)
        t0 = time.perf_counter()
        rows.append(smile.process_signal(a, 16000).to_numpy()[0])
        spent += time.perf_counter() - t0
        audio_s += len(a) / 16000
    return np.nan_to_num(np.stack(rows)), 1000 * spent / audio_s


def show(title: str, res: dict) -> None:
    """Print one table row per mode (everyday = baseline from calm/neutral clips, as in the app)."""
    print(f"\n{title}")
    print(f"  {'':9}" + "".join(f"{h:>9}" for h in T.HEADS))
    for m, r in res.items():
        print(f"  {m:9}" + "".join(f"{r[h]:9.3f}" for h in T.HEADS))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--augment", type=int, default=2, help="channel-perturbed copies of each training speaker")
    ap.add_argument("--opensmile", action="store_true", help="also cross-validate openSMILE eGeMAPSv02 functionals")
    ap.add_argument("--out", type=Path, default=ROOT / "companion" / "data" / "emotion_model.npz")
    ap.add_argument("--cache", type=Path, help="reuse/store extracted features here (outside the repo)")
    ap.add_argument("--json", type=Path, help="write the CV figures here")
    args = ap.parse_args()

    clips = corpus_clips(args.data)
    spk = np.array([c.speaker for c in clips])
    emo = np.array([c.emotion for c in clips])
    print(f"{len(clips)} clips, {len(np.unique(spk))} speakers, {args.folds}-fold leave-speakers-out CV")
    if args.cache and args.cache.is_file():
        z = np.load(args.cache)
        X, ms, Xa, spka, emoa = z["X"], float(z["ms"]), z["Xa"], z["spka"], z["emoa"]
    else:
        X, ms = T.features(clips)
        Xa, spka, emoa = T.augmented_features(clips, args.augment) if args.augment else (np.zeros((0, X.shape[1])), np.array([]), np.array([]))
        if args.cache:
            np.savez(args.cache, X=X, ms=ms, Xa=Xa, spka=spka, emoa=emoa)
    print(f"features: {X.shape[1]} per clip, {ms:.2f} ms per second of audio")

    figures: dict = {"feature_ms_per_audio_s": ms, "cv": {}}
    figures["cv"]["prosody"] = T.cross_validate(X, spk, emo, args.folds)
    show("prosody features, clean training", figures["cv"]["prosody"])
    if len(Xa):
        figures["cv"]["prosody+augment"] = T.cross_validate(X, spk, emo, args.folds, extra=(Xa, spka, emoa))
        show(f"prosody features, training + {args.augment} channel-perturbed copies", figures["cv"]["prosody+augment"])
    if args.opensmile:
        if args.cache and args.cache.with_suffix(".opensmile.npz").is_file():
            z = np.load(args.cache.with_suffix(".opensmile.npz"))
            Xo, oms = z["X"], float(z["ms"])
        else:
            Xo, oms = opensmile_features(clips)
            if args.cache:
                np.savez(args.cache.with_suffix(".opensmile.npz"), X=Xo, ms=oms)
        figures["opensmile_ms_per_audio_s"] = oms
        figures["cv"]["opensmile_egemaps"] = T.cross_validate(Xo, spk, emo, args.folds)
        show(f"openSMILE eGeMAPSv02 functionals, same classifier ({oms:.1f} ms per second of audio)", figures["cv"]["opensmile_egemaps"])

    model = T.train(np.vstack([X, Xa]), np.r_[spk, spka], np.r_[emo, emoa])
    model.save(args.out)
    print(f"\nwrote {args.out} ({args.out.stat().st_size // 1024} KiB), trained on all {len(np.unique(spk))} speakers")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
