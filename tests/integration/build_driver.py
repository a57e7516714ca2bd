"""Runs an image build the way a user does, for interrupt tests (SIGINT as on a terminal).

Usage: build_driver.py cli ENV IMAGE     -> `mcuorch images build --env ENV IMAGE`
       build_driver.py prepare ENV IMAGE -> a session's DockerRuntime.prepare() under the
                                            session's cancel-on-signal handlers
"""

from __future__ import annotations

import signal
import sys
import threading

from orchestrator.cli.main import main as cli_main
from orchestrator.cli.signals import cancel_on_signals
from orchestrator.environment import load_environment
from orchestrator.runtime.docker import DockerRuntime


def prepare(env_name: str, image: str) -> int:
    env = load_environment(env_name)
    runtime = DockerRuntime(env, "it-build-driver")
    cancel = threading.Event()
    try:
        with cancel_on_signals(cancel):
            runtime.prepare([runtime.image_set().get(image).ref])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's default
    mode, env_name, image = sys.argv[1:4]
    if mode == "cli":
        cli_main(["images", "build", "--env", env_name, image])
    sys.exit(prepare(env_name, image))
