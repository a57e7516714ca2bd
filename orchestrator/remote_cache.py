"""The job store's remote tier: published jobs shared through S3-compatible object storage.

CI runners start with empty homes; what one runner (or last night) computed should not be
computed again. Before a job executes, its key is looked up remotely and a published copy is
downloaded; after a job succeeds, it is uploaded. The remote keeps the local store's rules:

- Content keys: `<prefix>/schema-<N>/<stage>/<key>/`. A manifest of another schema or format
  version is never trusted (keys already include the schema; the manifest says it again).
- Publish only when complete: the files of one upload go under a fresh upload id, and
  `manifest.json`, written last, names that upload. An interrupted upload has no manifest
  pointing at it, so nobody sees it; a replacement switches the manifest in one PUT.
- Digests verified on every read: the manifest holds each file's sha256 and size, checked while
  downloading; the job is then checked as a local entry is (outputs and metrics digests of its
  job.json) before it is renamed into the store. A damaged remote job is a miss: the job
  executes and its upload replaces the damaged one.

Configuration comes from the environment, never from files: `MCUORCH_REMOTE_CACHE=s3://bucket/prefix`,
`MCUORCH_REMOTE_CACHE_ENDPOINT` (any S3-compatible server), `MCUORCH_REMOTE_CACHE_MODE`
(`readwrite`, `read` for pull requests, `off`), credentials through boto3's usual chain
(`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, ValidationError, field_validator

from orchestrator.components.base import Stage
from orchestrator.digest import file_digest
from orchestrator.errors import UserError
from orchestrator.plan import SCHEMA_VERSION
from orchestrator.store import JobStore, PublishedJob

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
URL_VARIABLE = "MCUORCH_REMOTE_CACHE"
ENDPOINT_VARIABLE = "MCUORCH_REMOTE_CACHE_ENDPOINT"
MODE_VARIABLE = "MCUORCH_REMOTE_CACHE_MODE"
MODES = ("readwrite", "read", "off")
DEFAULT_REGION = "us-east-1"
"""S3-compatible servers ignore the region but boto3 needs one to sign requests."""
_CHUNK = 1 << 20

Warn = Callable[[str], None]


class RemoteCacheError(UserError):
    """A remote cache that is misconfigured or unreachable before the session starts."""


class RemoteIntegrityError(Exception):
    """A remote job whose bytes are not what its manifest says."""


class RemoteSettings(BaseModel):
    """Where the remote tier lives and whether this session may write to it."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    mode: Literal["readwrite", "read"] = "readwrite"
    region: str = DEFAULT_REGION

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def writable(self) -> bool:
        return self.mode == "readwrite"

    def describe(self) -> str:
        return self.url + (f" at {self.endpoint}" if self.endpoint else "")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RemoteSettings | None:
        """The settings in `MCUORCH_REMOTE_CACHE*`, or None when no remote tier is configured."""
        env = os.environ if environ is None else environ
        url = env.get(URL_VARIABLE, "").strip()
        mode = env.get(MODE_VARIABLE, "").strip().lower() or "readwrite"
        if mode not in MODES:
            raise RemoteCacheError(f"{MODE_VARIABLE}={mode!r}: choose from {', '.join(MODES)}")
        if not url or mode == "off":
            return None
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise RemoteCacheError(f"{URL_VARIABLE}={url!r} must look like s3://bucket/prefix")
        endpoint = env.get(ENDPOINT_VARIABLE, "").strip() or None
        if endpoint is not None and urlparse(endpoint).scheme not in ("http", "https"):
            raise RemoteCacheError(f"{ENDPOINT_VARIABLE}={endpoint!r} must be an http(s):// URL")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return cls(bucket=parsed.netloc, prefix=parsed.path.strip("/"), endpoint=endpoint,
                   mode=mode, region=region)  # type: ignore[arg-type]


class RemoteFile(BaseModel):
    """One entry of a published job: a file (sha256, size, executable bit), a folder or a link."""

    path: str
    kind: Literal["file", "dir", "link"] = "file"
    sha256: str | None = None
    size: int = 0
    executable: bool = False
    target: str | None = None

    @field_validator("path")
    @classmethod
    def _inside(cls, path: str) -> str:
        """A manifest only names paths inside the job's folder."""
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or path != pure.as_posix():
            raise ValueError(f"path {path!r} leaves the job folder")
        return path


class RemoteManifest(BaseModel):
    """`manifest.json`: the one upload that makes a remote job visible."""

    format: int = FORMAT_VERSION
    schema_version: int = SCHEMA_VERSION
    stage: str
    key: str
    upload: str
    """The upload id: the folder of this upload's files next to the manifest."""
    files: list[RemoteFile]
    uploaded: float = Field(default_factory=time.time)
    session: str = ""


@dataclass
class RemoteStats:
    downloaded: int = 0
    uploaded: int = 0
    damaged: int = 0
    """Remote jobs found damaged (and so executed again, then replaced)."""
    failed_uploads: int = 0


def job_entries(folder: Path) -> Iterator[RemoteFile]:
    """Every file, folder and link of a published job folder, in sorted order."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            yield RemoteFile(path=rel, kind="link", target=os.readlink(path))
        elif path.is_dir():
            yield RemoteFile(path=rel, kind="dir")
        elif path.is_file():
            yield RemoteFile(path=rel, sha256=file_digest(path), size=path.stat().st_size,
                             executable=os.access(path, os.X_OK))


class RemoteCache:
    """The remote tier of one job store; thread-safe (boto3 clients are)."""

    def __init__(self, settings: RemoteSettings, client: Any = None, warn: Warn | None = None) -> None:
        self.settings = settings
        self.client = client if client is not None else make_client(settings)
        self.warn: Warn = warn or (lambda message: None)
        self.stats = RemoteStats()
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    # -- layout ---------------------------------------------------------------------------
    def _job_prefix(self, stage: Stage, key: str) -> str:
        parts = [self.settings.prefix, f"schema-{SCHEMA_VERSION}", stage.value, key]
        return "/".join(p for p in parts if p)

    def manifest_key(self, stage: Stage, key: str) -> str:
        return f"{self._job_prefix(stage, key)}/{MANIFEST}"

    def object_key(self, stage: Stage, key: str, upload: str, path: str) -> str:
        return f"{self._job_prefix(stage, key)}/{upload}/{path}"

    # -- checks ---------------------------------------------------------------------------
    def check(self) -> None:
        """Fail before the session starts when the bucket cannot be reached or read."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.settings.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise RemoteCacheError(f"remote cache {self.settings.describe()} cannot be used: {_reason(exc)} "
                                   f"(unset {URL_VARIABLE} or set {MODE_VARIABLE}=off to run without it)") from None

    def _once(self, topic: str, message: str) -> None:
        with self._lock:
            if topic in self._warned:
                return
            self._warned.add(topic)
        self.warn(message)

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    # -- reading --------------------------------------------------------------------------
    def manifest(self, stage: Stage, key: str) -> RemoteManifest | None:
        """The published manifest of a key, or None (absent, unreadable, another version)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.settings.bucket, Key=self.manifest_key(stage, key))["Body"].read()
        except ClientError as exc:
            if _status(exc) != 404:
                self._once("read", f"remote cache: cannot read {self.settings.describe()}: {_reason(exc)}; "
                                   "jobs execute locally")
            return None
        except BotoCoreError as exc:
            self._once("read", f"remote cache: cannot read {self.settings.describe()}: {_reason(exc)}; "
                               "jobs execute locally")
            return None
        try:
            manifest = RemoteManifest.model_validate_json(body)
        except ValidationError:
            self._damaged(stage, key, "its manifest is not valid")
            return None
        if (manifest.format, manifest.schema_version, manifest.stage, manifest.key) != \
                (FORMAT_VERSION, SCHEMA_VERSION, stage.value, key):
            return None  # another schema or format: never trusted
        return manifest

    def fetch(self, store: JobStore, stage: Stage, key: str) -> PublishedJob | None:
        """Download a remote job into the local store (call while holding the key's lock).

        None when there is none, or when it is damaged (then it counts as a miss)."""
        manifest = self.manifest(stage, key)
        if manifest is None:
            return None
        staging = store.prepare_staging(stage, key)
        try:
            self._download(manifest, stage, key, staging)
            published = store.adopt(staging, stage, key)
        except RemoteIntegrityError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            self._damaged(stage, key, str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - a failed download is a miss, the job executes
            shutil.rmtree(staging, ignore_errors=True)
            self._once("download", f"remote cache: download of {stage.value} {key[:12]} failed: {_reason(exc)}; "
                                   "executing it")
            return None
        if published is None:
            self._damaged(stage, key, "its job record does not match its outputs")
            return None
        self._count("downloaded")
        return published

    def _download(self, manifest: RemoteManifest, stage: Stage, key: str, staging: Path) -> None:
        from botocore.exceptions import ClientError

        for entry in manifest.files:
            target = staging / entry.path
            if entry.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "link":
                os.symlink(entry.target or "", target)
                continue
            try:
                body = self.client.get_object(Bucket=self.settings.bucket,
                                              Key=self.object_key(stage, key, manifest.upload, entry.path))["Body"]
            except ClientError as exc:
                if _status(exc) == 404:
                    raise RemoteIntegrityError(f"{entry.path} is missing") from None
                raise
            digest, size = hashlib.sha256(), 0
            with target.open("wb") as handle:
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
            if size != entry.size or digest.hexdigest() != entry.sha256:
                raise RemoteIntegrityError(f"{entry.path} has sha256 {digest.hexdigest()[:12]}… ({size} bytes), "
                                           f"the manifest says {str(entry.sha256)[:12]}… ({entry.size} bytes)")
            if entry.executable:
                target.chmod(target.stat().st_mode | 0o111)

    def _damaged(self, stage: Stage, key: str, why: str) -> None:
        self._count("damaged")
        self.warn(f"remote cache: {stage.value} job {key[:12]} is damaged ({why}); executing it"
                  + (" and replacing it" if self.settings.writable else ""))

    # -- writing --------------------------------------------------------------------------
    def has(self, stage: Stage, key: str) -> bool:
        return self.manifest(stage, key) is not None

    def upload(self, job: PublishedJob, session: str = "") -> bool:
        """Publish a local job: files under a fresh upload id, then the manifest naming them.

        Never raises: a failed upload leaves no visible job and the local result stands."""
        if not self.settings.writable:
            return False
        stage, key = Stage(job.record.stage), job.record.key
        upload = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        try:
            entries = list(job_entries(job.path))
            for entry in entries:
                if entry.kind == "file":
                    with (job.path / entry.path).open("rb") as handle:
                        self.client.put_object(Bucket=self.settings.bucket, Body=handle,
                                               Key=self.object_key(stage, key, upload, entry.path))
            previous = self.manifest(stage, key)
            manifest = RemoteManifest(stage=stage.value, key=key, upload=upload, files=entries, session=session)
            self.client.put_object(Bucket=self.settings.bucket, Key=self.manifest_key(stage, key),
                                   Body=manifest.model_dump_json(indent=1).encode(), ContentType="application/json")
        except Exception as exc:  # noqa: BLE001 - the local result stands; nobody sees a partial upload
            self._count("failed_uploads")
            self._once("upload", f"remote cache: upload of {stage.value} {key[:12]} failed: {_reason(exc)}; "
                                 "results stay local")
            return False
        if previous is not None and previous.upload != upload:
            self._remove_upload(stage, key, previous)
        self._count("uploaded")
        return True

    def _remove_upload(self, stage: Stage, key: str, manifest: RemoteManifest) -> None:
        """Best effort: the files of a replaced upload (nothing points at them any more)."""
        try:
            for entry in manifest.files:
                if entry.kind == "file":
                    self.client.delete_object(Bucket=self.settings.bucket,
                                              Key=self.object_key(stage, key, manifest.upload, entry.path))
        except Exception:  # noqa: BLE001 - leftovers cost space, never correctness
            return


def make_client(settings: RemoteSettings) -> Any:
    """A boto3 S3 client with short connect timeouts (an unreachable bucket fails fast)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - boto3 is a dependency
        raise RemoteCacheError("the remote cache needs boto3 (pip install boto3)") from None
    config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path"})
    return boto3.session.Session().client("s3", endpoint_url=settings.endpoint, region_name=settings.region,
                                          config=config)


def remote_from_environ(warn: Warn | None = None) -> RemoteCache | None:
    """The configured remote tier, checked reachable; None when none is configured."""
    settings = RemoteSettings.from_environ()
    if settings is None:
        return None
    remote = RemoteCache(settings, warn=warn)
    remote.check()
    return remote


def _status(exc: Any) -> int | None:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is None and response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
        return 404
    return int(status) if status is not None else None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
