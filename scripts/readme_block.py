#!/usr/bin/env python3
"""Replaces the README's block between `<!-- NAME:begin -->` and `<!-- NAME:end -->` by the
contents of FILE: the scripts that measure something write their results into the README this
way, so a table there is always a script's output, never edited by hand.

Usage: scripts/readme_block.py NAME FILE   (run from the repository root)
"""

import sys

name, path = sys.argv[1], sys.argv[2]
results = open(path).read()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = open("README.md").read()
if begin not in text or end not in text:
    sys.exit(f"README.md has no `{begin}` ... `{end}` block")
head, rest = text.split(begin)
_, tail = rest.split(end)
open("README.md", "w").write(head + begin + "\n" + results + end + tail)
print("README.md updated")
