"""The codebase's own rules, read from its source: one door for declaration changes, one vocabulary.

These read the code (ast), not the database: a new service that writes a declaration's status by hand,
or compares a stage with a string, fails here with the file and line to fix.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clearance.models import Check, Declaration, DeclarationEvent, Fee, GateDecision, Inspection
from vehicles.models import Direction, Lane, Movement

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("clearance", "vehicles", "simulation")
LIFECYCLE = ROOT / "clearance" / "services" / "lifecycle.py"

# The vocabulary: every value of these enums is written by its enum's name outside the enum's module.
VOCABULARY = [
    Declaration.Status,
    Declaration.Stage,
    Declaration.Channel,
    DeclarationEvent.Kind,
    Check.Kind,
    Check.Status,
    Check.Outcome,
    Inspection.Force,
    Inspection.Kind,
    Inspection.Status,
    Inspection.Result,
    GateDecision.Decision,
    GateDecision.HoldReason,
    Fee.Journey,
    Movement.Kind,
    Direction,
    Lane.Kind,
]
# The modules that define those enums may spell their values (constraints, tables, docs).
ENUM_MODULES = {
    ROOT / "clearance" / "models" / "declarations.py",
    ROOT / "clearance" / "models" / "checks.py",
    ROOT / "clearance" / "models" / "gate.py",
    ROOT / "vehicles" / "models.py",
}


def app_sources() -> list[Path]:
    return sorted(
        path for package in APP_PACKAGES for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts
    )


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{shown}:{node.lineno}"


def _exempt_strings(tree: ast.Module) -> set[int]:
    """ids of the string constants that may equal a vocabulary value: docstrings, the members of an enum
    being defined (another enum may share a value: a watchlist action "deny"), and stable error codes
    (``code="fee_unpaid"``: the problem+json vocabulary, listed in the README)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
        if isinstance(node, ast.ClassDef) and any("Choices" in ast.unparse(base) for base in node.bases):
            found |= {id(leaf) for statement in node.body for leaf in ast.walk(statement)}
        if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
            found.add(id(node.value))
    return found


def test_the_sources_are_found():
    names = {path.name for path in app_sources()}
    assert {"lifecycle.py", "gate.py", "models.py", "checks.py"} <= names


def test_no_literal_of_an_enum_value_outside_its_enum_module():
    values = {str(value) for enum in VOCABULARY for value in enum.values}
    offending = []
    for path in app_sources():
        if path in ENUM_MODULES:
            continue
        tree = _parse(path)
        exempt = _exempt_strings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in values
                and id(node) not in exempt
            ):
                offending.append(f"{_where(path, node)} {node.value!r}")
    assert offending == [], "write these with their enum (Declaration.Status.CLEARED, …):\n" + "\n".join(offending)


def _writes_of_declaration_state(path: Path) -> list[str]:
    """Places that change a declaration's status or stage or write its audit trail."""
    found = []
    for node in ast.walk(_parse(path)):
        # declaration.transition(...), declaration.move_to_stage(...)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"transition", "move_to_stage"}:
                found.append(f"{_where(path, node)} .{node.func.attr}()")
            # X.objects....update(status=…/stage=…) on a declaration queryset
            if node.func.attr in {"update", "bulk_update"} and "Declaration.objects" in ast.unparse(node.func):
                keywords = {keyword.arg for keyword in node.keywords}
                fields = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
                if keywords & {"status", "stage"} or "status" in fields or "stage" in fields:
                    found.append(f"{_where(path, node)} Declaration update of status/stage")
            # DeclarationEvent.objects.create / bulk_create
            if node.func.attr in {"create", "bulk_create", "get_or_create"} and "DeclarationEvent" in ast.unparse(
                node.func
            ):
                found.append(f"{_where(path, node)} DeclarationEvent written")
        # declaration.status = …, declaration.stage = …
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if (
                        isinstance(leaf, ast.Attribute)
                        and leaf.attr in {"status", "stage"}
                        and "declaration" in ast.unparse(leaf.value).lower()
                    ):
                        found.append(f"{_where(path, node)} {ast.unparse(leaf)} assigned")
        # DeclarationEvent(...) built by hand
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DeclarationEvent":
            found.append(f"{_where(path, node)} DeclarationEvent built")
    return found


def test_only_the_lifecycle_changes_a_declarations_status_stage_or_audit_trail():
    elsewhere = [write for path in app_sources() if path != LIFECYCLE for write in _writes_of_declaration_state(path)]
    # The model's own transition methods are what the lifecycle calls.
    elsewhere = [write for write in elsewhere if not write.startswith("clearance/models/declarations.py")]
    assert elsewhere == [], "go through clearance.services.lifecycle:\n" + "\n".join(elsewhere)


def test_the_lifecycle_itself_is_seen_by_the_check():
    """The rule above would pass vacuously if the scan saw nothing: it sees the lifecycle's own writes."""
    writes = _writes_of_declaration_state(LIFECYCLE)
    assert any(".transition()" in write for write in writes)
    assert any(".move_to_stage()" in write for write in writes)
    assert any("DeclarationEvent" in write for write in writes)


@pytest.mark.parametrize(
    "source",
    [
        "declaration.status = Declaration.Status.CLEARED",
        "declaration.transition(to=Declaration.Status.CLEARED)",
        "Declaration.objects.filter(id=1).update(stage=Declaration.Stage.IN_LANE)",
        "DeclarationEvent.objects.create(declaration=declaration, event='x')",
    ],
)
def test_a_write_outside_the_lifecycle_is_caught(tmp_path, source):
    path = tmp_path / "probe.py"
    path.write_text(source + "\n")
    assert _writes_of_declaration_state(path)


def test_every_event_kind_has_a_lifecycle_function_that_writes_it():
    source = LIFECYCLE.read_text()
    missing = [kind.name for kind in DeclarationEvent.Kind if f"Kind.{kind.name}" not in source]
    assert missing == []
