"""A GitHub Actions workflow for a nightly matrix (`mcuorch ci github`).

The engines users already run do the scaling: an `images` job builds the environment's
images once per content tag and keeps them as a `docker save` archive in the Actions cache
(keyed by the tags, so a changed recipe builds again and an unchanged one never does); N
`shard` jobs each run `mcuorch run ... --shard K/N` on their own runner and upload their
session; a `report` job merges the shards into one report, compares it with the previous
result (kept in the Actions cache) and writes both as Markdown into the job summary. The
remote tier of the job store is configured from repository variables and secrets, read-only
for pull requests. Every command is an ordinary `mcuorch` command, so a job's steps can be
run locally in the same order.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator

from orchestrator.errors import ConfigError

SCHEDULES = {"nightly": "0 2 * * *", "weekly": "0 2 * * 0"}
_CRON = re.compile(r"^\S+(\s+\S+){4}$")
CHECKOUT = "actions/checkout@v5"  # the first majors on the node24 runtime (node20 is being removed)
SETUP_PYTHON = "actions/setup-python@v6"
CACHE_RESTORE = "actions/cache/restore@v5"
CACHE_SAVE = "actions/cache/save@v5"
UPLOAD = "actions/upload-artifact@v6"
DOWNLOAD = "actions/download-artifact@v7"
IMAGES_DIR = "${{ runner.temp }}/mcuorch-images"
SHARD_ARTIFACT = "mcuorch-shard-"
RESULT_CACHE = "mcuorch-result-"

REMOTE_ENV = {
    "MCUORCH_REMOTE_CACHE": "${{ vars.MCUORCH_REMOTE_CACHE }}",
    "MCUORCH_REMOTE_CACHE_ENDPOINT": "${{ vars.MCUORCH_REMOTE_CACHE_ENDPOINT }}",
    "MCUORCH_REMOTE_CACHE_MODE": "${{ github.event_name == 'pull_request' && 'read' || 'readwrite' }}",
    "AWS_ACCESS_KEY_ID": "${{ secrets.MCUORCH_REMOTE_CACHE_KEY_ID }}",
    "AWS_SECRET_ACCESS_KEY": "${{ secrets.MCUORCH_REMOTE_CACHE_SECRET_KEY }}",
    "AWS_DEFAULT_REGION": "${{ vars.MCUORCH_REMOTE_CACHE_REGION || 'us-east-1' }}",
}
"""The remote cache from repository settings: variables for where, secrets for credentials
(none of them is ever written into the file). Unset variables leave the remote tier off."""


class WorkflowSpec(BaseModel):
    """What `mcuorch ci github` was asked for (checked before anything is written)."""

    env: str
    shards: int = Field(ge=1, le=256)
    run_args: list[str]
    """Matrix arguments of `mcuorch run` (models, -b, -t, -c, --config-gen, ...)."""
    images: list[str] = Field(default_factory=list)
    """Images the matrix needs (docker runtime): built once, loaded by every shard."""
    base_pull: str | None = None
    """The root image pulled from a registry (its ID enters every tag)."""
    runtime: Literal["docker", "local"] = "docker"
    schedule: str | None = None
    pull_requests: bool = False
    label: str = "nightly"
    name: str = "mcuorch nightly"
    python: str = "3.11"
    compare_args: list[str] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cron = SCHEDULES.get(value, value)
        if not _CRON.match(cron.strip()):
            raise ValueError(f"schedule {value!r} must be {', '.join(SCHEDULES)} or a cron line of 5 fields")
        return cron.strip()


class _Literal(str):
    """A multi-line shell script, written as a YAML block so it reads like the script it is."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _script(*lines: str) -> str:
    text = "\n".join(lines)
    return _Literal(text + "\n") if len(lines) > 1 else text


def _setup(spec: WorkflowSpec) -> list[dict[str, Any]]:
    return [
        {"uses": CHECKOUT},
        {"uses": SETUP_PYTHON, "with": {"python-version": spec.python}},
        {"name": "Install mcuorch", "id": "install", "run": "python -m pip install ."},
    ]


def _images_job(spec: WorkflowSpec) -> dict[str, Any]:
    env = shlex.quote(spec.env)
    names = shlex.join(spec.images)
    steps = _setup(spec)
    if spec.base_pull:
        steps.append({"name": "Pull the base image (its ID enters the tags; shards load this one)",
                      "run": f"docker pull {shlex.quote(spec.base_pull)}"})
    steps += [
        {"name": "Image tags", "id": "tags", "run": _script(
            f"mcuorch ci tags --env {env} {names} > image-tags.txt",
            "cat image-tags.txt",
            'echo "key=mcuorch-images-$(sha256sum image-tags.txt | cut -c1-16)" >> "$GITHUB_OUTPUT"')},
        {"name": "Look up the images", "id": "cache", "uses": CACHE_RESTORE,
         "with": {"path": IMAGES_DIR, "key": "${{ steps.tags.outputs.key }}", "lookup-only": True}},
        {"name": "Build the images", "if": "steps.cache.outputs.cache-hit != 'true'", "run": _script(
            f"mcuorch images build --env {env} {names}",
            'mkdir -p "$RUNNER_TEMP/mcuorch-images"',
            'xargs docker save -o "$RUNNER_TEMP/mcuorch-images/images.tar" < image-tags.txt')},
        {"name": "Keep the images", "if": "steps.cache.outputs.cache-hit != 'true'", "uses": CACHE_SAVE,
         "with": {"path": IMAGES_DIR, "key": "${{ steps.tags.outputs.key }}"}},
    ]
    return {"name": "Images", "runs-on": "ubuntu-latest", "outputs": {"key": "${{ steps.tags.outputs.key }}"},
            "steps": steps}


def _shard_job(spec: WorkflowSpec) -> dict[str, Any]:
    runtime = ["--runtime", "local"] if spec.runtime == "local" else []
    command = shlex.join(["mcuorch", "run", "--env", spec.env, *runtime, *spec.run_args])
    steps = _setup(spec)
    if spec.runtime == "docker":
        steps += [
            {"name": "Restore the images", "uses": CACHE_RESTORE,
             "with": {"path": IMAGES_DIR, "key": "${{ needs.images.outputs.key }}", "fail-on-cache-miss": True}},
            {"name": "Load the images", "run": 'docker load -i "$RUNNER_TEMP/mcuorch-images/images.tar"'},
        ]
    steps += [
        {"name": "Run this shard", "run": _script(
            "status=0",
            f'{command} --shard "${{{{ matrix.shard }}}}/{spec.shards}" --parallel || status=$?',
            "# 1 means some runs are failing: that is a result for the report, not a broken job",
            'if [ "$status" -gt 1 ]; then exit "$status"; fi')},
        {"name": "Upload the shard session", "uses": UPLOAD,
         "with": {"name": SHARD_ARTIFACT + "${{ matrix.shard }}", "path": "${{ env.MCUORCH_HOME }}/sessions",
                  "if-no-files-found": "error", "retention-days": 14}},
    ]
    job: dict[str, Any] = {"name": f"Shard ${{{{ matrix.shard }}}}/{spec.shards}", "runs-on": "ubuntu-latest",
                           "strategy": {"fail-fast": False, "matrix": {"shard": list(range(1, spec.shards + 1))}},
                           "steps": steps}
    if spec.runtime == "docker":
        job = {"needs": "images", **job}
    return job


def _report_job(spec: WorkflowSpec) -> dict[str, Any]:
    compare = shlex.join(["mcuorch", "compare", "previous", "result", *spec.compare_args,
                          "--markdown", "compare.md", "--json", "compare.json"])
    not_pr = "github.event_name != 'pull_request'"
    steps = _setup(spec) + [
        {"name": "Download the shard sessions", "uses": DOWNLOAD,
         "with": {"pattern": SHARD_ARTIFACT + "*", "path": "shards"}},
        {"name": "Merge the shards", "run": _script(
            "status=0",
            f"mcuorch merge shards --label {shlex.quote(spec.label)} --summary summary.md || status=$?",
            'if [ "$status" -gt 1 ]; then exit "$status"; fi',
            "mkdir -p result",
            'cp -R "$MCUORCH_HOME"/sessions/*/. result/',
            'cat summary.md >> "$GITHUB_STEP_SUMMARY"')},
        {"name": "Restore the previous result", "uses": CACHE_RESTORE,
         "with": {"path": "previous", "key": RESULT_CACHE + "${{ github.run_id }}", "restore-keys": RESULT_CACHE}},
        {"name": "Compare with the previous result", "id": "compare", "run": _script(
            "status=0",
            "if [ -f previous/session.json ]; then",
            f"  {compare} || status=$?",
            "else",
            '  echo "No previous result to compare with yet." > compare.md',
            "fi",
            'cat compare.md >> "$GITHUB_STEP_SUMMARY"',
            'echo "status=$status" >> "$GITHUB_OUTPUT"',
            'if [ "$status" -gt 1 ]; then exit "$status"; fi')},
        {"name": "Make this result the next one's base", "if": not_pr,
         "run": "rm -rf previous && cp -R result previous"},
        {"name": "Keep this result", "if": not_pr, "uses": CACHE_SAVE,
         "with": {"path": "previous", "key": RESULT_CACHE + "${{ github.run_id }}"}},
        {"name": "Upload the report", "uses": UPLOAD,
         "with": {"name": "mcuorch-report", "path": "result", "if-no-files-found": "error"}},
        {"name": "Fail on regressions", "if": "steps.compare.outputs.status == '1'", "run": _script(
            'echo "::error::mcuorch compare found regressions against the previous result (see the summary)"',
            "exit 1")},
    ]
    return {"name": "Report", "needs": "shard", "if": "${{ !cancelled() }}", "runs-on": "ubuntu-latest",
            "steps": steps}


def workflow(spec: WorkflowSpec) -> dict[str, Any]:
    """The workflow as data (the YAML file is its dump)."""
    triggers: dict[str, Any] = {}
    if spec.schedule:
        triggers["schedule"] = [{"cron": spec.schedule}]
    triggers["workflow_dispatch"] = {}
    if spec.pull_requests:
        triggers["pull_request"] = {}
    jobs: dict[str, Any] = {}
    if spec.runtime == "docker":
        jobs["images"] = _images_job(spec)
    jobs["shard"] = _shard_job(spec)
    jobs["report"] = _report_job(spec)
    return {
        "name": spec.name,
        "on": triggers,
        "permissions": {"contents": "read"},
        "concurrency": {"group": "mcuorch-${{ github.ref }}", "cancel-in-progress": False},
        "env": {"MCUORCH_HOME": "${{ github.workspace }}/.mcuorch-home", **REMOTE_ENV},
        "jobs": jobs,
    }


def render(spec: WorkflowSpec, command: list[str] | None = None) -> str:
    """The workflow file, headed by the command that wrote it (run it again to update)."""
    head = ["# Generated by: " + shlex.join(command) if command else "# Generated by mcuorch ci github",
            "# Remote cache: repository variables MCUORCH_REMOTE_CACHE (s3://bucket/prefix),",
            "# MCUORCH_REMOTE_CACHE_ENDPOINT, MCUORCH_REMOTE_CACHE_REGION; secrets MCUORCH_REMOTE_CACHE_KEY_ID,",
            "# MCUORCH_REMOTE_CACHE_SECRET_KEY. Without them every shard computes its jobs itself."]
    body = yaml.dump(workflow(spec), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
    return "\n".join(head) + "\n" + body


def check_run_args(params: dict[str, Any]) -> None:
    """Options `mcuorch ci github` sets itself may not hide among the matrix arguments."""
    owned = {"shard": "--shard", "resume": "--resume", "dry": "--dry-run", "env": "--env", "runtime": "--runtime",
             "label": "--label"}
    for key, flag in owned.items():
        if params.get(key) not in (None, False):
            raise ConfigError(f"{flag} belongs to `mcuorch ci github` itself, not among the run arguments")
