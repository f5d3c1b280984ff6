"""checkov (pinned) passes on infra/, skips only what infra/.checkov.yaml lists with a reason,
and `terraform fmt -check` is clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
CONFIG = INFRA / ".checkov.yaml"
REQUIREMENTS = INFRA / "requirements-checkov.txt"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def pinned_version() -> str:
    pins = [
        line.strip()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(pins) == 1, f"{REQUIREMENTS.name} should pin checkov alone: {pins}"
    match = re.fullmatch(r"checkov==(\d+\.\d+\.\d+)", pins[0])
    assert match, f"checkov is not pinned to one version: {pins[0]}"
    return match.group(1)


def checkov() -> Path:
    if not CHECKOV.exists():
        pytest.fail(
            f"{CHECKOV.relative_to(ROOT)} is missing: run `make install` (it builds .venv-checkov "
            f"from {REQUIREMENTS.relative_to(ROOT)})"
        )
    return CHECKOV


def run_checkov(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(checkov()), "--config-file", str(CONFIG.relative_to(ROOT)), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


def test_checkov_is_the_pinned_version():
    result = subprocess.run([str(checkov()), "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == pinned_version()


def test_skipped_checks_are_listed_once_with_a_reason():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["directory"] == ["infra"] and config["framework"] == ["terraform"]
    skips = config.get("skip-check", [])
    lines = CONFIG.read_text().splitlines()
    for check in skips:
        entry = [line for line in lines if re.match(rf"\s*-\s*{re.escape(check)}\b", line)]
        assert len(entry) == 1, f"{check} listed {len(entry)} times"
        reason = entry[0].partition("#")[2].strip()
        assert len(reason) >= 20, f"{check} is skipped without a reason"
    for path in INFRA.rglob("*.tf"):
        assert "checkov:skip" not in path.read_text(), f"inline skip in {path.name}"


def test_checkov_passes_on_infra():
    result = run_checkov()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", output)
    assert passed, output
    assert int(passed.group(1)) > 20 and int(passed.group(2)) == 0, output


def test_checkov_catches_a_public_bucket(tmp_path):
    """The scan is live: the same configuration fails a bucket without public access prevention."""
    for path in INFRA.glob("*.tf"):
        shutil.copy(path, tmp_path / path.name)
    buckets = tmp_path / "buckets.tf"
    text = buckets.read_text()
    assert 'public_access_prevention    = "enforced"' in text
    buckets.write_text(text.replace('public_access_prevention    = "enforced"',
                                    'public_access_prevention    = "inherited"'))
    result = run_checkov("--directory", str(tmp_path))
    assert result.returncode != 0
    assert "CKV_GCP_114" in result.stdout + result.stderr


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH; cloudbuild.yaml checks `terraform fmt` in its "
                    "terraform-fmt step")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "infra"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
