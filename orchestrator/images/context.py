"""Build contexts: a deterministic tar of the rendered Dockerfile, the recipe folder and the CA.

Layout: `Dockerfile`, `ca-bundle.pem` (the host's CA bundle for a TLS-intercepting proxy, or
an empty file), `src/` (the recipe folder without its template) and, for images built from
upstream sources, `sources/<repo key>.tar.gz` (archives from the source cache). Entries have fixed
owners, modes and mtimes so equal inputs give byte-equal contexts. The CA bundle and the
proxy variables are build *settings*: they reach the `fetch` stage only and never the tag.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from orchestrator.images.errors import RecipeError
from orchestrator.images.tags import SOURCES_DIR, ResolvedImage

CA_ENV_VARS = ("MCUORCH_CA_BUNDLE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "FTP_PROXY", "ALL_PROXY")
CA_NAME = "ca-bundle.pem"


class BuildSettings(BaseModel):
    """How this host reaches package mirrors; never part of any tag."""

    model_config = ConfigDict(frozen=True)

    ca_bundle: Path | None = None
    proxy: dict[str, str] = {}

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> BuildSettings:
        """CA bundle from the first of MCUORCH_CA_BUNDLE, PIP_CERT, ... naming a file; proxies."""
        env = dict(os.environ if environ is None else environ)
        ca = next((Path(env[v]) for v in CA_ENV_VARS if env.get(v) and Path(env[v]).is_file()), None)
        proxy: dict[str, str] = {}
        for var in PROXY_VARS:
            value = env.get(var) or env.get(var.lower())
            if value:
                proxy[var] = value
                proxy[var.lower()] = value
        return cls(ca_bundle=ca, proxy=proxy)


def _entry(name: str, *, mode: int, mtime: int, size: int = 0,
           kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.size, info.type, info.linkname = mode, mtime, size, kind, link
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_context(image: ResolvedImage, settings: BuildSettings, mtime: int = 0,
                  sources: Mapping[str, Path] | None = None) -> bytes:
    """The tar the engine builds from (built in memory: recipe folders are small, and source
    archives are tens of MB at most). `sources` maps the image's repo keys to their cached
    archives, which enter as `sources/<key>.tar.gz`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_bytes(name: str, data: bytes, mode: int = 0o644) -> None:
            tar.addfile(_entry(name, mode=mode, mtime=mtime, size=len(data)), io.BytesIO(data))

        add_bytes("Dockerfile", image.dockerfile.encode("utf-8"))
        ca = settings.ca_bundle.read_bytes() if settings.ca_bundle else b""
        add_bytes(CA_NAME, ca)
        tar.addfile(_entry("src", mode=0o755, mtime=mtime, kind=tarfile.DIRTYPE))
        made_dirs = {"src"}
        for file in image.files:
            parts = Path("src", file.rel).parts
            for depth in range(2, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in made_dirs:
                    tar.addfile(_entry(folder, mode=0o755, mtime=mtime, kind=tarfile.DIRTYPE))
                    made_dirs.add(folder)
            name = "/".join(parts)
            if file.link is not None:
                tar.addfile(_entry(name, mode=0o777, mtime=mtime, kind=tarfile.SYMTYPE,
                                   link=file.link))
            else:
                data = file.path.read_bytes()
                if hashlib.sha256(data).hexdigest() != file.digest:
                    raise RecipeError(f"{file.path} changed while its image was being built; run again")
                add_bytes(name, data, 0o755 if file.executable else 0o644)
        source_paths = dict(sources or {})
        missing = sorted(set(image.sources) - set(source_paths))
        if missing:
            raise RecipeError(f"image {image.name}: no archive given for source(s) {', '.join(missing)}")
        if image.sources:
            tar.addfile(_entry(SOURCES_DIR, mode=0o755, mtime=mtime, kind=tarfile.DIRTYPE))
        for key in sorted(image.sources):
            path = source_paths[key]
            info = _entry(f"{SOURCES_DIR}/{key}.tar.gz", mode=0o644, mtime=mtime, size=path.stat().st_size)
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()
