"""What every benchmark reports: its figure, the baseline measured in the same run, and
whether the target was met. Benchmarks are `tests/bench/bench_<name>.py` modules with a
`run() -> list[Result]`; `make bench` runs them all (`make bench ARGS=<name>` runs one)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    name: str
    unit: str
    value: float
    baseline_name: str | None = None
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline:
            return self.value / self.baseline
        return None

    def render(self) -> str:
        line = f"{self.name}: {self.value:,.1f} {self.unit}"
        if self.baseline is not None:
            line += f"  | {self.baseline_name}: {self.baseline:,.1f} {self.unit}"
            line += f"  | ratio {self.ratio:.0%}"
        if self.target:
            verdict = "" if self.met is None else ("  MET" if self.met else "  MISSED")
            line += f"  | target {self.target}{verdict}"
        for key, value in self.details.items():
            line += f"\n    {key}: {value}"
        return line
