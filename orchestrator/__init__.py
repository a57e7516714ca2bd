"""mcuorch: run TinyML benchmarks stage by stage, each stage in its toolchain's image."""

from __future__ import annotations

__version__ = "0.1.0"
