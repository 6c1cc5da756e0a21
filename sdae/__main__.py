"""`python -m sdae ...` runs the command line (needed by `torchrun -m sdae`, for one).

The library itself never imports click: only this entry point reaches for the CLI package.
"""

from sdae_cli.main import main

if __name__ == "__main__":
    main()
