"""The `sdae` command: a thin click shell over the `sdae` library."""
