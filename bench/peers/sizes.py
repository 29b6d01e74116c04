#!/usr/bin/env python3
"""Bytes a site must ship to show each banner (raw, gzip -9, brotli -q 11).

Reads results/measure.json (written by measure.mjs), which lists every file each
entry's page actually fetched from the harness server (and, by URL, from any other
loopback origin such as a banner's own server, fetched again here: the same URL, query
included), and compresses each file on its own (one HTTP response = one compressed body).
The HTML document and the tracker stubs are left out; the site's own config file(s)
matched by entry.json "config" are reported separately from the peer's library files.
For an entry served from another loopback origin it also prints, beside those brotli
figures, the encoded bytes the browser received from that origin (measure.json
summaries[].wire): the "on the wire" table.

    python3 sizes.py [--results results]

Writes results/sizes.json and results/sizes.md and prints the markdown.
Needs gzip (GNU) and either the `brotli` CLI (Debian package brotli) or the
python brotli module.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.abspath(__file__))


def gzip9(data: bytes) -> int:
    out = subprocess.run(["gzip", "-9", "-n", "-c"], input=data, capture_output=True, check=True).stdout
    return len(out)


try:
    import brotli as _brotli  # type: ignore

    def br11(data: bytes) -> int:
        return len(_brotli.compress(data, quality=11))

    BROTLI_TOOL = "python brotli module %s, quality 11" % getattr(_brotli, "__version__", "?")
except ImportError:
    if not shutil.which("brotli"):
        sys.exit("sizes.py: need the `brotli` CLI (apt-get install brotli) or the python brotli module")

    def br11(data: bytes) -> int:
        out = subprocess.run(["brotli", "-q", "11", "-c"], input=data, capture_output=True, check=True).stdout
        return len(out)

    _v = subprocess.run(["brotli", "--version"], capture_output=True, text=True).stdout.strip()
    BROTLI_TOOL = "%s CLI, -q 11" % (_v or "brotli")


def category(path: str, kind: str) -> str:
    if kind == "config":
        return "config"
    p = path.lower()
    if "/lang/" in p or "/translations" in p or "/i18n/" in p or "/locales/" in p:
        return "lang"
    if p.endswith(".css"):
        return "css"
    if p.endswith(".wasm"):
        return "wasm"
    if p.endswith(".js") or p.endswith(".mjs"):
        return "js"
    return "other"


def sizes_of(data: bytes) -> dict:
    return {"raw": len(data), "gzip": gzip9(data), "brotli": br11(data)}


def measure_file(rel: str) -> dict:
    with open(os.path.join(ROOT, rel), "rb") as fh:
        return sizes_of(fh.read())


def measure_url(url: str, headers: dict) -> dict:
    """A file the page fetched from another loopback origin (e.g. a banner served by its own
    server on another port): the very URL the page fetched (query string included) is fetched
    again, uncompressed (Accept-Encoding: identity), with the request headers measure.mjs
    recorded that can change the answer (Origin, Accept, Accept-Language), so that server must
    still be running. Loopback only."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host == "localhost"):
        sys.exit(f"sizes.py: refusing to fetch {url}: not a loopback address")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    h = {k: v for k, v in (headers or {}).items() if k.lower() in ("origin", "accept", "accept-language")}
    h["Accept-Encoding"] = "identity"
    try:
        with opener.open(urllib.request.Request(url, headers=h), timeout=10) as r:
            return sizes_of(r.read())
    except OSError as e:
        sys.exit(f"sizes.py: cannot fetch {url} ({e}): is the server that served it still running?")


def add(a: dict, b: dict) -> dict:
    return {k: a.get(k, 0) + b.get(k, 0) for k in ("raw", "gzip", "brotli")}


def fmt(n: int) -> str:
    return f"{n:,}"


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


def table(head, rows) -> str:
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def ratio(a, b) -> str:
    return f"{a / b:.3f}" if b else "–"


def wire_table(s: dict, wire: dict, files: list, rows: list) -> dict:
    """Rows of the "on the wire" table for one entry (from measure.json's summaries[].wire),
    each response beside the brotli -q 11 size of the same file. Returns what sizes.json keeps."""
    by_url = {m.get("url"): m for m in files if m.get("url")}
    out = {"loads": wire["loads"], "files": [], "total": {}}
    br_total = 0
    for w in wire["files"]:
        m = by_url.get(w["url"])
        br = m["brotli"] if m else None
        if m and w["afterBannerVisible"] < w["n"]:
            br_total += br
        body = w["bodyBytesMedian"]
        spread = "" if w["bodyBytesMin"] == w["bodyBytesMax"] else f" ({fmt(w['bodyBytesMin'])}–{fmt(w['bodyBytesMax'])})"
        enc = ", ".join(e or "none" for e in w["contentEncoding"])
        late = f"; after the banner was visible in {w['afterBannerVisible']}/{w['n']} loads" if w["afterBannerVisible"] else ""
        if w.get("fromCache"):
            late += f"; {w['fromCache']} more from the browser's cache, not counted"
        rows.append([s["label"], w["path"], w["kind"], ", ".join(str(x) for x in w["status"]), enc,
                     fmt(int(body)) + spread, fmt(br) if br is not None else "–",
                     ratio(body, br) if br is not None else "–", fmt(m["raw"]) if m else "–",
                     f"{w['startMsMedian']:.0f}{late}" if w["startMsMedian"] is not None else "–"])
        out["files"].append({"url": w["url"], "kind": w["kind"], "status": w["status"], "contentEncoding": w["contentEncoding"],
                             "wireBodyBytes": body, "wireBodyBytesMin": w["bodyBytesMin"], "wireBodyBytesMax": w["bodyBytesMax"],
                             "brotli": br, "raw": m["raw"] if m else None, "afterBannerVisible": w["afterBannerVisible"], "n": w["n"]})
    total = wire["totalBodyBytesMedian"]
    rows.append([f"**{s['label']}, total**", f"{len(wire['files'])} responses, {wire['loads']} loads", "", "", "",
                 f"**{fmt(int(total))}**", f"**{fmt(br_total)}**", ratio(total, br_total), "", ""])
    out["total"] = {"wireBodyBytes": total, "brotli": br_total}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(ROOT, "results"))
    args = ap.parse_args()
    src = os.path.join(args.results, "measure.json")
    if not os.path.exists(src):
        sys.exit(f"sizes.py: {src} missing: run `node measure.mjs` first")
    with open(src) as fh:
        data = json.load(fh)

    out = {"tools": {"gzip": "GNU gzip -9 -n", "brotli": BROTLI_TOOL}, "entries": []}
    summary_rows, file_rows, wire_rows, mismatches = [], [], [], []
    for s in data["summaries"]:
        if s.get("control"):
            continue
        files = []
        for f in s["files"]:
            if f["kind"] in ("document", "stub"):
                continue
            m = measure_url(f["url"], f.get("headers")) if f.get("url") else measure_file(f["file"])
            m.update(path=f["path"], file=f["file"] or f["url"], kind=f["kind"], cat=category(f["path"], f["kind"]))
            if f.get("url"):
                m["url"] = f["url"]
                # the browser's decoded body against this fetch: a server that answers the same
                # URL differently now (another revision, another header) would skew every figure
                if f.get("decodedBytes") is not None and f["decodedBytes"] != m["raw"]:
                    m["mismatch"] = f"the page got {fmt(f['decodedBytes'])} bytes, sizes.py {fmt(m['raw'])}"
                    mismatches.append(f"{s['label']} {f['url']}: {m['mismatch']}")
            files.append(m)
        lib = {"raw": 0, "gzip": 0, "brotli": 0}
        cfg = {"raw": 0, "gzip": 0, "brotli": 0}
        by_cat = {}
        for m in files:
            if m["kind"] == "config":
                cfg = add(cfg, m)
            else:
                lib = add(lib, m)
            by_cat[m["cat"]] = add(by_cat.get(m["cat"], {}), m)
        entry = {"name": s["name"], "label": s["label"], "files": files, "library": lib, "config": cfg,
                 "total": add(lib, cfg), "byCategory": by_cat, "variants": []}
        for v in s.get("sizeVariants", []):
            vf = []
            for p in v["files"]:
                rel = os.path.join("node_modules", p[len("/node_modules/"):]) if p.startswith("/node_modules/") else os.path.join("entries", s["name"], p.lstrip("/"))
                m = measure_file(rel)
                m.update(path=p, cat=category(p, "library"))
                vf.append(m)
            vt = {"raw": 0, "gzip": 0, "brotli": 0}
            for m in vf:
                vt = add(vt, m)
            entry["variants"].append({"label": v["label"], "files": vf, "library": vt})
        out["entries"].append(entry)

        def cat_cell(c):
            x = by_cat.get(c)
            return f"{kib(x['brotli'])}" if x else "–"

        summary_rows.append([
            s["label"], sum(1 for m in files if m["kind"] != "config"),
            fmt(lib["raw"]), fmt(lib["gzip"]), fmt(lib["brotli"]),
            cat_cell("js"), cat_cell("css"), cat_cell("lang"), cat_cell("wasm"),
            f"{fmt(cfg['raw'])} / {fmt(cfg['gzip'])} / {fmt(cfg['brotli'])}",
            fmt(lib["gzip"] + cfg["gzip"]), fmt(lib["brotli"] + cfg["brotli"]),
        ])
        for v in entry["variants"]:
            vc = {}
            for m in v["files"]:
                vc[m["cat"]] = add(vc.get(m["cat"], {}), m)
            summary_rows.append([
                f"{s['label']}, variant: {v['label']}", len(v["files"]),
                fmt(v["library"]["raw"]), fmt(v["library"]["gzip"]), fmt(v["library"]["brotli"]),
                *[kib(vc[c]["brotli"]) if c in vc else "–" for c in ("js", "css", "lang", "wasm")],
                f"{fmt(cfg['raw'])} / {fmt(cfg['gzip'])} / {fmt(cfg['brotli'])}",
                fmt(v["library"]["gzip"] + cfg["gzip"]), fmt(v["library"]["brotli"] + cfg["brotli"]),
            ])
        for m in sorted(files, key=lambda m: (m["kind"] == "config", m["path"])):
            file_rows.append([s["label"], m["path"], m["cat"], fmt(m["raw"]), fmt(m["gzip"]), fmt(m["brotli"])])

        wire = s.get("wire")
        if wire:
            entry["wire"] = wire_table(s, wire, files, wire_rows)

    md = []
    md.append(f"Compression: {out['tools']['gzip']}; {out['tools']['brotli']}. Each file compressed on its own. "
              "Library = files of the peer package the page fetched; config = the site's own config file.")
    md.append("")
    md.append("### Bytes shipped to show the banner (library files actually loaded; bytes)")
    md.append("")
    md.append(table(["entry", "library files", "library raw", "library gzip -9", "library brotli",
                     "JS br KiB", "CSS br KiB", "lang br KiB", "WASM br KiB",
                     "site config raw / gz / br", "total gzip (lib+config)", "total brotli (lib+config)"], summary_rows))
    md.append("")
    md.append("### Files loaded per entry")
    md.append("")
    md.append(table(["entry", "URL path", "type", "raw", "gzip -9", "brotli"], file_rows))
    if wire_rows:
        md.append("")
        md.append("### Biscotte on the wire (encoded bytes received from the banner's own server, first visits)")
        md.append("")
        md.append("Every response the page got from a loopback origin other than the harness's page server (for Biscotte: "
                  "its own server, 127.0.0.1:18790) in the first visits, up to the banner being visible: the body as "
                  "Chromium received it, still encoded (Playwright `request.sizes().responseBodySize`: CDP "
                  "`Network.loadingFinished.encodedDataLength` minus the response headers), median over the loads, "
                  "with the `Content-Encoding` it came with; beside it the same file compressed here with brotli -q 11 "
                  "and its decoded size. Total: median over the loads of the sum of the responses requested before "
                  "the banner was visible. The harness's own page server (lib/server.mjs) does not compress, so the "
                  "peers' files, served by it, cross the wire at their raw size and are not listed.")
        md.append("")
        md.append(table(["entry", "URL", "type", "status", "Content-Encoding", "wire body bytes", "brotli -q 11",
                         "wire / brotli", "raw (decoded)", "requested at ms"], wire_rows))
    if mismatches:
        md.append("")
        md.append("WARNING: sizes.py's own fetch differs from what the page received: " + "; ".join(mismatches))
        for m in mismatches:
            print(f"sizes.py: WARNING: {m}", file=sys.stderr)
    text = "\n".join(md)
    with open(os.path.join(args.results, "sizes.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    with open(os.path.join(args.results, "sizes.md"), "w") as fh:
        fh.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
