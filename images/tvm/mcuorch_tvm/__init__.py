"""mcuorch ``tvmaot`` backend: int8 TFLite → TVM Relax → dependency-free C with a static arena.

Importing this package does not import TVM: :mod:`mcuorch_tvm.planner` and
:mod:`mcuorch_tvm.program` are usable (and unit-tested) on a host without TVM.
"""
