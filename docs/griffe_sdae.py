"""A Griffe extension for the manual's API reference (mkdocs.yml, mkdocstrings `extensions`).

sdae.sklearn's estimators share the documentation of their common parameters: their class
docstrings hold the line `{PARAMETER_DOCS}`, which the modules replace with
`sdae.sklearn.common.PARAMETER_DOCS` at import time (`SDAEClassifier.__doc__ = ....replace(...)`).
Griffe reads the source without importing it, so it would see the placeholder; this extension makes
the same replacement on the docstrings it loaded, so the reference shows what `help()` shows.
"""

from __future__ import annotations

import ast

import griffe

PLACEHOLDER = "{PARAMETER_DOCS}"
SOURCE = "sklearn.common.PARAMETER_DOCS"  # inside the sdae package


def _objects(obj):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


class SharedParameterDocs(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if pkg.name != "sdae":
            return
        text = ast.literal_eval(str(pkg[SOURCE].value))
        # The constant is written for the raw, indented `__doc__`; Griffe's docstrings are dedented already.
        first, *rest = text.splitlines()
        text = "\n".join([first, *(line[4:] if line.startswith("    ") else line for line in rest)])
        for obj in _objects(pkg):
            if obj.docstring is not None and PLACEHOLDER in obj.docstring.value:
                obj.docstring.value = obj.docstring.value.replace(PLACEHOLDER, text)
