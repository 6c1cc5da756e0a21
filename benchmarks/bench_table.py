"""Merge `sdae bench --out` files into one, and print README's table from it.

The SdA-3 columns come from the files given (a later file's row replaces an earlier one's, as a
`--reuse` run's does; the SdA-3 seconds add up); `--earlier` takes the SVM columns from another
file (the SVM's protocol and the data are the same there, so the SVM need not run again when only
the SdA-3's protocol changed), and shows that file's SdA-3 beside ours.

    python benchmarks/bench_table.py a.json b.json a2.json b2.json \
        --earlier benchmarks/results/bench-full.json --out benchmarks/results/bench-v2.json
"""

from __future__ import annotations

import argparse
import json

from sdae.commands.bench import interval
from sdae.data.variants import NAMES
from sdae.files import atomic_write_json

SVM_FIELDS = ("svm_error", "svm_interval", "svm_C", "svm_gamma", "svm_valid", "svm_seconds")


def paper_interval(row: dict, key: str) -> float:
    """Half-width (%) of the 95% interval of the paper's figure `key`, on the problem's test size."""
    return 100 * interval(row[key] / 100, row["sizes"][2])


def meets(row: dict) -> bool:
    """Our SdA-3 within the paper's interval, or better."""
    return row["sda3_error"] <= row["paper_sda3"] + paper_interval(row, "paper_sda3")


def markdown(rows: list[dict]) -> str:
    lines = ["| problem | train/valid/test | SdA-3, ours | SdA-3, paper | masking chosen (paper's) | fine-tuning lr chosen "
             "| SdA-3, first protocol | SVM-rbf, ours | SVM-rbf, paper | SdA-3 minutes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        ours = f"{row['sda3_error']:.2f} ± {row['sda3_interval']:.2f}"
        if meets(row):
            ours = f"**{ours}**"
        svm = "-" if row.get("svm_error") is None else f"{row['svm_error']:.2f} ± {row['svm_interval']:.2f}"
        lines.append(f"| {row['problem']} | {'/'.join(map(str, row['sizes']))} | {ours} | {row['paper_sda3']:.2f} ± "
                     f"{paper_interval(row, 'paper_sda3'):.2f} | {100 * row['noise']:.0f}% ({100 * row['paper_noise']:.0f}%) | {row['lr']:g} | "
                     f"{'-' if row.get('earlier_sda3') is None else format(row['earlier_sda3'], '.2f')} | {svm} | "
                     f"{row['paper_svm']:.2f} ± {paper_interval(row, 'paper_svm'):.2f} | {row['sda3_seconds'] / 60:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="`sdae bench --out` files")
    parser.add_argument("--earlier", help="an `sdae bench --out` file: its SVM columns, and its SdA-3 beside ours")
    parser.add_argument("--out", help="write the merged rows here")
    args = parser.parse_args()
    rows, options = {}, []
    for path in args.files:
        data = json.load(open(path))
        options.append(data.get("options"))
        for row in data["rows"]:
            if row["problem"] in rows:
                row["sda3_seconds"] += rows[row["problem"]]["sda3_seconds"]
            rows[row["problem"]] = row
    if args.earlier:
        earlier = {row["problem"]: row for row in json.load(open(args.earlier))["rows"]}
        for name, row in rows.items():
            if name in earlier:
                row["earlier_sda3"] = earlier[name]["sda3_error"]
                if row.get("svm_error") is None:
                    row.update({k: earlier[name].get(k) for k in SVM_FIELDS})
    ordered = [rows[name] for name in NAMES if name in rows]
    if args.out:
        atomic_write_json(args.out, {"files": args.files, "earlier": args.earlier, "options": options, "rows": ordered})
    print(markdown(ordered))
    met = sum(meets(r) for r in ordered)
    print(f"\nSdA-3 within the paper's interval or better: {met} of {len(ordered)}")


if __name__ == "__main__":
    main()
