"""When the device was running and listening: the record that keeps downtime from looking like
inactivity, and whether the wall clock can be trusted yet (a Pi has no real-time clock).

Durations come from the monotonic clock; wall times only anchor them for the family's reports.
A wall clock that jumps (NTP correcting it after boot) moves the current segment by the
correction, so a step never becomes hours of "running" or of "off". The
record is a small JSON file (`<data dir>/caregiver/presence.json`), read and written only here,
so it can move onto the store's journal later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from companion.clock import Clock
from companion.store.file import atomic_write

log = logging.getLogger(__name__)

KEEP = timedelta(days=60)
CLOCK_STEP_S = 120.0  # wall and monotonic disagreeing by more than this between beats = the clock was stepped
MAX_BEAT_S = 300.0
SAVE_EVERY_S = 600.0  # written at most this often (an SD card should not be rewritten every minute): the
# record of a run that ended in a power cut is accurate to 10 minutes  # a longer gap between beats (suspend, a stalled thread) is not counted as running
STA_UNSYNC = 0x0040  # adjtimex status bit: the kernel clock is not synchronised


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("pad", ctypes.c_int * 11)]


class ClockSync:
    """Is the wall clock synchronised? systemd-timesyncd's flag file, else the kernel's NTP state."""

    def __init__(self, timesync_dir: Path = Path("/run/systemd/timesync"), use_kernel: bool = True) -> None:
        self.timesync_dir = timesync_dir
        self.use_kernel = use_kernel

    def synchronised(self) -> bool:
        """True once timesyncd (or another NTP daemon, through the kernel) has set the clock."""
        if (self.timesync_dir / "synchronized").exists():
            return True
        if self.timesync_dir.is_dir():
            return False  # timesyncd runs but has not reached a time server yet
        if not self.use_kernel:
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            t = _Timex()
            if libc.adjtimex(ctypes.byref(t)) < 0:
                return False
            return not t.status & STA_UNSYNC
        except (OSError, AttributeError):
            return False

    def describe(self) -> str:
        """For `companion doctor`."""
        if self.synchronised():
            return "the clock is synchronised"
        why = ("systemd-timesyncd has not reached a time server yet" if self.timesync_dir.is_dir()
               else "no time service has synchronised it (systemd-timesyncd is not running)")
        return (f"the clock is NOT synchronised ({why}): the inactivity watch waits; with a real-time clock and "
                "no network set [caregiver] require_clock_sync = false")


@dataclass
class Segment:
    """One stretch of the device running: wall start/end and how much of it was spent listening."""

    start: datetime
    end: datetime
    listening_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "listening_s": round(self.listening_s, 1)}


class Presence:
    """Call beat() every minute or so while the companion runs; listening() says the mic is on."""

    def __init__(self, path: Path, clock: Clock, listening: Callable[[], bool] = lambda: True) -> None:
        self.path = path
        self.clock = clock
        self.listening = listening
        self.segments = self._read()
        self.previous_end: datetime | None = self.segments[-1].end if self.segments else None
        self._current: Segment | None = None
        self._mono = 0.0
        self._saved_mono = float("-inf")

    def _read(self) -> list[Segment]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [Segment(datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"]),
                            float(d.get("listening_s", 0))) for d in data.get("segments", [])]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def _write(self) -> None:
        cutoff = self.clock.now() - KEEP
        self.segments = [s for s in self.segments if s.end >= cutoff]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, json.dumps({"segments": [s.to_dict() for s in self.segments]}).encode())
        except OSError as exc:
            log.error("cannot save the device's running record %s: %s", self.path, exc)

    def beat(self) -> None:
        """Extend the current segment by the monotonic time since the last beat (saved every 10 min)."""
        now, mono = self.clock.now(), self.clock.monotonic()
        new_segment = self._current is None
        if self._current is None:
            self._current = Segment(now, now)
            self.segments.append(self._current)
        else:
            elapsed = mono - self._mono
            expected = self._current.end + timedelta(seconds=elapsed)
            if elapsed > MAX_BEAT_S:  # suspended or stalled: not known to have been running
                new_segment = True
                self._current = Segment(now, now)
                self.segments.append(self._current)
            elif abs((now - expected).total_seconds()) > CLOCK_STEP_S:
                # the wall clock was corrected (NTP after a boot without an RTC): this segment was timed
                # with the wrong clock, so move it by the correction rather than inventing hours on or off
                step = now - expected
                log.info("wall clock corrected by %+.0f s; shifting this run's record", step.total_seconds())
                self._current.start += step
                self._current.end = now
            else:
                self._current.end = now
                if self.listening():
                    self._current.listening_s += elapsed
        self._mono = mono
        if new_segment or mono - self._saved_mono >= SAVE_EVERY_S:
            self._saved_mono = mono
            self._write()

    def flush(self) -> None:
        """Save now (a clean shutdown: the record ends exactly when the companion stopped)."""
        if self._current is not None:
            self._write()

    def downtime(self, start: datetime, end: datetime, min_gap: timedelta = timedelta(minutes=15)) -> list[tuple[datetime, datetime]]:
        """Gaps between running segments inside [start, end) longer than min_gap: when it was off."""
        gaps = []
        segs = sorted(self.segments, key=lambda s: s.start)
        for a, b in zip(segs, segs[1:]):
            lo, hi = max(a.end, start), min(b.start, end)
            if hi - lo >= min_gap:
                gaps.append((lo, hi))
        return gaps

    def running_between(self, start: datetime, end: datetime) -> timedelta:
        """How long the device was running inside [start, end)."""
        total = timedelta(0)
        for s in self.segments:
            lo, hi = max(s.start, start), min(s.end, end)
            if hi > lo:
                total += hi - lo
        return total
