"""The container images of the local cluster, built here without a Docker engine or registry.

Public surface:

- `build_images(settings, names=(), coredns_binary=None) -> list[BuiltImage]`: build the
  images (cached by content key) into OCI archives under ``settings.images_dir``;
- `load(archives, socket)`: import archives into containerd's ``k8s.io`` namespace;
- `image_ref(name, settings)`: ``docker.io/llmops/<name>:<tag>``, the name pods use;
- `engine_mounts(settings)`: the read-only hostPath mounts the engine pod needs.

The ``vllm-cpu`` image is for the local overlay only: it holds no vLLM. The engine venv
that `llmops engine build` made (~6 GB) and the interpreter it was made from are mounted
into it read-only (see `engine_mounts`), so the image stays small and is built without
the venv; a production engine image is vLLM's own.
"""

from llmops_infra.images.build import BuiltImage, build_images, catalog, image_ref
from llmops_infra.images.load import load
from llmops_infra.images.mounts import engine_mounts
from llmops_infra.images.spec import ImageSpec

__all__ = [
    "BuiltImage",
    "ImageSpec",
    "build_images",
    "catalog",
    "engine_mounts",
    "image_ref",
    "load",
]
