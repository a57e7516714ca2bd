"""Runs a generated GitHub Actions workflow's jobs locally, in order, to prove they fit together.

Not a GitHub Actions clone: just enough of it for the workflows `mcuorch ci github` writes.
Every job gets a fresh workspace (as a fresh runner would); `run:` steps execute with bash as
Actions runs them (`-eo pipefail`), with `${{ }}` expressions evaluated, `$GITHUB_OUTPUT` and
`$GITHUB_STEP_SUMMARY` honoured; the few `uses:` actions the workflow needs are played with
folders: artifacts per workflow run, a cache that outlives runs (restore-keys by prefix,
newest first, immutable keys). Anything else (an unknown action, context or operator) raises,
so a test passing means every step was understood and ran.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<num>\d+)"
                    r"|(?P<ref>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_*-]+)*))")
_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}")
FUNCTIONS = {"always": True, "cancelled": False, "success": True, "failure": False}


class Expression:
    """GitHub's expression language, the subset the generated workflows use."""

    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        position, text = 0, text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise ValueError(f"cannot read expression {text!r} at {text[position:]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.context = context
        self.index = 0

    def value(self) -> Any:
        result = self._or()
        if self.index != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.index]}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = left and right
        return left

    def _compare(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            left = (str(left) == str(right)) if op == "==" else (str(left) != str(right))
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        kind, text = self._take()
        if text == "(":
            inner = self._or()
            self._take()
            return inner
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return int(text)
        if self._peek() == "(":
            self._take()
            self._take()
            if text not in FUNCTIONS:
                raise ValueError(f"unknown function {text}()")
            return FUNCTIONS[text]
        return self._lookup(text)

    def _lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head not in self.context:
            raise KeyError(f"unknown context {head!r} in {path!r}")
        value: Any = self.context[head]
        for part in rest:
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value


def evaluate(text: str, context: dict[str, Any]) -> Any:
    return Expression(text, context).value()


def interpolate(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _INTERPOLATION.fullmatch(value.strip())
        if whole:
            return evaluate(whole.group(1), context)
        return _INTERPOLATION.sub(lambda m: _text(evaluate(m.group(1), context)), value)
    if isinstance(value, dict):
        return {k: interpolate(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, context) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class StepLog:
    job: str
    name: str
    returncode: int
    output: str


@dataclass
class WorkflowRun:
    run_id: int
    logs: list[StepLog] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)
    """Job (with matrix values) → success, failure or skipped."""

    def output_of(self, job: str, step: str) -> str:
        return "\n".join(log.output for log in self.logs if log.job.startswith(job) and log.name == step)


class ActionsEmulator:
    def __init__(self, workflow: dict[str, Any], root: Path, *, base_env: dict[str, str], tools: Path,
                 variables: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
                 event: str = "schedule", skip_steps: frozenset[str] = frozenset({"install"})) -> None:
        self.workflow = workflow
        self.root = root
        self.base_env = base_env
        self.tools = tools
        """A folder put first on PATH (stands for what the skipped install step would install)."""
        self.variables = variables or {}
        self.secrets = secrets or {}
        self.event = event
        self.skip_steps = skip_steps
        self.caches = root / "caches"

    def run(self, run_id: int) -> WorkflowRun:
        run = WorkflowRun(run_id=run_id)
        jobs: dict[str, Any] = self.workflow["jobs"]
        outputs: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        while len(done) < len(jobs):
            ready = [n for n, j in jobs.items() if n not in done and set(_needs(j)) <= done]
            if not ready:
                raise ValueError("jobs need each other in a cycle")
            for name in ready:
                outputs[name] = self._job(run, name, jobs[name], outputs)
                done.add(name)
        return run

    def _context(self, run: WorkflowRun, workspace: Path, matrix: dict[str, Any],
                 needs: dict[str, Any]) -> dict[str, Any]:
        return {"github": {"workspace": str(workspace), "run_id": str(run.run_id), "event_name": self.event,
                           "ref": "refs/heads/main"},
                "runner": {"temp": str(workspace.parent / (workspace.name + "-temp"))},
                "matrix": matrix, "needs": needs, "steps": {}, "env": {}, "vars": self.variables,
                "secrets": self.secrets}

    def _job(self, run: WorkflowRun, name: str, job: dict[str, Any], outputs: dict[str, dict[str, Any]]
             ) -> dict[str, Any]:
        needs = {n: {"outputs": outputs.get(n, {}), "result": run.results.get(n, "success")} for n in _needs(job)}
        axes = job.get("strategy", {}).get("matrix", {})
        combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())] if axes else [{}]
        merged: dict[str, Any] = {}
        for matrix in combos:
            label = name + "".join(f"-{v}" for v in matrix.values())
            workspace = self.root / f"run{run.run_id}" / label
            workspace.mkdir(parents=True)
            context = self._context(run, workspace, matrix, needs)
            Path(context["runner"]["temp"]).mkdir(parents=True)
            if "if" in job and not evaluate(_bare(job["if"]), context):
                run.results[name] = "skipped"
                continue
            env = {**self.base_env}
            for scope in (self.workflow.get("env", {}), job.get("env", {})):
                for key, value in scope.items():
                    env[key] = _text(interpolate(value, {**context, "env": env}))
            context["env"] = env
            ok = all(self._step(run, label, step, context, workspace, env) for step in job["steps"])
            run.results[name] = "success" if ok and run.results.get(name) != "failure" else "failure"
            merged.update(interpolate(job.get("outputs", {}), context))
        return merged

    def _step(self, run: WorkflowRun, job: str, step: dict[str, Any], context: dict[str, Any], workspace: Path,
              env: dict[str, str]) -> bool:
        if "if" in step and not evaluate(_bare(step["if"]), context):
            return True
        if step.get("id") in self.skip_steps:
            return True
        step_env = {**env, **{k: _text(interpolate(v, context)) for k, v in step.get("env", {}).items()}}
        name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
        if "uses" in step:
            outputs = self._action(run, step["uses"], interpolate(step.get("with", {}), context), workspace)
        else:
            outputs = self._shell(run, job, name, _text(interpolate(step["run"], context)), workspace, step_env,
                                  Path(context["runner"]["temp"]))
            if outputs is None:
                return False
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": outputs}
        return True

    def _shell(self, run: WorkflowRun, job: str, name: str, script: str, workspace: Path, env: dict[str, str],
               temp: Path) -> dict[str, str] | None:
        files = {"GITHUB_OUTPUT": temp / "output", "GITHUB_STEP_SUMMARY": temp / "summary"}
        for path in files.values():
            path.touch()
        (temp / "output").write_text("")
        full_env = {**env, **{k: str(v) for k, v in files.items()}, "RUNNER_TEMP": str(temp),
                    "GITHUB_WORKSPACE": str(workspace), "PATH": f"{self.tools}:{env.get('PATH', '')}"}
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=workspace,
                                env=full_env, capture_output=True, text=True, timeout=900)
        run.logs.append(StepLog(job=job, name=name, returncode=result.returncode,
                                output=result.stdout + result.stderr))
        run.summaries[job] = (temp / "summary").read_text()
        if result.returncode != 0:
            return None
        outputs = {}
        for line in (temp / "output").read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[key] = value
        return outputs

    def _action(self, run: WorkflowRun, uses: str, inputs: dict[str, Any], workspace: Path) -> dict[str, str]:
        action = uses.split("@", 1)[0]
        if action in ("actions/checkout", "actions/setup-python"):
            return {}
        if action == "actions/upload-artifact":
            source = workspace / str(inputs["path"])
            if not source.exists():
                if inputs.get("if-no-files-found") == "error":
                    raise FileNotFoundError(f"upload-artifact: {source} does not exist")
                return {}
            shutil.copytree(source, self.root / f"run{run.run_id}-artifacts" / str(inputs["name"]))
            return {}
        if action == "actions/download-artifact":
            folder = self.root / f"run{run.run_id}-artifacts"
            for artifact in sorted(folder.iterdir()):
                if fnmatch.fnmatch(artifact.name, str(inputs["pattern"])):
                    shutil.copytree(artifact, workspace / str(inputs["path"]) / artifact.name)
            return {}
        if action == "actions/cache/restore":
            return self._restore(inputs, workspace)
        if action == "actions/cache/save":
            entry = self.caches / str(inputs["key"])
            if not entry.exists():  # cache keys are immutable
                shutil.copytree(workspace / str(inputs["path"]), entry / "content")
            return {}
        raise ValueError(f"the emulator does not know {uses}")

    def _restore(self, inputs: dict[str, Any], workspace: Path) -> dict[str, str]:
        key = str(inputs["key"])
        found = self.caches / key if (self.caches / key).exists() else None
        if found is None and inputs.get("restore-keys"):
            prefixes = str(inputs["restore-keys"]).split()
            candidates = [p for p in self.caches.glob("*") if any(p.name.startswith(x) for x in prefixes)]
            found = max(candidates, key=lambda p: p.stat().st_mtime, default=None)
        if found is None:
            if inputs.get("fail-on-cache-miss") in (True, "true"):
                raise FileNotFoundError(f"cache miss for {key}")
            return {"cache-hit": "false"}
        if inputs.get("lookup-only") not in (True, "true"):
            shutil.copytree(found / "content", workspace / str(inputs["path"]), dirs_exist_ok=True)
        return {"cache-hit": "true" if found.name == key else "false", "cache-matched-key": found.name}


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _bare(condition: Any) -> str:
    text = str(condition).strip()
    whole = _INTERPOLATION.fullmatch(text)
    return whole.group(1) if whole else text
