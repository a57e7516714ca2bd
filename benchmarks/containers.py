"""Container costs: per-job overhead, cold/warm `images build`, image sizes.

    python benchmarks/containers.py                 # overhead + warm build + sizes
    python benchmarks/containers.py --cold          # also a cold build from nothing (~8 min)
    python benchmarks/containers.py --json out.json # also write the figures as JSON

Overhead is the wall time of a job running `true` minus the same job in the local runtime
(a plain subprocess), for the two container strategies the Docker runtime can use:
one warm container per (image, mounts, ...) reused through `docker exec` (the default), and
one fresh container per job. The cold build uses a private image namespace, so it really
starts from no image at all (root bootstrapped) without touching anyone's images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import docker.errors

from orchestrator.environment import load_environment
from orchestrator.images.build import BuiltImage, ImageBuilder
from orchestrator.images.engine import connect
from orchestrator.images.progress import PlainProgress
from orchestrator.images.tags import resolve_images
from orchestrator.paths import project_paths
from orchestrator.runtime.base import ExecRequest, ImageRef, Mount
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.local import LocalRuntime


def _request(image: ImageRef, work: Path) -> ExecRequest:
    return ExecRequest(image=image, argv=["true"], mounts=[Mount(path=work / "in"),
                                                           Mount(path=work / "out", read_only=False)],
                       workdir=work / "out", timeout_sec=60, stdout_path=work / "stdout",
                       stderr_path=work / "stderr")


def _times(runtime: Any, request: ExecRequest, runs: int) -> list[float]:
    cancel = threading.Event()
    runtime.run(request, cancel)  # warm-up: the first job of a runtime pays container creation
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = runtime.run(request, cancel)
        samples.append(time.perf_counter() - start)
        if result.exit_code != 0:
            raise SystemExit(f"benchmark job failed: {result}")
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_s": statistics.median(ordered), "mean_s": statistics.fmean(ordered),
            "p90_s": ordered[int(0.9 * (len(ordered) - 1))], "min_s": ordered[0]}


def overhead(client: docker.DockerClient, runs: int) -> dict[str, dict[str, float]]:
    env = load_environment("default")
    builder = ImageBuilder(client, progress=PlainProgress(quiet=True))
    builder.build(env, ["base"])
    with tempfile.TemporaryDirectory(prefix="mcuorch-bench-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        (work / "out").mkdir()
        session = f"bench-{uuid.uuid4().hex[:8]}"
        results: dict[str, dict[str, float]] = {}
        local = LocalRuntime(project_paths())
        base_ref = DockerRuntime(env, session, client=client, build_missing=False).image_set().get("base").ref
        results["local subprocess"] = _summary(_times(local, _request(ImageRef(name="base", tag="local"), work), runs))
        for label, reuse in (("docker: warm container + exec", True), ("docker: container per job", False)):
            runtime = DockerRuntime(env, session, client=client, reuse=reuse, build_missing=False)
            try:
                results[label] = _summary(_times(runtime, _request(base_ref, work), runs))
            finally:
                runtime.close()
        base = results["local subprocess"]["median_s"]
        for figures in results.values():
            figures["overhead_s"] = figures["median_s"] - base
        return results


def _sizes(results: list[BuiltImage], client: docker.DockerClient, root_ref: str) -> dict[str, Any]:
    root = int(client.images.get(root_ref).attrs.get("Size", 0))
    per_image = {r.name: {"size_mb": round(r.size_bytes / 1e6, 1), "added_mb": round(r.added_bytes / 1e6, 1)}
                 for r in results}
    total = root + sum(r.added_bytes for r in results)
    return {"root_mb": round(root / 1e6, 1), "images": per_image, "total_unique_mb": round(total / 1e6, 1)}


def build_times(client: docker.DockerClient, cold: bool, keep: bool) -> dict[str, Any]:
    env = load_environment("default")
    figures: dict[str, Any] = {}
    namespace = f"mcuorch-bench{uuid.uuid4().hex[:6]}" if cold else None
    builder = ImageBuilder(client, progress=PlainProgress(), namespace=namespace)
    try:
        if cold:
            start = time.monotonic()
            cold_results = builder.build(env)
            figures["cold_build_s"] = round(time.monotonic() - start, 1)
            figures["cold_per_image_s"] = {r.name: r.seconds for r in cold_results}
        start = time.monotonic()
        results = builder.build(env)
        first_warm = time.monotonic() - start
        if any(r.built for r in results):  # images were missing: this was a build, measure again
            figures["build_s"] = round(first_warm, 1)
            start = time.monotonic()
            results = builder.build(env)
            first_warm = time.monotonic() - start
        figures["warm_build_s"] = round(first_warm, 2)
        root_ref = resolve_images(env, client=client, namespace=namespace).root.ref
        figures["sizes"] = _sizes(results, client, root_ref)
    finally:
        if cold and not keep and namespace:
            for image in client.images.list():
                for tag in image.tags:
                    if tag.startswith(namespace + "/"):
                        try:
                            client.images.remove(tag, force=True)
                        except docker.errors.APIError:
                            pass
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="jobs per strategy (default 20)")
    parser.add_argument("--cold", action="store_true", help="also build everything from no image")
    parser.add_argument("--keep", action="store_true", help="keep the cold build's images")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    client = connect()
    figures: dict[str, Any] = {"overhead": overhead(client, args.runs)}
    print(f"\nPer-job overhead ({args.runs} jobs of `true`, warm image; medians)")
    for label, f in figures["overhead"].items():
        print(f"  {label:<32} {f['median_s'] * 1000:7.1f} ms  (p90 {f['p90_s'] * 1000:6.1f} ms,"
              f" overhead {f['overhead_s'] * 1000:6.1f} ms)")
    figures["build"] = build_times(client, args.cold, args.keep)
    b = figures["build"]
    print("\nImage builds (default environment)")
    if "cold_build_s" in b:
        print(f"  cold (no image at all, root bootstrapped): {b['cold_build_s']:.1f} s")
        for name, seconds in b["cold_per_image_s"].items():
            print(f"    {name:<12} {seconds:6.1f} s")
    if "build_s" in b:
        print(f"  build of the missing images: {b['build_s']:.1f} s")
    print(f"  warm (everything present): {b['warm_build_s']:.2f} s")
    sizes = b["sizes"]
    print("\nImage sizes (MB; 'added' = on top of the parent image)")
    print(f"  {'rootfs':<12} {sizes['root_mb']:8.1f}")
    for name, s in sizes["images"].items():
        print(f"  {name:<12} {s['size_mb']:8.1f}  (+{s['added_mb']:.1f})")
    print(f"  total on disk (root + every image's added layers): {sizes['total_unique_mb'] / 1000:.2f} GB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
