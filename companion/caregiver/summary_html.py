"""The summary as an e-mail-safe HTML page: nested tables for layout, every style inline (webmail
strips <style>), charts as PNG images referenced by cid: (or data: for a file on disk), day labels
as table cells under each chart, and nothing that needs a wide screen: one column, max 600 px,
16 px text, readable at 375 px."""

from __future__ import annotations

import base64
from html import escape

from companion.caregiver.charts import BLUE, WIDTH, Chart, bar_chart, mood_chart
from companion.caregiver.summary import Summary
from companion.caregiver.summary_text import footer, headline, sections, span_of, title_of

FONT = "font-family:Arial,Helvetica,sans-serif;"
LEVEL = {"urgent": ("#fdecea", "#c62828"), "warn": ("#fff4e5", "#ef6c00"), "ok": ("#e6f4ea", "#2e7d32"),
         "": ("#f5f6f8", "#90a4ae")}


def charts(s: Summary) -> dict[str, tuple[Chart, list[str]]]:
    """cid -> (chart, the label under each day's slot)."""
    days = s.trend or s.days
    out: dict[str, tuple[Chart, list[str]]] = {}
    talk = [float(d.conversations) for d in days]
    off = [d.off_minutes >= 6 * 60 for d in days]
    out["talk@companion"] = (bar_chart(talk, BLUE, "Conversations per day: " + ", ".join(
        f"{d.day:%a} {d.conversations}" for d in days), highlight=off),
        [f"{d.day:%a}<br><b>{d.conversations}</b>" + ("<br>off" if o else "") for d, o in zip(days, off)])
    if s.baseline is not None:
        usual, sd = s.baseline["valence"], max(s.baseline["valence_sd"], 0.1)
        diffs = [None if d.valence is None else d.valence - usual for d in days]
        words = {"much lower than usual": "much lower", "a bit lower than usual": "lower",
                 "about as usual": "usual", "brighter than usual": "brighter", None: "–"}
        out["mood@companion"] = (mood_chart(diffs, sd * 0.75, "Mood against her usual: " + ", ".join(
            f"{d.day:%a} {d.mood or 'no readings'}" for d in days)),
            [f"{d.day:%a}<br><b>{words[d.mood]}</b>" for d in days])
    return out


def _chart_block(cid: str, chart: Chart, labels: list[str], title: str, note: str, inline: bool) -> str:
    src = f"data:image/png;base64,{base64.b64encode(chart.png).decode()}" if inline else f"cid:{cid}"
    cells = "".join(f'<td align="center" valign="top" style="{FONT}font-size:14px;line-height:1.3;color:#1d2430;'
                    f'padding:4px 0">{label}</td>' for label in labels)
    return (f'<tr><td style="padding:4px 16px 4px"><h3 style="{FONT}font-size:15px;margin:4px 0 4px;color:#5b6472">'
            f'{escape(title)}</h3>'
            f'<img src="{src}" width="{WIDTH}" alt="{escape(chart.alt)}" style="display:block;width:100%;'
            f'max-width:{WIDTH}px;height:auto;border:0">'
            f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            f'style="table-layout:fixed;border-collapse:collapse"><tr>{cells}</tr></table>'
            f'<p style="{FONT}font-size:14px;line-height:1.4;color:#5b6472;margin:6px 0 0">{escape(note)}</p></td></tr>')


def render_html(s: Summary, inline_images: bool = False) -> tuple[str, dict[str, bytes]]:
    """(the HTML, {cid: PNG bytes}); with inline_images the PNGs are data: URIs (for a file on disk)."""
    title = title_of(s)
    text, level = headline(s)
    bg, edge = LEVEL[level]
    rows = [f'<tr><td style="padding:18px 16px 4px"><h1 style="{FONT}font-size:22px;line-height:1.3;margin:0;'
            f'color:#1d2430">{escape(title)}</h1><p style="{FONT}font-size:15px;color:#5b6472;margin:4px 0 0">'
            f'{escape(span_of(s))}{escape(" — " + s.where) if s.where else ""}</p></td></tr>',
            f'<tr><td style="padding:12px 16px 4px"><table role="presentation" width="100%" cellpadding="0" '
            f'cellspacing="0" border="0"><tr><td style="{FONT}background:{bg};border-left:6px solid {edge};'
            f'padding:12px 14px;font-size:18px;line-height:1.4;font-weight:bold;color:#1d2430">{escape(text)}'
            f'</td></tr></table></td></tr>']
    images: dict[str, bytes] = {}
    notes = {"talk@companion": ("Conversations, last 7 days", "Bars are conversations per day; an orange bar means "
                                "the device was off for 6 hours or more that day."),
             "mood@companion": ("Mood against her usual, last 7 days", "The dashed line is her usual and the "
                                "shaded band its normal range; a dot below is a lower day, above a brighter one.")}
    after = {"How she seemed (experimental)": "mood@companion", "Talking with the companion": "talk@companion"}
    drawn = charts(s)
    for sec in sections(s):
        sbg, sedge = LEVEL[sec.level]
        items = "".join(f'<tr><td style="{FONT}font-size:16px;line-height:1.45;color:#1d2430;padding:5px 0 5px 10px;'
                        f'border-left:3px solid {sedge}">{escape(line)}</td></tr>' for line in sec.lines)
        rows.append(f'<tr><td style="padding:10px 16px 2px"><h2 style="{FONT}font-size:18px;margin:6px 0 6px;'
                    f'color:#1d2430">{escape(sec.title)}</h2><table role="presentation" width="100%" cellpadding="0" '
                    f'cellspacing="0" border="0">{items}</table></td></tr>')
        cid = after.get(sec.title)
        if cid in drawn:
            chart, labels = drawn[cid]
            images[cid] = chart.png
            rows.append(_chart_block(cid, chart, labels, *notes[cid], inline=inline_images))
    rows.append(f'<tr><td style="{FONT}padding:14px 16px 18px;font-size:13px;line-height:1.4;color:#5b6472">'
                f'{escape(footer(s))} Made on her device by Companion.</td></tr>')
    html = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title></head>"
            "<body style=\"margin:0;padding:0;background:#eef1f5\">"
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
            "style=\"background:#eef1f5\"><tr><td align=\"center\" style=\"padding:10px 6px\">"
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
            "style=\"max-width:600px;background:#ffffff;border-radius:8px\">"
            + "".join(rows) + "</table></td></tr></table></body></html>")
    return html, images
