"""MkDocs hook (mkdocs.yml `hooks:`): adds the generated reference pages to every build.

The pages are made from the sources at build time (`llmops.docs_site.reference_pages`), never
committed, so they cannot go stale.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from llmops.docs_site import reference_pages


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, text in reference_pages().items():
        if files.get_file_from_path(path) is not None:
            raise PluginError(f"docs/{path} is generated: remove the hand-written file")
        files.append(File.generated(config, path, content=text))
    return files
