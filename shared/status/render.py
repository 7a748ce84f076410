"""Pure: a status snapshot (`snapshot.gather`) as an HTML page or as text for a terminal.

The page is one self-contained document: inline CSS, an inline SVG chart drawn here, no script, no
external resource (a CDN would be one more thing to trust and to be down). It reads on a phone
(viewport meta, wrapping cards, tables that scroll sideways). Every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

CHART_W, CHART_H, CHART_PAD = 640, 220, 28
REPAIRED_COLOUR, FAILURE_COLOUR = "#2f855a", "#c53030"

_CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
color:#1a202c;background:#f7f8fa}main{max-width:980px;margin:0 auto;padding:12px}
h1{font-size:1.35rem;margin:.4rem 0}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.muted{color:#5a6473;font-size:.88rem}.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:8px 12px;min-width:130px;flex:1 1 130px}
.card b{display:block;font-size:1.4rem}.ok{color:#2f855a}.bad{color:#c53030}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.badge.ok{background:#2f855a;color:#fff}.badge.bad{background:#c53030;color:#fff}
.scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e7;border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:6px 8px;text-align:left;
border-bottom:1px solid #edf0f3;vertical-align:top}th{background:#f1f3f6;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}svg{width:100%;max-width:760px;height:auto;background:#fff;
border:1px solid #dde1e7;border-radius:8px}ul{padding-left:1.2rem}code{font-size:.85rem}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def problems(snap: dict[str, Any]) -> list[str]:
    """What needs a person's attention now, one line each (empty: healthy). Past failures are history
    on the page, not a problem: one that did not recover waits in a poison queue, which is."""
    out = []
    queues = snap["queues"]
    for q in queues["queues"]:
        if q["poison_depth"]:
            out.append(f"{q['poison_depth']} message(s) in {q['poison']}")
    if not queues["available"]:
        out.append(queues["detail"])
    last = snap["runs"][0] if snap["runs"] else None
    if last is None:
        out.append("no reconcile run recorded yet")
    elif last.get("error_count"):
        out.append(f"the last reconcile run had {last['error_count']} error(s)")
    subs = snap["subscriptions"] or {}
    if subs.get("problem"):
        out.append(subs["problem"])
    out += [f"hook subscription {s['event_type']} in {s['project']} was {s['action']}d: {s['detail']}"
            for s in subs.get("subscriptions") or [] if not s.get("healthy")]
    return out


# -- the chart ------------------------------------------------------------------------------------

def chart_svg(days: list[dict[str, Any]]) -> str:
    """Grouped bars per day: drift repaired, sync failures; the value over each bar."""
    top = max([1] + [max(d["repaired"], d["failures"]) for d in days])
    inner_h = CHART_H - 2 * CHART_PAD
    slot = (CHART_W - 2 * CHART_PAD) / max(1, len(days))
    bar = slot * 0.32
    parts = [f'<svg id="chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-labelledby="chart-title" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Drift repaired and sync failures per day'
             f'</title>',
             f'<line x1="{CHART_PAD}" y1="{CHART_H - CHART_PAD}" x2="{CHART_W - CHART_PAD}" '
             f'y2="{CHART_H - CHART_PAD}" stroke="#a0aec0"/>']
    for i, d in enumerate(days):
        x0 = CHART_PAD + i * slot + slot * 0.16
        for j, (key, colour) in enumerate((("repaired", REPAIRED_COLOUR), ("failures", FAILURE_COLOUR))):
            value = int(d[key])
            h = inner_h * value / top
            x, y = x0 + j * bar, CHART_H - CHART_PAD - h
            label = "drift repaired" if key == "repaired" else "sync failures"
            parts.append(f'<rect class="bar {key}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{_e(d["day"])}: {value} {label}</title></rect>')
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="12" text-anchor="middle" '
                         f'fill="#1a202c">{value}</text>')
        parts.append(f'<text x="{x0 + bar:.1f}" y="{CHART_H - CHART_PAD + 16}" font-size="12" text-anchor="middle" '
                     f'fill="#5a6473">{_e(d["day"][5:])}</text>')
    legend_y = 16
    parts.append(f'<rect x="{CHART_PAD}" y="{legend_y - 10}" width="10" height="10" fill="{REPAIRED_COLOUR}"/>'
                 f'<text x="{CHART_PAD + 14}" y="{legend_y}" font-size="12">drift repaired</text>'
                 f'<rect x="{CHART_PAD + 120}" y="{legend_y - 10}" width="10" height="10" fill="{FAILURE_COLOUR}"/>'
                 f'<text x="{CHART_PAD + 134}" y="{legend_y}" font-size="12">sync failures</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- HTML -----------------------------------------------------------------------------------------

def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset(), empty: str = "none") -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{_e(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _when(run: dict[str, Any]) -> str:
    from shared.status.record import iso

    return iso(float(run["started"])).replace("T", " ")


def html_page(snap: dict[str, Any]) -> str:
    trouble = problems(snap)
    badge = ('<span class="badge ok" id="health">healthy</span>' if not trouble else
             f'<span class="badge bad" id="health">needs attention ({len(trouble)})</span>')
    links = snap["links"]
    if links:
        cards = [f'<div class="card"><span class="muted">links</span><b id="links-total">{links["total"]}</b></div>']
        cards += [f'<div class="card"><span class="muted">{_e(state)}</span><b>{n}</b></div>'
                  for state, n in sorted(links["by_state"].items())]
        links_html = (f'<div class="cards">{"".join(cards)}</div><p class="muted">as of the last complete reconcile '
                      f'pass, {_e(_iso(links["at"]))}</p>')
    else:
        links_html = '<p class="muted">not counted yet: the first complete reconcile pass counts them</p>'
    runs = [[_when(r), f'{r["duration_s"]:.1f} s', r["api_calls"], r["links"], r["drifted"], r["writes"],
             r.get("error_count", len(r.get("errors") or [])), "finished" if r["finished"] else "stopped early"]
            for r in snap["runs"]]
    failures = [[_iso(f["at"]), f["source"], f.get("summary") or f["subject"], f["reason"], f.get("attempt") or ""]
                for f in snap["failures"]]
    q = snap["queues"]
    queue_rows = [[x["queue"], x["depth"], x["poison_depth"]] for x in q["queues"]]
    oldest = "".join(f'<li><b>{_e(x["queue"])}</b>: {_e(m["summary"])} <span class="muted">(since {_e(m["since"])})'
                     f'</span><br><span class="bad">{_e(m["reason"])}</span></li>'
                     for x in q["queues"] for m in x["oldest"])
    subs = snap["subscriptions"] or {}
    sub_rows = [[s["project"], s["event_type"], "healthy" if s["healthy"] else f'{s["action"]}d', s["detail"]]
                for s in subs.get("subscriptions") or []]
    cfg = snap["config"]
    route_rows = [[", ".join(r["sentry_projects"]), r["ado_project"], r["work_item_type"], r["area_path"],
                   "yes" if r["auto_create"] else "no", r.get("resolution", "resolve")] for r in cfg["routes"]]
    rules = cfg["rules"]
    rules_rows = [["directions", ", ".join(f"{k}: {v}" for k, v in rules["directions"].items())],
                  ["conflicts", rules["conflict"]], ["done categories", ", ".join(rules["done_categories"])],
                  ["Sentry ignored", rules["ignored"]],
                  ["commit tracking", "on" if rules["commit_tracking"] else "off"]]
    setting_rows = [[k, v] for k, v in cfg["settings"].items()] + [[k, v] for k, v in cfg["secrets"].items()]
    trouble_html = "".join(f"<li>{_e(t)}</li>" for t in trouble)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sentry-ado status</title><style>{_CSS}</style></head>
<body><main>
<h1>sentry-ado status {badge}</h1>
<p class="muted">generated {_e(snap["generated_at"])}</p>
{f'<ul id="problems" class="bad">{trouble_html}</ul>' if trouble else ''}
<h2>Links by state</h2>{links_html}
<h2>Drift repaired and sync failures, last {len(snap["chart"])} days</h2>{chart_svg(snap["chart"])}
<h2>Last reconcile runs</h2>
{_table(["when (UTC)", "took", "API calls", "links", "drifted", "repaired", "errors", "outcome"], runs,
        {2, 3, 4, 5, 6}, "no reconcile run recorded yet")}
<h2>Latest sync failures <span class="muted">({snap["failure_count"]} in the last 7 days)</span></h2>
{_table(["when (UTC)", "where", "what", "reason", "attempt"], failures, {4}, "no sync failure in the last 7 days")}
<h2>Queues</h2>
{_table(["queue", "waiting", "poison"], queue_rows, {1, 2}, q["detail"] or "no queue")}
{f'<p class="muted">oldest poison messages (replay with <code>sentry-ado replay-poison</code>):</p><ul>{oldest}</ul>'
 if oldest else ''}
<h2>Azure DevOps service hooks</h2>
{f'<p class="bad">{_e(subs["problem"])}</p>' if subs.get("problem") else ''}
{_table(["project", "event", "health", "detail"], sub_rows, set(), "not checked yet (the reconcile timer checks them)")}
<p class="muted">{_e("as last checked " + _iso(subs["at"])) if subs.get("at") else ""}</p>
<h2>Configuration in force</h2>
{_table(["Sentry projects", "ADO project", "type", "area", "auto-create", "resolution strategy"], route_rows, set(),
         "no route")}
<h2>Sync rules</h2>{_table(["rule", "value"], rules_rows)}
<h2>Settings</h2>{_table(["setting", "value"], setting_rows)}
</main></body></html>
"""


def _iso(epoch: Any) -> str:
    from shared.status.record import iso

    return iso(float(epoch)).replace("T", " ") if epoch is not None else ""


# -- text -----------------------------------------------------------------------------------------

def text_report(snap: dict[str, Any]) -> str:
    trouble = problems(snap)
    lines = [f"sentry-ado status at {snap['generated_at']}: " +
             ("healthy" if not trouble else f"needs attention ({len(trouble)})")]
    lines += [f"  ! {t}" for t in trouble]
    links = snap["links"]
    by_state = ", ".join(f"{k} {v}" for k, v in sorted((links or {}).get("by_state", {}).items()))
    counted = f"{links['total']} ({by_state}) as of {_iso(links['at'])}" if links else "not counted yet"
    lines.append(f"links: {counted}")
    lines.append("last 7 days (drift repaired / sync failures): " +
                 "  ".join(f"{d['day'][5:]} {d['repaired']}/{d['failures']}" for d in snap["chart"]))
    lines.append("last reconcile runs:")
    lines += [f"  {_when(r)}  {r['duration_s']:.1f}s  {r['api_calls']} calls  {r['links']} links  "
              f"{r['drifted']} drifted  {r['writes']} repaired  {r.get('error_count', 0)} errors"
              f"{'' if r['finished'] else '  (stopped early)'}" for r in snap["runs"]] or ["  none yet"]
    lines.append(f"latest sync failures ({snap['failure_count']} in the last 7 days):")
    lines += [f"  {_iso(f['at'])}  {f['source']}  {f.get('summary') or f['subject']}: {f['reason']}"
              for f in snap["failures"][:10]] or ["  none"]
    q = snap["queues"]
    lines.append("queues:" + ("" if q["available"] else f" {q['detail']}"))
    for x in q["queues"]:
        lines.append(f"  {x['queue']}: {x['depth']} waiting, {x['poison_depth']} in {x['poison']}")
        lines += [f"    {m['summary']} (since {m['since']}): {m['reason']}" for m in x["oldest"]]
    subs = snap["subscriptions"] or {}
    lines.append("ADO service hooks:" + (f" {subs['problem']}" if subs.get("problem") else
                                         "" if subs else " not checked yet"))
    lines += [f"  {s['project']} {s['event_type']}: {'healthy' if s['healthy'] else s['action'] + 'd'} ({s['detail']})"
              for s in subs.get("subscriptions") or []]
    cfg = snap["config"]
    lines.append("routes:")
    lines += [f"  {', '.join(r['sentry_projects'])} -> {r['ado_project']} {r['work_item_type']}"
              f"{' ' + r['area_path'] if r['area_path'] else ''}" for r in cfg["routes"]] or ["  none"]
    lines.append("settings: " + ", ".join(f"{k}={v}" for k, v in cfg["settings"].items()))
    lines.append("secrets: " + ", ".join(f"{k} {v}" for k, v in cfg["secrets"].items()))
    return "\n".join(lines) + "\n"
