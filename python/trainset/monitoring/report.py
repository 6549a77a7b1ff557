"""The drift report: one self-contained HTML file (inline SVG, no script, no external link).

A summary table sorted by how far each feature moved, then one chart per feature: reference and
current shares in the reference's bins, overlaid, with the method, score and threshold; and the
label prevalence of both sides. The history page draws each feature's score per run or day.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from typing import Any

from .drift import DriftReport

REFERENCE_COLOR = "#4c72b0"
CURRENT_COLOR = "#dd8452"
STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.drifted td{background:#fde2e1}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #ddd;padding:6px}
.chart h3{font-size:13px;margin:0 0 4px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px}
.verdict{font-size:16px;font-weight:bold}.bad{color:#b00}.good{color:#070}
"""


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _bar_chart(row: dict[str, Any], bins: list[dict[str, Any]]) -> str:
    width, height, pad = 320, 150, 24
    ordered = sorted(
        {
            (bin_["bin_index"] if bin_["bin_index"] is not None else 10**6, bin_["bin_label"])
            for bin_ in bins
        }
    )
    shares = {(bin_["side"], bin_["bin_label"]): bin_["share"] for bin_ in bins}
    top = max([shares[key] for key in shares] + [1e-9])
    slot = (width - 2 * pad) / max(len(ordered), 1)
    parts = [
        f'<svg class="feature-chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
    ]
    for position, (_, label) in enumerate(ordered):
        for offset, (side, color) in enumerate(
            [("reference", REFERENCE_COLOR), ("current", CURRENT_COLOR)]
        ):
            share = shares.get((side, label), 0.0) or 0.0
            bar = (height - 2 * pad) * share / top
            x = pad + position * slot + offset * slot / 2
            parts.append(
                f'<rect x="{x:.1f}" y="{height - pad - bar:.1f}" width="{max(slot / 2 - 1, 0.5):.1f}" '
                f'height="{bar:.1f}" fill="{color}" fill-opacity="0.8">'
                f"<title>{html.escape(side)} {html.escape(str(label))}: {share:.3%}</title></rect>"
            )
    first = next((bin_ for bin_ in bins if bin_["bin_index"] == 0), None)
    last_index = max((bin_["bin_index"] or 0) for bin_ in bins) if bins else 0
    last = next(
        (bin_ for bin_ in bins if bin_["bin_index"] == last_index and bin_.get("high") is not None),
        None,
    )
    if first and first.get("low") is not None and last:
        parts.append(
            f'<text x="{pad}" y="{height - 8}" font-size="10">{_fmt(first["low"])}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="10" text-anchor="end">'
            f"{_fmt(last['high'])}</text>"
        )
    parts.append(f'<text x="{pad}" y="12" font-size="10">max share {top:.1%}</text></svg>')
    verdict = "drifted" if row["is_drifted"] else "stable"
    return (
        f'<div class="chart" data-feature="{html.escape(row["feature_name"])}">'
        f"<h3>{html.escape(row['feature_name'])} — {verdict}</h3>"
        f"<div>{html.escape(row['method'])}: score {_fmt(row['score'])}, threshold "
        f"{_fmt(row['threshold'])} ({html.escape(row['severity'])})</div>{''.join(parts)}</div>"
    )


def render_html(report: DriftReport) -> str:
    """The report as one HTML document."""
    by_feature: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bin_ in report.histograms:
        by_feature[bin_["feature_name"]].append(bin_)
    verdict_class = "bad" if report.dataset_drifted else "good"
    drifted = sum(1 for row in report.features if row["is_drifted"])
    rows = "".join(
        f'<tr class="{"drifted" if row["is_drifted"] else ""}"><td>{html.escape(row["feature_name"])}</td>'
        f"<td>{html.escape(row['feature_kind'])}</td><td>{html.escape(row['method'])}</td>"
        f'<td class="num">{_fmt(row["score"])}</td><td class="num">{_fmt(row["threshold"])}</td>'
        f"<td>{'yes' if row['is_drifted'] else 'no'}</td><td>{html.escape(row['severity'])}</td>"
        f'<td class="num">{int(row["reference_count"] or 0):,}</td>'
        f'<td class="num">{int(row["current_count"] or 0):,}</td></tr>'
        for row in report.features
    )
    label = report.label or {}
    label_rows = "".join(
        f"<tr><td>{side}</td><td class='num'>{_fmt((label.get(side) or {}).get('positive_share'))}</td>"
        f"<td class='num'>{(label.get(side) or {}).get('rows', '–')}</td></tr>"
        for side in ("reference", "current")
    )
    charts = "".join(
        _bar_chart(row, by_feature.get(row["feature_name"], [])) for row in report.features
    )
    share = report.drifted_share or 0.0
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Drift report: {html.escape(report.task)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Drift report: {html.escape(report.task)}</h1>"
        f"<p>Reference: export <code>{html.escape(str(report.reference_version))}</code>. "
        f"Current: {html.escape(report.current_source)}. Generated {html.escape(report.generated_at)}.</p>"
        f"<p class='verdict {verdict_class}' id='verdict'>Data set "
        f"{'drifted' if report.dataset_drifted else 'did not drift'}: {drifted} of "
        f"{len(report.features)} features drifted ({share:.0%}).</p>"
        "<h2>Features, most drifted first</h2><table id='summary'><thead><tr><th>feature</th>"
        "<th>kind</th><th>method</th><th>score</th><th>threshold</th><th>drifted</th>"
        "<th>severity</th><th>reference values</th><th>current values</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<h2>Label prevalence ({html.escape(str(label.get('column', '')))})</h2>"
        "<table id='label'><tr><th>side</th><th>positive share</th><th>rows</th></tr>"
        f"{label_rows}</table>"
        "<h2>Distributions</h2><p class='legend'>"
        f"<span style='background:{REFERENCE_COLOR}'></span>reference"
        f"<span style='background:{CURRENT_COLOR}'></span>current (shares of each side's rows, "
        "in the reference's bins)</p>"
        f"<div class='charts'>{charts}</div></body></html>"
    )


HISTORY_WIDTH, HISTORY_HEIGHT, HISTORY_PAD = 320, 140, 24


def render_history_html(task: str, history: list[dict[str, Any]]) -> str:
    """Each feature's drift score over the recorded comparisons, one line chart per feature."""
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in history:
        series[row["feature_name"]].append(row)
    charts = []
    for feature, points in sorted(series.items()):
        points.sort(key=lambda point: str(point["compared_at"]))
        scores = [point["score"] for point in points if point["score"] is not None]
        if not scores:
            continue
        low, high = (
            min(scores + [points[0]["threshold"] or 0]),
            max(scores + [points[0]["threshold"] or 0]),
        )
        span = (high - low) or 1.0
        width, height, pad = HISTORY_WIDTH, HISTORY_HEIGHT, HISTORY_PAD
        step = (width - 2 * pad) / max(len(points) - 1, 1)

        def y(value: float, low: float = low, span: float = span) -> float:
            return (
                HISTORY_HEIGHT
                - HISTORY_PAD
                - (HISTORY_HEIGHT - 2 * HISTORY_PAD) * (value - low) / span
            )

        path = " ".join(
            f"{'M' if index == 0 else 'L'}{pad + index * step:.1f},{y(point['score']):.1f}"
            for index, point in enumerate(points)
            if point["score"] is not None
        )
        threshold = points[-1]["threshold"]
        marks = "".join(
            f'<circle cx="{pad + index * step:.1f}" cy="{y(point["score"]):.1f}" r="3" '
            f'fill="{"#b00" if point["is_drifted"] else REFERENCE_COLOR}"><title>'
            f"{html.escape(str(point['current_label']))}: {_fmt(point['score'])}</title></circle>"
            for index, point in enumerate(points)
            if point["score"] is not None
        )
        charts.append(
            f'<div class="chart" data-feature="{html.escape(feature)}"><h3>{html.escape(feature)} '
            f"({html.escape(points[-1]['method'])}, threshold {_fmt(threshold)})</h3>"
            f'<svg class="feature-chart" width="{width}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg"><path d="{path}" fill="none" stroke="{REFERENCE_COLOR}"/>'
            + (
                f'<line x1="{pad}" x2="{width - pad}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                f'stroke="#b00" stroke-dasharray="4 3"/>'
                if threshold is not None
                else ""
            )
            + f"{marks}</svg></div>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Drift history: {html.escape(task)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Drift history: {html.escape(task)}</h1><p>{len(history)} scores recorded.</p>"
        f"<div class='charts'>{''.join(charts)}</div></body></html>"
    )
