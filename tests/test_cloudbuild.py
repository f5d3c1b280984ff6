"""cloudbuild.yaml runs the README's test command, checkov, then terraform init/plan, and applies
only when asked to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CLOUDBUILD = ROOT / "cloudbuild.yaml"
INFRA_README = ROOT / "infra" / "README.md"
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
VERSIONS = ROOT / "infra" / "versions.tf"


@pytest.fixture(scope="module")
def build() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


def steps(build: dict) -> dict[str, dict]:
    by_id = {step["id"]: step for step in build["steps"]}
    assert len(by_id) == len(build["steps"]), "step ids must be unique"
    return by_id


def script(step: dict) -> list[str]:
    """The commands a step runs, one per line (entrypoint and args joined)."""
    args = step.get("args", [])
    if step.get("entrypoint") in ("bash", "sh") and args and args[0].startswith("-c"):
        return [line.strip() for line in args[1].splitlines() if line.strip()]
    return [" ".join([step.get("entrypoint", ""), *args]).strip()]


def readme_test_command() -> str:
    """The second of the two commands the README starts with (the first is the demo)."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert block, "README.md does not start with its commands"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0] == "make demo", lines
    return lines[1]


def test_readmes_and_ci_agree_on_the_test_command():
    command = readme_test_command()
    assert command == "make test"
    ci = [line.strip() for line in CI_RUN.read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == command
    infra_test = INFRA_README.read_text().split("## Test", 1)[1]
    assert re.search(r"```sh\n(.*?)```", infra_test, re.S).group(1).strip() == command


def test_test_step_runs_the_readme_command_with_the_emulators(build):
    step = steps(build)["test"]
    assert readme_test_command() in script(step)
    image = build["substitutions"]["_CLOUD_SDK_IMAGE"]
    assert step["name"] == "${_CLOUD_SDK_IMAGE}"
    assert image.startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:")
    assert image.endswith("-emulators"), "the stack tests need the Pub/Sub emulator and Java"
    assert not image.endswith(":latest")


def test_order_tests_scan_then_terraform(build):
    ids = [step["id"] for step in build["steps"]]
    assert ids == ["test", "checkov", "terraform-fmt", "terraform-init", "terraform-plan",
                   "terraform-apply"]
    assert not any("waitFor" in step for step in build["steps"]), "steps must run in order"


def test_checkov_step_uses_the_pinned_checkov_and_its_config(build):
    commands = script(steps(build)["checkov"])
    assert commands == [".venv-checkov/bin/checkov --config-file infra/.checkov.yaml"]


def test_terraform_steps(build):
    by_id = steps(build)
    image = build["substitutions"]["_TERRAFORM_IMAGE"]
    version = re.fullmatch(r"hashicorp/terraform:(\d+)\.(\d+)\.(\d+)", image)
    assert version, f"terraform image not pinned: {image}"
    required = re.search(r'required_version\s*=\s*">=\s*(\d+)\.(\d+)', VERSIONS.read_text())
    assert tuple(map(int, version.groups()[:2])) >= tuple(map(int, required.groups()))
    for step_id in ("terraform-fmt", "terraform-init", "terraform-plan", "terraform-apply"):
        assert by_id[step_id]["name"] == "${_TERRAFORM_IMAGE}"

    assert script(by_id["terraform-fmt"]) == ["fmt -check -recursive -diff infra"]
    init = " ".join(script(by_id["terraform-init"]))
    assert (
        "terraform -chdir=infra init -input=false -backend-config=bucket=${_TF_STATE_BUCKET}"
        in init
    )
    plan = by_id["terraform-plan"]
    assert "-chdir=infra plan" in script(plan)[0] and "-out=tfplan" in script(plan)[0]
    for step in (plan, by_id["terraform-apply"]):
        assert set(step["env"]) == {"TF_VAR_project_id=${_PROJECT_ID}", "TF_VAR_region=${_REGION}"}


def test_apply_needs_an_explicit_substitution(build):
    subs = build["substitutions"]
    assert subs["_APPLY"] == "false"
    assert subs["_PROJECT_ID"] == "${PROJECT_ID}" and subs["_REGION"]
    assert "_TF_STATE_BUCKET" in subs
    assert build["options"]["dynamicSubstitutions"] is True
    apply = " ".join(script(steps(build)["terraform-apply"]))
    assert re.search(r'if \[ "\$\{_APPLY\}" = "true" \]; then terraform -chdir=infra apply '
                     r"-input=false -lock-timeout=\d+s tfplan", apply)
    others = [s for s in build["steps"] if s["id"] != "terraform-apply"]
    assert not any(" apply" in " ".join(script(s)) for s in others)


def test_every_user_substitution_is_declared(build):
    used = set(re.findall(r"\$\{(_[A-Z_]+)\}", CLOUDBUILD.read_text()))
    assert used <= set(build["substitutions"]), used - set(build["substitutions"])


def test_readme_deploys_with_one_apply():
    text = INFRA_README.read_text()
    deploy = text.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", deploy, re.S).group(1)
    assert 'terraform init -backend-config="bucket=STATE_BUCKET"' in block
    assert block.count("terraform apply") == 1
    assert "gcloud pubsub topics publish" in text and "terraform destroy" in text
