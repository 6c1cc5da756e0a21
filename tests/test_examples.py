"""The examples run, so that none of them can rot: examples/quickstart.ipynb executes at its small setting
(SDAE_QUICK=1, scikit-learn's digits) and shows its figures; every script in examples/ runs in its quick mode and
exits 0. The MNIST scripts run where MNIST is on disk (SDAE_DATA_DIR), and are skipped elsewhere.
About 23 s in all on a 2-core machine with OMP_NUM_THREADS=1 (each of the four runs 4-7 s).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "quickstart.ipynb"
# every script: its quickest setting; whether it needs MNIST; whether it must print no warning at all; what it prints
SCRIPTS = {
    "digits_pipeline.py": (["--quick"], False, True, ["Few labels", "All 1437 labels", "RBF SVM, SDAE codes"]),
    "mnist_pipeline.py": (["--quick"], True, True, ["RBF SVM, SDAE layer-1 codes"]),
    # the original notebook's recipe (no pretraining, plain SGD) kills units: its dead-unit notice is part of the story
    "notebook_recipe.py": (["--quick"], True, False, ["notebook recipe"]),
}
FIGURE_CELLS = 3  # filters, denoising, the map of the codes


def test_every_script_in_examples_is_run_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_script_runs_in_its_quick_mode(script, request):
    args, needs_mnist, quiet, printed = SCRIPTS[script]
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    if needs_mnist:
        env["SDAE_DATA_DIR"] = str(request.getfixturevalue("mnist_path"))  # skips where MNIST is not on disk
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, env=env,
                          cwd=EXAMPLES.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert all(text in done.stdout for text in printed), done.stdout
    if quiet:
        assert "Warning" not in done.stderr, done.stderr[-3000:]


def image_outputs(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


def test_the_notebook_runs_at_its_small_setting_and_shows_its_figures(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")  # provides the "python3" kernel, run by this Python
    monkeypatch.setenv("SDAE_QUICK", "1")  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # only what this run makes is checked
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()  # raises on a failing cell
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]  # no warnings
    assert image_outputs(notebook) >= FIGURE_CELLS


def test_the_saved_notebook_shows_its_figures_and_stays_small():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert image_outputs(notebook) >= FIGURE_CELLS  # so that a web page shows them
    assert NOTEBOOK.stat().st_size < 500_000
    assert "QUICK" in notebook.cells[1].source  # the parameters come first
