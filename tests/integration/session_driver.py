"""A minimal mcuorch-like session process for signal tests.

It does what `mcuorch run` does around the runtime: SIGINT/SIGTERM set the cancel event,
the job is killed, `close()` runs in `finally`, and the process exits 130 when cancelled.
Usage: session_driver.py SESSION_ID OUT_DIR [reuse|single]
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from orchestrator.cli.signals import cancel_on_signals
from orchestrator.environment import load_environment
from orchestrator.images.progress import PlainProgress
from orchestrator.runtime.base import ExecRequest, Mount
from orchestrator.runtime.docker import DockerRuntime


def main() -> int:
    session_id, out, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    env = load_environment("default")
    runtime = DockerRuntime(env, session_id, reuse=mode == "reuse", progress=PlainProgress(quiet=True))
    image = runtime.image_set().get("base").ref
    cancel = threading.Event()
    try:
        with cancel_on_signals(cancel):
            request = ExecRequest(image=image, argv=["sh", "-c", "echo started; sleep 600"],
                                  mounts=[Mount(path=out, read_only=False)], workdir=out,
                                  timeout_sec=900, stdout_path=out.parent / "stdout",
                                  stderr_path=out.parent / "stderr")
            print("RUNNING", flush=True)
            result = runtime.run(request, cancel)
    finally:
        runtime.close()
    print("RESULT", result.model_dump_json(), flush=True)
    return 130 if result.cancelled else 0


if __name__ == "__main__":
    sys.exit(main())
