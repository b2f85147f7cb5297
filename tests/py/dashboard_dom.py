"""Reads a dashboard page (the HTML file `dashboard render` wrote, or the
DOM headless Chromium dumped after the page's scripts ran) with the
standard library's HTML parser, and prints what each panel shows as JSON:

{"ready": bool, "title": str,
 "panels": {"<dashboard>/<panel>": {"status": ..., "chart": ...,
            "bars": [[label, value], ...], "stats": {column: value},
            "series": {name: sum}, "rows": [{column: value}, ...],
            "error": text}},
 "sql": {"status": ..., "rows": [...], "error": text}}

Values are the exact `data-value` attributes, not the text for people.
Never uses flowlake's code.

Usage: dashboard_dom.py <html file>
"""
import json
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = {"ready": False, "panels": {}, "sql": None, "svg_paths": 0}
        self.panel = None
        self.row = None
        self.in_error = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html" and a.get("data-ready") == "true":
            self.out["ready"] = True
        if tag == "section" and "data-panel" in a:
            self.panel = {"status": a.get("data-status"), "chart": a.get("data-chart"), "source": a.get("data-source"),
                          "bars": [], "stats": {}, "series": {}, "rows": [], "error": ""}
            if a["data-panel"] == "sql":
                self.out["sql"] = self.panel
            else:
                self.out["panels"][a["data-panel"]] = self.panel
        if self.panel is None:
            return
        if tag == "td" and "data-label" in a:
            self.panel["bars"].append([a["data-label"], a.get("data-value")])
        elif tag == "div" and "data-column" in a:
            self.panel["stats"][a["data-column"]] = a.get("data-value")
        elif tag == "path" and "data-series" in a:
            self.panel["series"][a["data-series"]] = a.get("data-sum")
            self.out["svg_paths"] += 1
        elif tag == "tr":
            self.row = {}
        elif tag == "td" and "data-column" in a and self.row is not None:
            self.row[a["data-column"]] = a.get("data-value")
        elif tag == "p" and a.get("class") == "error":
            self.in_error = True

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None and self.panel is not None:
            if self.row:
                self.panel["rows"].append(self.row)
            self.row = None
        elif tag == "p":
            self.in_error = False
        elif tag == "section":
            self.panel = None

    def handle_data(self, data):
        if self.in_error and self.panel is not None:
            self.panel["error"] += data


def main():
    page = Page()
    with open(sys.argv[1], encoding="utf-8") as f:
        page.feed(f.read())
    json.dump(page.out, sys.stdout)


if __name__ == "__main__":
    main()
