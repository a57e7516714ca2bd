"""Model lookup: a bundled model by name (on the environment's search path) or a `.tflite` path.

A bundled model is a folder `<name>/` with `model.tflite`, optionally `definition.yml` and a
`golden/` folder. A plain `.tflite` file may have a `definition.yml` beside it. The model's
digest (over exactly the files LOAD reads) is the LOAD job's input digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from orchestrator.digest import digest_paths
from orchestrator.errors import ModelNotFoundError

MODEL_FILE = "model.tflite"
DEFINITION_FILE = "definition.yml"
GOLDEN_DIR = "golden"


class ModelRef(BaseModel):
    """A resolved model: its name, files and where to mount them from."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    definition: Path | None = None
    golden: Path | None = None

    @property
    def files(self) -> list[Path]:
        """Exactly the files and folders the LOAD stage reads."""
        return [p for p in (self.path, self.definition, self.golden) if p is not None]

    def digest(self) -> str:
        return digest_paths({p.name: p for p in self.files})


def _from_folder(folder: Path) -> ModelRef:
    definition = folder / DEFINITION_FILE
    golden = folder / GOLDEN_DIR
    return ModelRef(name=folder.name, path=(folder / MODEL_FILE).resolve(),
                    definition=definition.resolve() if definition.is_file() else None,
                    golden=golden.resolve() if golden.is_dir() else None)


def _from_file(path: Path) -> ModelRef:
    definition = path.parent / DEFINITION_FILE
    name = path.parent.name if path.name == MODEL_FILE else path.stem
    return ModelRef(name=name, path=path.resolve(),
                    definition=definition.resolve() if definition.is_file() else None)


def bundled_models(search_path: Sequence[Path]) -> dict[str, Path]:
    """Bundled model folders by name; earlier search path entries win."""
    found: dict[str, Path] = {}
    for folder in search_path:
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                if (child / MODEL_FILE).is_file():
                    found.setdefault(child.name, child)
    return found


def model_operators(folder: Path) -> list[str] | None:
    """The TFLite operators a bundled model's `definition.yml` lists (None: not recorded)."""
    try:
        raw = yaml.safe_load((folder / DEFINITION_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return None
    ops = raw.get("operators") if isinstance(raw, dict) else None
    if not isinstance(ops, dict):
        return None
    names = next((v for v in ops.values() if isinstance(v, list)), None)
    return sorted({str(n) for n in names}) if names else None


def resolve_model(ref: str, search_path: Sequence[Path]) -> ModelRef:
    """A model name or path → ModelRef; anything else is one clear `ModelNotFoundError`."""
    looks_like_path = ref.endswith(".tflite") or "/" in ref
    if looks_like_path:
        path = Path(ref).expanduser()
        if path.is_dir() and (path / MODEL_FILE).is_file():
            return _from_folder(path.resolve())
        if not path.is_file():
            raise ModelNotFoundError(f"model file {ref} does not exist")
        if path.suffix != ".tflite":
            raise ModelNotFoundError(f"model file {ref} is not a .tflite file")
        return _from_file(path)
    bundled = bundled_models(search_path)
    if ref in bundled:
        return _from_folder(bundled[ref].resolve())
    choices = ", ".join(sorted(bundled)) or "none bundled"
    raise ModelNotFoundError(f"unknown model {ref!r}; choose from: {choices} (or give a path to a .tflite)")
