"""The HTML summary page: inline CSS and hand-drawn SVG charts (no JavaScript, no network)."""

from __future__ import annotations

from html import escape

from companion.caregiver.summary import DayStats, Summary, summary_title

W, H = 380, 170  # chart size in px
PAD_L, PAD_R, PAD_T, PAD_B = 44, 10, 14, 26

_CSS = """
body{font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2430;background:#f5f6f8;margin:0}
main{max-width:820px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 2px} .span{color:#5b6472;margin:0 0 14px}
.headline{font-size:20px;font-weight:600;padding:14px 16px;border-radius:10px;margin-bottom:14px}
.ok{background:#e6f4ea;border-left:6px solid #2e7d32} .warn{background:#fff4e5;border-left:6px solid #ef6c00}
.urgent{background:#fdecea;border-left:6px solid #c62828}
ul.lines{background:#fff;border-radius:10px;padding:12px 16px 12px 34px;margin:0 0 14px}
ul.lines li{margin:4px 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.card{background:#fff;border-radius:10px;padding:10px 12px}
.card h2{font-size:15px;margin:0 0 4px} .card p{font-size:13px;color:#5b6472;margin:2px 0 0}
.tag{display:inline-block;font-size:11px;background:#ede7f6;color:#4527a0;border-radius:8px;padding:1px 7px;margin-left:6px}
footer{font-size:13px;color:#5b6472;margin-top:14px}
svg text{font:11px system-ui,sans-serif;fill:#5b6472}
"""


def _x(i: int, n: int) -> float:
    step = (W - PAD_L - PAD_R) / max(n, 1)
    return PAD_L + step * (i + 0.5)


def _y(v: float, lo: float, hi: float) -> float:
    return PAD_T + (H - PAD_T - PAD_B) * (1 - (v - lo) / (hi - lo or 1))


def _frame(labels: list[str], lo: float, hi: float, ticks: list[tuple[float, str]]) -> list[str]:
    out = [f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">']
    for v, text in ticks:
        y = _y(v, lo, hi)
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        out.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>')
    for i, label in enumerate(labels):
        out.append(f'<text x="{_x(i, len(labels)):.1f}" y="{H - 8}" text-anchor="middle">{escape(label)}</text>')
    return out


def bar_chart(labels: list[str], series: list[list[float]], colors: list[str], names: list[str],
              unit: str = "") -> str:
    """Stacked bars, one stack per label, with a legend and the total over each bar."""
    totals = [sum(vals) for vals in zip(*series)] if series else []
    hi = max([1.0, *totals]) * 1.15
    ticks = [(0.0, "0"), (hi / 1.15, f"{hi / 1.15:g}{unit}")]
    out = _frame(labels, 0.0, hi, ticks)
    bw = (W - PAD_L - PAD_R) / max(len(labels), 1) * 0.6
    for i in range(len(labels)):
        base = 0.0
        for vals, color in zip(series, colors):
            v = vals[i]
            if v > 0:
                y0, y1 = _y(base, 0, hi), _y(base + v, 0, hi)
                out.append(f'<rect x="{_x(i, len(labels)) - bw / 2:.1f}" y="{y1:.1f}" width="{bw:.1f}" '
                           f'height="{y0 - y1:.1f}" fill="{color}" rx="2"/>')
            base += v
        if totals and totals[i] > 0:
            out.append(f'<text x="{_x(i, len(labels)):.1f}" y="{_y(totals[i], 0, hi) - 3:.1f}" '
                       f'text-anchor="middle" style="fill:#1d2430">{totals[i]:g}</text>')
    for k, (name, color) in enumerate(zip(names, colors)):
        x = W - PAD_R - 110 * (len(names) - k)
        out.append(f'<rect x="{x}" y="2" width="9" height="9" fill="{color}"/><text x="{x + 13}" y="10">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(labels: list[str], values: list[float | None], lo: float, hi: float, color: str,
               baseline: float | None = None, band: tuple[float, float] | None = None,
               fmt: str = "{:+.1f}", tick_names: tuple[str, str, str] | None = None) -> str:
    """A line over days (gaps where there is no data) against her baseline line and band."""
    values3 = (lo, (lo + hi) / 2, hi)
    names = tick_names or tuple(fmt.format(v) for v in values3)
    ticks = list(zip(values3, names))
    out = _frame(labels, lo, hi, ticks)
    if band is not None:
        y1, y0 = _y(min(hi, band[1]), lo, hi), _y(max(lo, band[0]), lo, hi)
        out.append(f'<rect x="{PAD_L}" y="{y1:.1f}" width="{W - PAD_L - PAD_R}" height="{y0 - y1:.1f}" fill="#e8eaf6"/>')
    if baseline is not None:
        y = _y(baseline, lo, hi)
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#7986cb" '
                   f'stroke-dasharray="5 4" stroke-width="1.5"/>')
        out.append(f'<text x="{W - PAD_R}" y="{y - 4:.1f}" text-anchor="end" style="fill:#3949ab">her usual</text>')
    segment: list[str] = []
    paths = []
    for i, v in enumerate(values):
        if v is None:
            if segment:
                paths.append(segment)
            segment = []
            continue
        segment.append(f"{_x(i, len(values)):.1f},{_y(v, lo, hi):.1f}")
    if segment:
        paths.append(segment)
    for seg in paths:
        out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{color}" stroke-width="2.5"/>')
    for i, v in enumerate(values):
        if v is not None:
            out.append(f'<circle cx="{_x(i, len(values)):.1f}" cy="{_y(v, lo, hi):.1f}" r="4" fill="{color}"/>')
    if all(v is None for v in values):
        out.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no readings</text>')
    out.append("</svg>")
    return "".join(out)


def _labels(days: list[DayStats]) -> list[str]:
    return [f"{d.day:%a}" for d in days]


def render_html(s: Summary) -> str:
    """The whole page as one self-contained HTML string."""
    labels = _labels(s.days)
    level = "urgent" if s.help or s.meds_missed else "warn" if len(s.lines) and not s.headline.startswith("All looks well") else "ok"
    b = s.baseline
    mood_chart = line_chart(labels, [d.valence for d in s.days], -1.0, 1.0, "#5e35b1", tick_names=("low", "calm", "bright"),
                            baseline=b["valence"] if b else None,
                            band=(b["valence"] - b["valence_sd"], b["valence"] + b["valence_sd"]) if b else None)
    arousal_chart = line_chart(labels, [d.low_arousal_share for d in s.days], 0.0, 1.0, "#00897b",
                               baseline=b["low_arousal_share"] if b else None, fmt="{:.0%}")
    talk_chart = bar_chart(labels, [[float(d.conversations) for d in s.days]], ["#1e88e5"], ["conversations"])
    minutes_chart = bar_chart(labels, [[round(d.minutes) for d in s.days]], ["#90caf9"], ["minutes"])
    routine_chart = bar_chart(labels, [[float(d.routines_done) for d in s.days], [float(d.routines_missed) for d in s.days]],
                              ["#43a047", "#e53935"], ["done", "missed"])
    mood_note = "" if s.valence is not None else " No mood readings in this period (mood sensing may be off)."
    cards = [
        ("How she seemed", "experimental", mood_chart,
         "Daily mood from voice and words; dashed line and band = her usual range (previous 4 weeks)." + mood_note),
        ("Energy in her voice", "experimental", arousal_chart,
         "Share of readings with low vocal energy; dashed line = her usual. Not a diagnosis."),
        ("Conversations per day", "", talk_chart, f"{s.conversations} conversation(s) this {s.period}."),
        ("Minutes talked per day", "", minutes_chart, f"About {s.minutes:.0f} minutes this {s.period}."),
        ("Routines and medication", "", routine_chart,
         f"Medication: {s.meds_taken} taken, {len(s.meds_missed)} missed this {s.period}."),
    ]
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(summary_title(s))}</title>"
             f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body><main>",
             f"<h1>{escape(summary_title(s))}</h1>",
             f"<p class='span'>{s.start:%A %d %B %H:%M} – {s.end:%A %d %B %H:%M}</p>",
             f"<div class='headline {level}'>{escape(s.headline)}</div>",
             "<ul class='lines'>" + "".join(f"<li>{escape(line)}</li>" for line in s.lines[1:]) + "</ul>",
             "<div class='grid'>"]
    for title, tag, chart, note in cards:
        tag_html = f"<span class='tag'>{tag}</span>" if tag else ""
        parts.append(f"<section class='card'><h2>{escape(title)}{tag_html}</h2>{chart}<p>{note}</p></section>")
    parts.append("</div>")
    share = ("Her own words are included for flagged moments, as she agreed." if s.share_words
             else "Only categories are shared, never her own words: that is her choice.")
    parts.append(f"<footer>{escape(share)} Charts show the last {len(s.days)} days. Generated on her device by "
                 "Companion; nothing here was sent anywhere except to the configured caregiver channels.</footer>")
    parts.append("</main></body></html>")
    return "".join(parts)
