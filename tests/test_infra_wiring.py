"""infra/ wiring, offline: Terraform names the entry points, settings and resources the code uses.

The google provider cannot be downloaded here, so `terraform validate` is out of reach; these
tests parse infra/*.tf with python-hcl2 and check what would otherwise only show in production:
an entry point that does not exist, a setting the code reads but Terraform never sets, a trigger
on the wrong topic or bucket, a message with no dead-letter path, a role granted project-wide.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from hcl2.utils import SerializationOptions
from labelexport.errors import ConfigError
from labelexport.export_paths import EXPORTS_PREFIX, RUNS_PREFIX
from labelexport.export_sets import EXPORT_SET_NAME
from labelexport.vertex_ai import check_endpoint_template

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
FUNCTIONS = ROOT / "functions"
MAIN = FUNCTIONS / "main.py"
CONFIG = FUNCTIONS / "labelexport" / "config.py"

ENTRY_POINTS = {"export": "export_labeled_data", "split": "split_export"}

# Variables the platform or the local stack sets, which Terraform must not set.
PLATFORM_ENV = {
    "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS", "K_SERVICE",
    "K_REVISION", "K_CONFIGURATION", "PORT", "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE",
    "LOG_EXECUTION_ID", "PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
}

# The only project-wide grants, each because no narrower scope exists for it (iam.tf says why).
VERTEX_EXPORT_ROLE = "${google_project_iam_custom_role.vertex_export[0].name}"
PROJECT_WIDE_GRANTS = {
    ("roles/eventarc.eventReceiver", "${google_service_account.trigger.member}"),
    ("roles/pubsub.publisher", "${local.gcs_service_agent}"),
    ("roles/datalabeling.editor", "${google_service_account.export.member}"),
    # Vertex AI datasets to export are named by messages at run time: no per-dataset grant can
    # serve. A custom role of exactly the export's permissions (test_vertex_export_role_*).
    (VERTEX_EXPORT_ROLE, "${google_service_account.export.member}"),
}

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


# --- helpers ---------------------------------------------------------------------------------


def _load_infra() -> dict[str, list]:
    merged: dict[str, list] = {}
    files = sorted(INFRA.glob("*.tf"))
    assert files, f"no Terraform files in {INFRA}"
    for path in files:
        with path.open() as f:
            doc = hcl2.load(f, serialization_options=_OPTIONS)
        for key, items in doc.items():
            merged.setdefault(key, []).extend(items)
    return merged


@pytest.fixture(scope="module")
def tf() -> dict[str, list]:
    return _load_infra()


def _typed(tf: dict, kind: str, rtype: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for block in tf.get(kind, []):
        found.update(block.get(rtype, {}))
    return found


def resources(tf: dict, rtype: str) -> dict[str, dict]:
    return _typed(tf, "resource", rtype)


def all_resources(tf: dict) -> list[tuple[str, str, dict]]:
    return [
        (rtype, name, body)
        for block in tf.get("resource", [])
        for rtype, named in block.items()
        for name, body in named.items()
    ]


def locals_(tf: dict) -> dict:
    merged: dict = {}
    for block in tf.get("locals", []):
        merged.update(block)
    return merged


def variables(tf: dict) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for block in tf.get("variable", []):
        merged.update(block)
    return merged


def sub(body: dict, name: str) -> dict:
    """The single nested block `name` of a resource body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one {name} block: {blocks!r}"
    return blocks[0]


def resolve(tf: dict, value):
    """Follow a bare ${local.NAME} reference to the local's value."""
    while isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if not match:
            break
        value = locals_(tf)[match.group(1)]
    return value


def optional_default(type_expr: str, field: str) -> str:
    """The default of `field = optional(T, DEFAULT)` in a variable's object type."""
    match = re.search(rf"\b{field}\s*=\s*optional\(\w+,\s*([^)]+)\)", type_expr)
    assert match, f"{field} has no optional() default in {type_expr}"
    return match.group(1).strip().strip('"')


def validations(var: dict) -> str:
    return " ".join(v["condition"] for v in var.get("validation", []))


def env_vars_of_config() -> dict[str, str | None]:
    from labelexport.config import ENV_VARS

    assert ENV_VARS, "labelexport.config.ENV_VARS is empty"
    return dict(ENV_VARS)


def top_level_functions(path: Path) -> dict[str, ast.FunctionDef]:
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} does not exist: Terraform deploys its entry points")
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def env_names_read_in(path: Path) -> set[str]:
    """Literal names passed to os.environ[...] / os.environ.get / os.getenv in one file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        arg = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            arg = node.slice
        elif isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if (func.endswith("environ.get") or func.endswith("getenv")) and node.args:
                arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.add(arg.value)
    return names


def functions(tf: dict) -> dict[str, dict]:
    found = resources(tf, "google_cloudfunctions2_function")
    assert set(found) == set(ENTRY_POINTS), f"functions: {sorted(found)}"
    return found


# --- entry points ------------------------------------------------------------------------------


def test_each_function_entry_point_exists_in_main(tf):
    defined = top_level_functions(MAIN)
    for key, body in functions(tf).items():
        entry_point = sub(body, "build_config")["entry_point"]
        assert entry_point == ENTRY_POINTS[key]
        assert entry_point in defined, f"{entry_point} is not a top-level function of main.py"


def test_entry_points_are_cloud_event_handlers():
    defined = top_level_functions(MAIN)
    for entry_point in ENTRY_POINTS.values():
        node = defined.get(entry_point)
        assert node is not None, f"{entry_point} is not a top-level function of main.py"
        decorators = {ast.unparse(d) for d in node.decorator_list}
        assert decorators & {"functions_framework.cloud_event", "cloud_event"}, (
            f"{entry_point} must be @functions_framework.cloud_event: both triggers deliver "
            f"CloudEvents (decorators: {sorted(decorators)})"
        )


def test_functions_runtime_scaling_and_timeouts(tf):
    vars_ = variables(tf)
    for key, body in functions(tf).items():
        assert sub(body, "build_config")["runtime"] == "python312"
        service = sub(body, "service_config")
        assert service["min_instance_count"] == 0
        assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
        sizing = vars_[f"{key}_function"]
        assert service["timeout_seconds"] == f"${{var.{key}_function.timeout_seconds}}"
        assert service["max_instance_count"] == f"${{var.{key}_function.max_instances}}"
        assert int(optional_default(sizing["type"], "timeout_seconds")) <= 540
        assert 1 <= int(optional_default(sizing["type"], "max_instances")) <= 100
        conditions = validations(sizing)
        assert re.search(r"timeout_seconds\s*<=\s*540", conditions), "timeout not capped at 540"
        assert re.search(r"max_instances\s*<=\s*\d+", conditions), "max instances not bounded"


# --- configuration -----------------------------------------------------------------------------


def test_config_declares_the_design_settings():
    env = env_vars_of_config()
    assert {"EXPORT_BUCKET", "SPLIT_BUCKET", "RESULTS_TOPIC"} <= set(env)
    assert all(env[name] is None for name in ("EXPORT_BUCKET", "SPLIT_BUCKET", "RESULTS_TOPIC"))


def test_every_setting_the_code_reads_is_set_and_no_other(tf):
    expected = set(env_vars_of_config())
    for key, body in functions(tf).items():
        env = resolve(tf, sub(body, "service_config").get("environment_variables"))
        assert isinstance(env, dict), f"{key}: environment_variables is not a map: {env!r}"
        assert set(env) == expected, (
            f"{key}: missing {sorted(expected - set(env))}, unknown {sorted(set(env) - expected)}"
        )
        assert not set(env) & PLATFORM_ENV
        build_env = sub(body, "build_config").get("environment_variables", {})
        assert not build_env, f"{key}: build-time variables are not read by the code: {build_env}"


def test_code_reads_no_environment_variable_outside_config():
    known = set(env_vars_of_config()) | PLATFORM_ENV
    for path in sorted(FUNCTIONS.rglob("*.py")):
        if "tests" in path.parts or "__pycache__" in path.parts:
            continue
        unknown = env_names_read_in(path) - known
        assert not unknown, f"{path.relative_to(ROOT)} reads {sorted(unknown)}, not in ENV_VARS"


def test_setting_values_point_at_the_right_resources(tf):
    env = resolve(tf, locals_(tf)["function_environment"])
    assert env["EXPORT_BUCKET"] == "${google_storage_bucket.exports.name}"
    assert env["SPLIT_BUCKET"] == "${google_storage_bucket.splits.name}"
    assert env["RESULTS_TOPIC"] == "${google_pubsub_topic.results.id}"  # projects/P/topics/T


def test_terraform_defaults_match_code_defaults(tf):
    env = resolve(tf, locals_(tf)["function_environment"])
    vars_ = variables(tf)
    for name, code_default in env_vars_of_config().items():
        if code_default is None or name == "SPLIT_MEMORY_MIB":  # the function's own memory
            continue
        match = re.search(r"var\.(\w+)", env[name])
        assert match, f"{name} is not set from a variable: {env[name]}"
        tf_default = vars_[match.group(1)]["default"]
        if isinstance(tf_default, list):
            tf_default = ",".join(str(v) for v in tf_default)
        if isinstance(tf_default, int | float) and not isinstance(tf_default, bool):
            assert float(tf_default) == float(code_default), name
        else:
            assert str(tf_default) == code_default, name


def test_split_export_knows_the_memory_it_is_given(tf):
    env = resolve(tf, locals_(tf)["function_environment"])
    assert env["SPLIT_MEMORY_MIB"] == "${tostring(var.split_function.memory_mb)}"
    assert sub(functions(tf)["split"], "service_config")["available_memory"] == (
        "${var.split_function.memory_mb}Mi")
    smallest = min(int(m) for m in re.findall(r"\d+", re.search(
        r"contains\(\[([\d, ]+)\]", validations(variables(tf)["split_function"])).group(1)))
    from labelexport.config import parse_memory_mib
    assert parse_memory_mib(str(smallest)) == smallest  # every size Terraform allows is taken


# --- Pub/Sub trigger: labeling-complete -> export_labeled_data -------------------------------


def _labeling_complete_subscription(tf) -> dict:
    subs = {
        name: body
        for name, body in resources(tf, "google_pubsub_subscription").items()
        if body["topic"] == "${google_pubsub_topic.labeling_complete.id}"
    }
    assert len(subs) == 1, f"expected one subscription on labeling-complete, found {sorted(subs)}"
    return next(iter(subs.values()))


def test_labeling_complete_topic_name(tf):
    topic = resources(tf, "google_pubsub_topic")["labeling_complete"]
    assert topic["name"] == "${var.topic_names.labeling_complete}"
    type_expr = variables(tf)["topic_names"]["type"]
    assert optional_default(type_expr, "labeling_complete") == "labeling-complete"
    assert optional_default(type_expr, "results") == "labeling-export-results"


def test_pubsub_trigger_pushes_labeling_complete_to_export(tf):
    export = functions(tf)["export"]
    assert "event_trigger" not in export, "an Eventarc subscription cannot dead-letter"
    sub_ = _labeling_complete_subscription(tf)
    push = sub(sub_, "push_config")
    uri = resolve(tf, "${local.export_function_uri}")
    assert uri == "${google_cloudfunctions2_function.export.service_config[0].uri}"
    # functions-framework builds the messagePublished CloudEvent from this path.
    assert push["push_endpoint"] == (
        "${local.export_function_uri}/${google_pubsub_topic.labeling_complete.id}"
    )
    oidc = sub(push, "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.trigger.email}"
    assert oidc["audience"] == "${local.export_function_uri}"


def test_pubsub_trigger_retries_then_dead_letters(tf):
    sub_ = _labeling_complete_subscription(tf)
    retry = sub(sub_, "retry_policy")
    assert retry["minimum_backoff"] and retry["maximum_backoff"]
    dead = sub(sub_, "dead_letter_policy")
    assert dead["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    attempts = variables(tf)[dead["max_delivery_attempts"].removeprefix("${var.").rstrip("}")]
    assert 5 <= attempts["default"] <= 100
    assert sub(sub_, "expiration_policy")["ttl"] == "", "an idle subscription would expire"
    # A delivery still running must not be redelivered: the ack deadline outlasts the timeout.
    assert sub_["ack_deadline_seconds"] >= 540


def test_dead_letter_path_is_permitted_and_kept(tf):
    topic_grants = resources(tf, "google_pubsub_topic_iam_member").values()
    assert any(
        g["topic"] == "${google_pubsub_topic.dead_letter.name}"
        and g["role"] == "roles/pubsub.publisher"
        and g["member"] == "${local.pubsub_service_agent}"
        for g in topic_grants
    ), "the Pub/Sub service agent cannot publish to the dead-letter topic"
    sub_grants = resources(tf, "google_pubsub_subscription_iam_member").values()
    assert any(
        g["subscription"] == "${google_pubsub_subscription.labeling_complete.name}"
        and g["role"] == "roles/pubsub.subscriber"
        and g["member"] == "${local.pubsub_service_agent}"
        for g in sub_grants
    ), "the Pub/Sub service agent cannot acknowledge forwarded messages"
    agent = locals_(tf)["pubsub_service_agent"]
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in agent
    holders = [
        body for body in resources(tf, "google_pubsub_subscription").values()
        if body["topic"] == "${google_pubsub_topic.dead_letter.id}"
    ]
    assert holders, "nothing subscribes to the dead-letter topic: dead letters would be dropped"
    assert all("push_config" not in h for h in holders)


def test_every_push_subscription_has_retry_and_dead_letter(tf):
    for name, body in resources(tf, "google_pubsub_subscription").items():
        if "push_config" in body:
            assert "retry_policy" in body, name
            assert "dead_letter_policy" in body, name


# --- storage trigger: export bucket -> split_export --------------------------------------------


def test_storage_trigger_watches_the_export_bucket(tf):
    trigger = sub(functions(tf)["split"], "event_trigger")
    assert trigger["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["service_account_email"] == "${google_service_account.trigger.email}"
    assert trigger["trigger_region"] == "${var.region}"
    filters = trigger["event_filters"]
    assert filters == [{"attribute": "bucket", "value": "${google_storage_bucket.exports.name}"}]
    assert resources(tf, "google_storage_bucket")["exports"]["location"] == "${var.region}"


def test_export_bucket_differs_from_split_bucket(tf):
    buckets = resources(tf, "google_storage_bucket")
    names = resolve(tf, "${local.bucket_names}")
    assert buckets["exports"]["name"] == "${local.bucket_names.exports}"
    assert buckets["splits"]["name"] == "${local.bucket_names.splits}"
    assert names["exports"] != names["splits"]
    assert names["exports"].endswith('-exports")}') and names["splits"].endswith('-splits")}')
    # Overridden names are checked too, by a variable validation and a precondition.
    assert "var.bucket_names.exports != var.bucket_names.splits" in validations(
        variables(tf)["bucket_names"]
    )
    preconditions = buckets["splits"]["lifecycle"][0]["precondition"]
    assert any("local.bucket_names.splits != local.bucket_names.exports" in p["condition"]
               for p in preconditions)


def test_buckets_are_private_and_uniform(tf):
    buckets = resources(tf, "google_storage_bucket")
    assert set(buckets) == {"exports", "splits", "source"}
    for name, body in buckets.items():
        assert body["uniform_bucket_level_access"] is True, name
        assert body["public_access_prevention"] == "enforced", name
        assert sub(body, "versioning")["enabled"] is True or "lifecycle_rule" in body, name


# --- identities and grants ---------------------------------------------------------------------


def test_one_service_account_per_function_and_one_for_triggers(tf):
    accounts = resources(tf, "google_service_account")
    assert set(accounts) == {"export", "split", "trigger"}
    for key, body in functions(tf).items():
        email = sub(body, "service_config")["service_account_email"]
        assert email == f"${{google_service_account.{key}.email}}"


def test_no_public_principals():
    for path in sorted(INFRA.glob("*.tf")):
        text = path.read_text()
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text, path.name


def test_no_authoritative_iam(tf):
    for rtype, name, _ in all_resources(tf):
        assert not re.search(r"_iam_(binding|policy)$", rtype), f"{rtype}.{name} is authoritative"


def test_project_wide_grants_only_where_nothing_narrower_serves(tf):
    project_grants = resources(tf, "google_project_iam_member").values()
    grants = {(g["role"], g["member"]) for g in project_grants}
    unexpected = grants - PROJECT_WIDE_GRANTS
    assert not unexpected, f"project-wide grants a narrower scope could serve: {unexpected}"
    for role, _ in grants:
        assert not role.startswith("roles/storage."), "storage roles belong on a bucket"
        assert role != "roles/run.invoker", "run.invoker belongs on a function"
    for rtype, name, body in all_resources(tf):
        if rtype.endswith("_iam_member") and rtype != "google_project_iam_member":
            assert not body.get("role", "").endswith((".admin", "roles/owner", "roles/editor")), (
                f"{rtype}.{name} grants {body['role']}"
            )


def test_function_roles_are_scoped(tf):
    bucket_grants = {
        (g["bucket"], g["role"], g["member"])
        for g in resources(tf, "google_storage_bucket_iam_member").values()
    }
    exports = "${google_storage_bucket.exports.name}"
    splits = "${google_storage_bucket.splits.name}"
    export_sa = "${google_service_account.export.member}"
    split_sa = "${google_service_account.split.member}"
    assert (splits, "roles/storage.objectUser", export_sa) in bucket_grants  # run records
    assert (exports, "roles/storage.objectViewer", export_sa) in bucket_grants
    assert (exports, "roles/storage.objectViewer", split_sa) in bucket_grants
    assert (splits, "roles/storage.objectUser", split_sa) in bucket_grants
    # Every write in the export bucket triggers split_export: split_export never writes there,
    # export_labeled_data creates its export sets only (test_export_sets_are_all_...).
    assert {g for g in bucket_grants if g[0] == exports and g[2] == split_sa} == {
        (exports, "roles/storage.objectViewer", split_sa)}
    assert {g for g in bucket_grants if g[0] == exports and g[2] == export_sa} == {
        (exports, "roles/storage.objectViewer", export_sa),
        (exports, "roles/storage.objectCreator", export_sa)}
    # export_labeled_data writes run records in the split bucket, under runs/ and nowhere else.
    (records,) = [g for g in resources(tf, "google_storage_bucket_iam_member").values()
                  if g["bucket"] == splits and g["member"] == export_sa]
    (condition,) = records["condition"]
    assert condition["expression"] == (
        'resource.name.startsWith("projects/_/buckets/${google_storage_bucket.splits.name}'
        '/objects/runs/")')
    assert RUNS_PREFIX == "runs/"
    publishers = {
        g["member"]
        for g in resources(tf, "google_pubsub_topic_iam_member").values()
        if g["topic"] == "${google_pubsub_topic.results.name}"
        and g["role"] == "roles/pubsub.publisher"
    }
    assert publishers == {export_sa, split_sa}


def test_trigger_account_invokes_the_functions_only(tf):
    trigger = "${google_service_account.trigger.member}"
    invokers = {
        g["name"]: g["role"]
        for g in resources(tf, "google_cloud_run_v2_service_iam_member").values()
        if g["member"] == trigger
    }
    assert invokers == {
        "${google_cloudfunctions2_function.export.name}": "roles/run.invoker",
        "${google_cloudfunctions2_function.split.name}": "roles/run.invoker",
    }
    other = [
        (rtype, name, body["role"])
        for rtype, name, body in all_resources(tf)
        if body.get("member") == trigger and rtype not in (
            "google_cloud_run_v2_service_iam_member", "google_project_iam_member"
        )
    ]
    assert not other, f"the trigger account has further grants: {other}"
    project_roles = {
        g["role"] for g in resources(tf, "google_project_iam_member").values()
        if g["member"] == trigger
    }
    assert project_roles == {"roles/eventarc.eventReceiver"}


def test_service_agents(tf):
    loc = locals_(tf)
    assert loc["gcs_service_agent"] == (
        "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
    )
    assert "@gcp-sa-datalabeling.iam.gserviceaccount.com" in loc["datalabeling_service_agent"]
    writers = [
        g for g in resources(tf, "google_storage_bucket_iam_member").values()
        if g["member"] == "${local.datalabeling_service_agent}"
    ]
    assert writers == [{
        "count": "${var.enable_datalabeling ? 1 : 0}",
        "bucket": "${google_storage_bucket.exports.name}",
        "role": "roles/storage.objectCreator",
        "member": "${local.datalabeling_service_agent}",
    }]
    tokens = resources(tf, "google_service_account_iam_member")
    assert any(
        t["service_account_id"] == "${google_service_account.trigger.name}"
        and t["role"] == "roles/iam.serviceAccountTokenCreator"
        and t["member"] == "${local.pubsub_service_agent}"
        for t in tokens.values()
    )


# --- Vertex AI backend -------------------------------------------------------------------------

VERTEX_SWITCH = "${var.enable_vertex ? 1 : 0}"


def test_vertex_backend_is_on_by_default_and_can_be_turned_off(tf):
    switch = variables(tf)["enable_vertex"]
    assert switch["type"] == "bool" and switch["default"] is True
    vertex_resources = [
        resources(tf, "google_project_iam_custom_role")["vertex_export"],
        resources(tf, "google_project_iam_member")["export_vertex"],
        resources(tf, "google_project_service_identity")["vertex"],
        resources(tf, "google_storage_bucket_iam_member")["vertex_agent_writes_exports"],
    ]
    assert all(body.get("count") == VERTEX_SWITCH for body in vertex_resources)


def test_vertex_api_is_enabled_with_the_backend(tf):
    services = locals_(tf)["services"]
    assert re.search(r'var\.enable_vertex \? \["aiplatform\.googleapis\.com"\] : \[\]', services), (
        f"aiplatform.googleapis.com is not enabled with var.enable_vertex: {services}")
    assert resources(tf, "google_project_service")["apis"]["for_each"] == (
        "${toset(local.services)}")


def test_vertex_export_role_holds_exactly_the_export_permissions(tf):
    role = resources(tf, "google_project_iam_custom_role")["vertex_export"]
    # datasets.export, then datasets.get for the dataset and for GET on the export's operation
    # (Vertex AI's IAM permissions table); nothing to cancel, delete, list or write.
    assert role["permissions"] == ["aiplatform.datasets.export", "aiplatform.datasets.get"]
    assert role["project"] == "${var.project_id}" and role["stage"] == "GA"
    # Custom role ids allow letters, digits, '_' and '.': the prefix's '-' must go.
    assert role["role_id"] == '${replace(var.name_prefix, "-", "_")}_vertex_export'


def test_vertex_export_role_is_granted_to_the_export_account_only(tf):
    export_sa = "${google_service_account.export.member}"
    holders = [
        (rtype, name, body["member"]) for rtype, name, body in all_resources(tf)
        if rtype.endswith("_iam_member") and "google_project_iam_custom_role" in body["role"]
    ]
    assert holders == [("google_project_iam_member", "export_vertex", export_sa)]
    grant = resources(tf, "google_project_iam_member")["export_vertex"]
    assert grant["role"] == VERTEX_EXPORT_ROLE and grant["project"] == "${var.project_id}"
    # No predefined Vertex AI role anywhere (roles/aiplatform.user would let it train, deploy...).
    for rtype, name, body in all_resources(tf):
        assert not body.get("role", "").startswith("roles/aiplatform."), f"{rtype}.{name}"


def test_vertex_agent_may_create_objects_under_exports_vertex_only(tf):
    agent = "${local.vertex_service_agent}"
    assert locals_(tf)["vertex_service_agent"] == (
        "serviceAccount:service-${data.google_project.this.number}"
        "@gcp-sa-aiplatform.iam.gserviceaccount.com")
    grants = [(rtype, name, body) for rtype, name, body in all_resources(tf)
              if body.get("member") == agent]
    assert [(rtype, name) for rtype, name, _ in grants] == [
        ("google_storage_bucket_iam_member", "vertex_agent_writes_exports")]
    grant = grants[0][2]
    assert grant["bucket"] == "${google_storage_bucket.exports.name}"
    assert grant["role"] == "roles/storage.objectCreator"
    (condition,) = grant["condition"]
    assert condition["expression"] == (
        'resource.name.startsWith("projects/_/buckets/${google_storage_bucket.exports.name}'
        f'/objects/{EXPORTS_PREFIX}vertex/")')
    # The agent exists before the grant names it: made by Service Usage, not on first use.
    identity = resources(tf, "google_project_service_identity")["vertex"]
    assert identity["service"] == "aiplatform.googleapis.com"
    assert identity["provider"] == "google-beta"
    assert "${google_project_service_identity.vertex}" in grant["depends_on"]


def test_google_beta_provider_is_declared_and_configured_like_google(tf):
    providers = {}
    for block in tf["terraform"]:
        for req in block.get("required_providers", []):
            providers.update(req)
    assert providers["google-beta"]["source"] == "hashicorp/google-beta"
    assert providers["google-beta"]["version"] == providers["google"]["version"]
    configured = {name: body for block in tf["provider"] for name, body in block.items()}
    assert configured["google-beta"] == configured["google"]


def test_export_sets_are_all_export_labeled_data_creates_in_the_export_bucket(tf):
    export_sa = "${google_service_account.export.member}"
    creators = [
        body for body in resources(tf, "google_storage_bucket_iam_member").values()
        if body["bucket"] == "${google_storage_bucket.exports.name}"
        and body["member"] == export_sa and body["role"] != "roles/storage.objectViewer"
    ]
    assert len(creators) == 1, creators
    (grant,) = creators
    # Created once with ifGenerationMatch=0: create, never overwrite or delete.
    assert grant["role"] == "roles/storage.objectCreator"
    (condition,) = grant["condition"]
    assert condition["expression"] == (
        'resource.name.startsWith("projects/_/buckets/${google_storage_bucket.exports.name}'
        f'/objects/{EXPORTS_PREFIX}") && resource.name.endsWith("/{EXPORT_SET_NAME}")')
    functions_ = functions(tf)
    assert "${google_storage_bucket_iam_member.export_writes_export_sets}" in (
        functions_["export"]["depends_on"])


def test_vertex_endpoint_is_set_from_a_validated_variable(tf):
    env = resolve(tf, locals_(tf)["function_environment"])
    assert env["VERTEX_ENDPOINT"] == "${var.vertex_endpoint}"
    var = variables(tf)["vertex_endpoint"]
    assert var["type"] == "string"
    assert "var.vertex_endpoint" in validations(var)


# Endpoints the code accepts or refuses (labelexport.vertex_ai.check_endpoint_template); Terraform
# must refuse at plan time whatever the function would refuse at its first message.
ENDPOINT_CASES = [
    "https://{location}-aiplatform.googleapis.com",
    "https://{location}-aiplatform.googleapis.com/",
    "https://vertex-standin.example.com",
    "https://standin.example.com:8443",
    "http://127.0.0.1:9000",  # the code takes it for loopback tests; Terraform refuses plain http
    "https://standin.example.com/v1",
    "https://standin.example.com/{location}",
    "https://{location}.{location}.example.com",
    "https://standin.example.com?x=1",
    "ftp://{location}-aiplatform.googleapis.com",
]


def _code_accepts(endpoint: str) -> bool:
    try:
        check_endpoint_template(endpoint)
    except ConfigError:
        return False
    return True


def _terraform_accepts(terraform: str, workdir: Path, endpoint: str) -> bool:
    result = subprocess.run(
        [terraform, "console", "-no-color"], input="var.vertex_endpoint\n", cwd=workdir,
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "TF_VAR_project_id": "my-project", "TF_VAR_vertex_endpoint": endpoint,
             "TF_CLI_CONFIG_FILE": os.devnull},
    )
    output = result.stdout + result.stderr
    assert "Invalid value for variable" in output or result.returncode == 0, output
    return "Invalid value for variable" not in output


def test_vertex_endpoint_validation_refuses_what_the_code_refuses(tmp_path):
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH; cloudbuild.yaml's terraform-plan step validates "
                    "the variables")
    shutil.copy(INFRA / "variables.tf", tmp_path / "variables.tf")  # no provider needed
    verdicts = {e: (_terraform_accepts(terraform, tmp_path, e), _code_accepts(e))
                for e in ENDPOINT_CASES}
    default = variables(_load_infra())["vertex_endpoint"]["default"]
    assert verdicts[default] == (True, True)
    wrongly_accepted = [e for e, (tf_ok, code_ok) in verdicts.items() if tf_ok and not code_ok]
    assert not wrongly_accepted, f"Terraform accepts what the function refuses: {wrongly_accepted}"
    assert [e for e, (tf_ok, _) in verdicts.items() if tf_ok] == ENDPOINT_CASES[:4], verdicts


# --- source bundle -----------------------------------------------------------------------------


def _bundle_exclude_regex(tf) -> re.Pattern:
    expr = locals_(tf)["bundle_files"]
    match = re.search(r'regex\("((?:[^"\\]|\\.)*)", f\)', expr)
    assert match, f"no exclusion regex in bundle_files: {expr}"
    # Undo HCL string escaping (\\ -> \) to get the RE2 pattern, which Python reads alike here.
    return re.compile(match.group(1).replace("\\\\", "\\"))


def test_bundle_leaves_out_tests_and_caches(tf):
    excluded = _bundle_exclude_regex(tf)
    for path in ["tests/test_main.py", "labelexport/tests/x.py", "labelexport/__pycache__/a.pyc",
                 "labelexport/__pycache__/x", "a.pyc", ".pytest_cache/v", "labelexport/.hidden",
                 "test_main.py", "conftest.py", "labelexport/x_test.py"]:
        assert excluded.search(path), f"{path} would be bundled"
    for path in ["main.py", "labelexport/__init__.py", "labelexport/config.py",
                 "labelexport/contest.py", "labelexport/attestation.py"]:
        assert not excluded.search(path), f"{path} would be left out"
    real = [p.relative_to(FUNCTIONS).as_posix() for p in FUNCTIONS.rglob("*") if p.is_file()]
    bundled = {p for p in real if not excluded.search(p)}
    assert "labelexport/config.py" in bundled
    assert "labelexport/report.html.j2" in bundled  # the report's template, read at run time
    if MAIN.exists():
        assert "main.py" in bundled


def test_bundle_is_named_by_its_content_and_deployed(tf):
    loc = locals_(tf)
    assert "filesha256" in loc["bundle_hash"] and "local.requirements_file" in loc["bundle_hash"]
    assert loc["requirements_file"] == '${abspath("${path.module}/../requirements.txt")}'
    assert loc["functions_dir"] == '${abspath("${path.module}/../functions")}'
    obj = resources(tf, "google_storage_bucket_object")["bundle"]
    assert "${local.bundle_hash}" in obj["name"]
    assert obj["bucket"] == "${google_storage_bucket.source.name}"
    archive = _typed(tf, "data", "archive_file")["bundle"]
    assert {"filename": "requirements.txt", "content": "${file(local.requirements_file)}"} in (
        archive["source"]
    )
    for body in functions(tf).values():
        storage = sub(sub(sub(body, "build_config"), "source"), "storage_source")
        assert storage == {
            "bucket": "${google_storage_bucket.source.name}",
            "object": "${google_storage_bucket_object.bundle.name}",
        }


# --- versions and outputs ----------------------------------------------------------------------


def test_provider_versions_are_pinned(tf):
    providers = {}
    for block in tf["terraform"]:
        for req in block.get("required_providers", []):
            providers.update(req)
    assert providers["google"]["source"] == "hashicorp/google"
    for name, spec in providers.items():
        assert "<" in spec["version"] or "~>" in spec["version"], f"{name} has no upper bound"


def test_outputs(tf):
    outputs = {k: v for block in tf["output"] for k, v in block.items()}
    assert {"buckets", "topics", "functions", "retry_command"} <= set(outputs)
    retry = outputs["retry_command"]["value"]
    assert "gcloud pubsub topics publish ${google_pubsub_topic.labeling_complete.name}" in retry
    assert "annotatedDataset" in retry
    vertex = outputs["vertex_retry_command"]["value"]
    assert "gcloud pubsub topics publish ${google_pubsub_topic.labeling_complete.name}" in vertex
    assert "projects/${var.project_id}/locations/LOCATION/datasets/DATASET_ID" in vertex
