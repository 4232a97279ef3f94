"""Drops the style-robust image generator's evidence from ``run-baselines.ts --candidates-out`` lists.

Since bundle 1.3.0 a region's candidate list also holds DENSE_IMAGE_ROBUST hits. The linker's inputs are
the generators of ``units.GENERATORS``; the robust list is read after the linker, by region-only units
only (``regionDenseImageWeight`` in linker.json). So the training and evaluation lists keep what the
linker sees: the robust evidence is removed, and an entity only it found leaves the list (about 0.4
of 100 per region). Order is kept.

    var/pyenv/bin/python -m models.zemel.strip_robust var/candidates/all.jsonl var/candidates/all-norobust.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROBUST = "DENSE_IMAGE_ROBUST"


def strip_query(query: dict[str, object]) -> tuple[dict[str, object], int]:
    """The query's lists without robust evidence, and how many entities left them."""
    dropped = 0
    out = dict(query)
    for side in ("mentions", "regions"):
        lists = []
        for raw in query[side]:  # type: ignore[attr-defined]
            kept = []
            for candidate in raw:
                generators = [g for g in candidate["generators"] if g["generator"] != ROBUST]
                if generators:
                    kept.append({**candidate, "generators": generators})
                else:
                    dropped += 1
            lists.append(kept)
        out[side] = lists
    return out, dropped


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    dropped = queries = 0
    partial = target.with_suffix(target.suffix + ".partial")  # never a half-written list under the real name
    with source.open(encoding="utf-8") as f, partial.open("w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            stripped, n = strip_query(json.loads(line))
            dropped += n
            queries += 1
            out.write(json.dumps(stripped, separators=(",", ":")) + "\n")
    partial.replace(target)
    print(json.dumps({"queries": queries, "droppedRobustOnly": dropped}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
