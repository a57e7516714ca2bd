"""Upstream sources, fetched once and pinned: the source cache under `<home>/sources/`.

Like a distribution's download cache or a lab's offline mirror: `mcuorch sources fetch`
fills the cache from git (clone, check out the pinned commit, archive the tree) or imports
archives from a mirror folder with a `MANIFEST.tsv`; image builds then read sources only from
the cache, through their build context.
"""

from orchestrator.sources.cache import CachedSource, SourceCache, archive_name
from orchestrator.sources.errors import SourceError, SourceMissingError
from orchestrator.sources.fetch import FetchResult, fetch_sources, needed_sources

__all__ = ["CachedSource", "FetchResult", "SourceCache", "SourceError", "SourceMissingError",
           "archive_name", "fetch_sources", "needed_sources"]
