"""`make bench`: runs every tests/bench/bench_*.py and prints each figure beside its baseline."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(selected: list[str]) -> int:
    modules = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(name in m for name in selected)]
    missed = 0
    for name in modules:
        print(f"== {name.removeprefix('bench_')} ==", flush=True)
        for result in importlib.import_module(f"tests.bench.{name}").run():
            print(result.render(), flush=True)
            missed += result.met is False
    print(f"{len(modules)} benchmark module(s); {missed} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
