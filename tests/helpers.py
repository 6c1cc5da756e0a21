import pytest

from sdae_cli.main import main


def run_cli(capsys, *args):
    """Run `sdae ARGS` in-process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err
