#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a page's DOM says, for the browser tests: reads the HTML Chromium's --dump-dom wrote
(the page as the browser built it) and answers one query.

  dom.py FILE text ID            the text inside the element with that id, blanks folded
  dom.py FILE has ID             yes or no
  dom.py FILE before ID1 ID2     yes when ID1 comes before ID2 in the page
  dom.py FILE attr ID NAME       that attribute of the element with that id
  dom.py FILE states             STATE=COUNT of the rows with a data-state (the report's ps table)
  dom.py FILE each TAG[.CLASS] ATTR…  those attributes of every TAG (of that class), one line
                                 each, tab-separated, in page order ("-" for one it lacks)
  dom.py FILE count TAG          how many TAG elements there are
"""
import html.parser
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "rect", "source", "wbr"}


class Doc(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.order, self.attrs, self.rows, self.elems = [], {}, [], {}, {}, []

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        self.elems.append((tag, a))
        if a.get("id"):
            self.order.append(a["id"])
            self.text.setdefault(a["id"], "")
            self.attrs[a["id"]] = a
        if tag not in VOID:
            self.stack.append((tag, a.get("id"), a.get("data-state") if tag == "tr" else None))

    def handle_endtag(self, tag):
        if tag not in (t for t, _, _ in self.stack):
            return  # the end of a void element, or a stray one
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, d):
        for _, i, st in self.stack:
            if i:
                self.text[i] += d
            if st:
                self.rows[st] = self.rows.get(st, "") + d + " "


def main():
    d = Doc()
    with open(sys.argv[1], encoding="utf-8") as f:
        d.feed(f.read())
    q, a = sys.argv[2], sys.argv[3:]
    if q == "text":
        print(" ".join(d.text.get(a[0], "").split()))
    elif q == "has":
        print("yes" if a[0] in d.order else "no")
    elif q == "before":
        o = d.order
        print("yes" if a[0] in o and a[1] in o and o.index(a[0]) < o.index(a[1]) else "no")
    elif q == "attr":
        print(d.attrs.get(a[0], {}).get(a[1], ""))
    elif q == "states":
        print(" ".join(f"{k}={r.split()[-1]}" for k, r in sorted(d.rows.items())))
    elif q == "each":
        tag, _, cls = a[0].partition(".")
        for t, at in d.elems:
            if t == tag and (not cls or cls in at.get("class", "").split()):
                print("\t".join(at.get(n, "-") for n in a[1:]))
    elif q == "count":
        print(sum(1 for t, _ in d.elems if t == a[0]))
    else:
        sys.exit(f"dom.py: unknown query '{q}'")


if __name__ == "__main__":
    main()
