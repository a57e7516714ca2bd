"""Integer kernels for ``tvmaot`` (placeholder docstring, completed below)."""
