import pytest
from sdae_cli.main import main


def run_cli(capsys, *args, warnings=False):
    """Run `sdae ARGS` in-process; returns (exit code, stdout, stderr).

    stderr leaves out the library's warning lines (dead units and the like) unless `warnings`.
    """
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    if not warnings:
        err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("sdae: warning: "))
    return exit_info.value.code, out, err
