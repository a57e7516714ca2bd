"""Toolchain images: recipes, content tags, builds, the root OS image, list and prune.

- `tags.resolve_images(env)` names every image of an environment without building anything
  (`mcuorch/<name>:<hash of rendered Dockerfile, context files, parent tag, pins>`).
- `build.ImageBuilder` builds the missing ones, parents first; the root OS image is pulled
  or, without a registry, made with debootstrap (`bootstrap`).
- `inventory` lists mcuorch images and prunes those no environment references.
"""

from orchestrator.images.build import BuiltImage, ImageBuilder
from orchestrator.images.errors import BootstrapError, ImageBuildError, RecipeError
from orchestrator.images.tags import ImageSet, ResolvedImage, RootImage, resolve_images

__all__ = ["BootstrapError", "BuiltImage", "ImageBuildError", "ImageBuilder", "ImageSet",
           "RecipeError", "ResolvedImage", "RootImage", "resolve_images"]
