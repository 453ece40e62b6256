"""`companion transcribe`: WAV and FLAC at other rates, converted, transcribed, with the engine and speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from companion.audio.frames import resample

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


def test_transcribe_wav_and_flac_at_other_rates(tmp_path):
    import soundfile as sf

    clip, rate = sf.read(str(RAVDESS / "03-01-03-01-02-01-05.flac"), dtype="int16")  # actor 5: "dogs ..."
    wav = tmp_path / "mum-44k-stereo.wav"
    hi = resample(clip, rate, 44100)
    sf.write(str(wav), np.stack([hi, hi], axis=1), 44100, subtype="PCM_16")
    flac = tmp_path / "mum-22k.flac"
    sf.write(str(flac), resample(clip, rate, 22050), 22050)
    bad = tmp_path / "notes.flac"
    bad.write_text("not audio")
    proc = subprocess.run([sys.executable, "-m", "companion", "transcribe", "--json", str(wav), str(flac), str(bad)],
                          capture_output=True, text=True, timeout=180)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 2, proc.stderr[-2000:]  # the unreadable file is reported; the others still ran
    assert [r["text"] for r in rows[:2]] == ["dogs are sitting by the door"] * 2
    assert all(r["engine"] == "whisper" and r["rtf"] > 0 and abs(r["duration_s"] - len(clip) / rate) < 0.05
               for r in rows[:2])
    assert [w["word"] for w in rows[0]["words"]] == ["dogs", "are", "sitting", "by", "the", "door"]
    assert "notes.flac" in rows[2]["error"] and "WAV or FLAC" in rows[2]["error"]
    plain = subprocess.run([sys.executable, "-m", "companion", "transcribe", str(flac)], capture_output=True,
                           text=True, timeout=180)
    assert plain.returncode == 0
    assert "mum-22k.flac: dogs are sitting by the door" in plain.stdout and "real-time factor" in plain.stdout
