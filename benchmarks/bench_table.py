"""Merge `sdae bench --out` files into one, and print the manual's Table 3 from it.

Each (problem, model) result comes from the last file that has it, so a run of some models or some
problems adds to or replaces an earlier one's. Files written before every column existed (SdA-3
and SVM only: `sda3_error`, `svm_error`) are read too.

    python benchmarks/bench_table.py a.json b.json --out benchmarks/results/table3.json
"""

from __future__ import annotations

import argparse
import json

from sdae.commands.bench import interval
from sdae.commands.bench_search import MODELS
from sdae.commands.paper_table import PAPER, checked
from sdae.data.variants import NAMES, SPLITS
from sdae.files import atomic_write_json

ORDER = ("mnist", *NAMES)
TITLES = {"svm": "SVM-rbf", "mlp": "no pretraining", "saa3": "SAA-3", "dbn1": "DBN-1", "dbn3": "DBN-3", "sda3": "SdA-3"}


def upgrade(row: dict) -> dict:
    """A row of the SdA-3-and-SVM format as a row of every column's."""
    if "models" in row:
        return row
    models = {"sda3": {"error": row["sda3_error"], "interval": row["sda3_interval"], "seconds": row["sda3_seconds"],
                       "chosen": {"noise": row["noise"], "lr": row["lr"]}, "tried": row.get("sda3_valid", [])}}
    if row.get("svm_error") is not None:
        models["svm"] = {"error": row["svm_error"], "interval": row["svm_interval"], "seconds": row["svm_seconds"],
                         "chosen": {"C": row["svm_C"], "gamma": row["svm_gamma"]}}
    return {"problem": row["problem"], "sizes": row["sizes"], "data": row.get("data", "generated"), "models": models}


def cell(problem: str, model: str, result: dict | None) -> str:
    paper = PAPER.get(problem, {}).get(model)
    ours = "-" if result is None else f"{result['error']:.2f} ± {result['interval']:.2f}"
    if paper is None:
        return ours
    n = SPLITS.get(problem, SPLITS["default"])[2] if problem != "mnist" else 10_000
    half = 100 * interval(paper / 100, n)
    if result is not None and result["error"] <= paper + half:
        ours = f"**{ours}**"
    mark = "" if checked(problem, model) else "*"
    return f"{ours} ({paper:.2f}{mark})"


def markdown(rows: list[dict]) -> str:
    lines = ["| problem | data | train/valid/test | " + " | ".join(TITLES[m] for m in MODELS) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in MODELS) + " |"]
    for row in rows:
        cells = [cell(row["problem"], m, row["models"].get(m)) for m in MODELS]
        lines.append(f"| {row['problem']} | {row['data']} | {'/'.join(map(str, row['sizes']))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="`sdae bench --out` files")
    parser.add_argument("--out", help="write the merged rows here")
    args = parser.parse_args()
    rows: dict[str, dict] = {}
    options = []
    for path in args.files:
        data = json.load(open(path))
        options.append(data.get("options"))
        for row in map(upgrade, data["rows"]):
            merged = rows.setdefault(row["problem"], {**row, "models": {}})
            if (merged["data"], merged["sizes"]) != (row["data"], row["sizes"]):
                raise SystemExit(f"{path}: {row['problem']} ran on other data ({row['data']}, sizes {row['sizes']}) "
                                 f"than an earlier file's ({merged['data']}, {merged['sizes']}); merge like with like")
            merged["models"].update(row["models"])
            merged["data"], merged["sizes"] = row["data"], row["sizes"]
    ordered = [rows[name] for name in ORDER if name in rows]
    if args.out:
        atomic_write_json(args.out, {"files": args.files, "options": options, "rows": ordered})
    print(markdown(ordered))
    print("\nours ± 95% interval (the paper's figure); bold: within the paper's interval or better; "
          "* the paper's figure as recalled, not checked against a copy of the table")


if __name__ == "__main__":
    main()
