"""The pins in requirements/ cover every dependency, direct and transitive, with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
LOCKS = {name: REPO / "requirements" / f"{name}.txt" for name in ("runtime", "dev", "pi", "nodeps")}
UNLOCKED_EXTRAS = {"research"}  # opensmile: a research comparison, never installed by setup.sh


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, tuple[str, str, int]]:
    """name → (version, marker, number of hashes), for every requirement block in a lock file."""
    out: dict[str, tuple[str, str, int]] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for block in blocks:
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;\s*([^\\\n]+))?\s*\\?\n", block)
        if not m:
            continue
        name, version, marker = canon(m.group(1)), m.group(2), (m.group(3) or "").strip()
        if marker:
            env = default_environment()
            if not Requirement(f"x; {marker}").marker.evaluate(env):
                continue  # pinned for another platform or Python
        out[name] = (version, marker, block.count("--hash=sha256:"))
    return out


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project["dependencies"]}
    for extra, reqs in project.get("optional-dependencies", {}).items():
        if extra not in UNLOCKED_EXTRAS:
            groups[extra] = reqs
    return {g: [Requirement(r) for r in reqs] for g, reqs in groups.items()}


def test_every_declared_dependency_is_pinned_within_its_range():
    missing, outside = [], []
    runtime = pins(LOCKS["runtime"])
    for group, reqs in declared().items():
        locked = {**runtime, **pins(LOCKS.get(group, LOCKS["runtime"]))}
        for req in reqs:
            if req.marker is not None and not req.marker.evaluate():
                continue
            pin = locked.get(canon(req.name))
            if pin is None:
                missing.append(f"{req} ({group})")
            elif not req.specifier.contains(pin[0], prereleases=True):
                outside.append(f"{req} pinned at {pin[0]}")
    assert not missing, f"in pyproject.toml but not pinned: {missing}; run scripts/lock.sh"
    assert not outside, f"pins outside pyproject.toml's ranges: {outside}; run scripts/lock.sh"


def test_every_pin_has_hashes_and_extras_agree_with_runtime():
    runtime = pins(LOCKS["runtime"])
    for name, path in LOCKS.items():
        locked = pins(path)
        assert locked, f"{path} has no pins"
        assert all(n for _, _, n in locked.values()), f"{path}: a pin without --hash"
        for pkg, (version, _, _) in locked.items():
            if pkg in runtime:
                assert runtime[pkg][0] == version, f"{name}.txt pins {pkg}=={version}, runtime.txt {runtime[pkg][0]}"


def test_installed_environment_is_exactly_the_pins():
    """Transitive coverage: every package in this venv (besides pip's own tools) is pinned, at that version."""
    locked: dict[str, tuple[str, str, int]] = {}
    for path in LOCKS.values():
        locked.update(pins(path))
    tools = {"pip", "setuptools", "wheel", "companion"}  # the venv's own tools, unless a package needs them
    unpinned, wrong = [], []
    for dist in metadata.distributions():
        name = canon(dist.metadata["Name"])
        if name in tools and name not in locked:
            continue
        if name not in locked:
            unpinned.append(name)
        elif locked[name][0] != dist.version:
            wrong.append(f"{name} {dist.version} (pinned {locked[name][0]})")
    assert not unpinned, f"installed but not pinned: {sorted(unpinned)}"
    assert not wrong, f"installed at another version than pinned: {wrong}"
