"""Finding and summarising run folders: what the info and runs commands show, as JSON or a table."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sdae.errors import RunFolderError
from sdae.runfolder import EVALUATION, MARKER, RunFolder
from sdae.stages import best_record


def summary(folder: RunFolder) -> dict:
    """One run as plain data: identity, configuration, data, status, the last epoch of each stage, test figures."""
    records = folder.read_metrics()
    stages = {}
    for record in records:
        key = record.stage if record.pair is None else f"{record.stage} pair {record.pair}"
        stages[key] = record.to_dict()
    supervised = [r for r in records if r.stage == "supervised"]
    evaluation = None
    if (folder.path / EVALUATION).is_file():
        try:
            evaluation = json.loads((folder.path / EVALUATION).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            evaluation = None
    return {
        "path": str(folder.path),
        "run_id": folder.marker["run_id"],
        "created": folder.marker.get("created"),
        "sdae_version": folder.meta.get("sdae_version"),
        "sizes": folder.sizes,
        "config": folder.config.to_dict(),
        "data": folder.facts.to_dict(),
        "status": folder.status.to_dict(),
        "last_epochs": stages,
        "best_supervised_epoch": best_record(supervised).to_dict() if supervised else None,
        "evaluation": evaluation,
        "files": sorted(p.name for p in folder.path.iterdir() if not p.name.startswith(".")),
    }


def find_runs(root: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """The summaries of every run folder under `root` (sorted by path), and one line for each that could not be read."""
    root = Path(root)
    if not root.is_dir():
        raise RunFolderError(f"{root} is not a folder")
    found, problems = [], []
    for marker in sorted(root.rglob(MARKER)):
        try:
            found.append(summary(RunFolder.open(marker.parent)))
        except RunFolderError as e:
            problems.append(str(e))
    return found, problems
