"""What ships: lock files pinned with hashes, runtime apart from the tools, an image without test tools."""

import re

import pytest

from tests.conftest import REPO_ROOT

DEV_ONLY = {"pytest", "pytest-django", "factory-boy", "faker", "hypothesis", "ruff", "import-linter", "playwright"}


def locked(name: str) -> dict[str, list[str]]:
    """{package: [hashes]} of a compiled lock file."""
    text = (REPO_ROOT / name).read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(.*)$", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
    return pins


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_locked_package_is_pinned_with_a_hash(name):
    pins = locked(name)

    assert len(pins) > 20
    assert {package for package, hashes in pins.items() if not hashes} == set()
    for line in (REPO_ROOT / name).read_text().splitlines():
        assert not re.match(r"^[A-Za-z]", line) or "==" in line, line  # nothing unpinned


def test_runtime_lock_carries_no_test_tools_and_dev_lock_runs_the_same_versions():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")

    assert DEV_ONLY & set(runtime) == set()
    assert DEV_ONLY | {"pip-audit"} <= set(dev)
    assert set(runtime) <= set(dev)
    assert {p: h for p, h in dev.items() if p in runtime} == runtime


def test_locks_are_compiled_from_the_in_files():
    for lock, source in [("requirements.txt", "requirements.in"), ("requirements-dev.txt", "requirements-dev.in")]:
        assert "pip-compile" in (REPO_ROOT / lock).read_text() and "--generate-hashes" in (REPO_ROOT / lock).read_text()
        assert source in (REPO_ROOT / lock).read_text()


def test_image_installs_the_runtime_lock_with_hashes_runs_unprivileged_and_has_a_command():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()

    assert "pip install --no-cache-dir --require-hashes -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert re.search(r'^CMD \["gunicorn"', dockerfile, re.M)
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)


def test_make_and_ci_install_with_hashes_and_ci_audits_the_locks():
    makefile, ci = (REPO_ROOT / "Makefile").read_text(), (REPO_ROOT / ".ci" / "run").read_text()

    assert "pip install --quiet --require-hashes -r requirements-dev.txt" in makefile
    assert "pip-audit --disable-pip --require-hashes -r requirements.txt -r requirements-dev.txt" in makefile
    assert "make --no-print-directory audit" in ci
