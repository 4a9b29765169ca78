"""Database errors are translated once, at the db/ boundary (db/session.py): no module under api/
imports or catches SQLAlchemy's exceptions; they catch core.errors' DatabaseError family.

import-linter cannot say this (it sees `sqlalchemy`, not `sqlalchemy.exc`, and `sa.exc.X` is an
attribute, not an import), so the source is read here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bigip_lbaas.api

API = Path(bigip_lbaas.api.__file__).parent


def sqlalchemy_exc_uses(source: str) -> list[int]:
    """Line numbers where `source` imports sqlalchemy.exc or reaches it as an attribute."""
    tree = ast.parse(source)
    aliases = {"sqlalchemy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "sqlalchemy"}
    found = []
    for node in ast.walk(tree):
        if _touches_exc(node, aliases):
            found.append(node.lineno)
    return found


def _touches_exc(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.startswith("sqlalchemy.exc") for a in node.names)
    if isinstance(node, ast.ImportFrom) and node.module:
        return node.module.startswith("sqlalchemy.exc") or (
            node.module == "sqlalchemy" and any(a.name == "exc" for a in node.names))
    return (isinstance(node, ast.Attribute) and node.attr == "exc"
            and isinstance(node.value, ast.Name) and node.value.id in aliases)


def test_no_api_module_touches_sqlalchemy_exceptions() -> None:
    offenders = {str(p.relative_to(API)): lines for p in sorted(API.rglob("*.py"))
                 if (lines := sqlalchemy_exc_uses(p.read_text()))}
    assert offenders == {}


def test_the_check_sees_every_spelling() -> None:
    assert sqlalchemy_exc_uses("import sqlalchemy.exc") == [1]
    assert sqlalchemy_exc_uses("from sqlalchemy.exc import IntegrityError") == [1]
    assert sqlalchemy_exc_uses("from sqlalchemy import exc") == [1]
    assert sqlalchemy_exc_uses("import sqlalchemy as sa\ntry:\n    pass\n"
                               "except sa.exc.IntegrityError:\n    pass") == [4]
    assert sqlalchemy_exc_uses("import sqlalchemy as sa\nsa.select(1)") == []
