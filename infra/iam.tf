# Every grant of the pipeline, additive (*_iam_member: nothing else's access is touched), scoped to
# one bucket, topic, subscription, service account or function wherever the role allows it.
# Four roles exist only at project level; each is marked "project-wide: <reason>" below, and
# tests/test_infra_wiring.py holds the same list.

# --- export_labeled_data -----------------------------------------------------------------------

# Run records (created with ifGenerationMatch=0, then advanced with generation matches: an
# overwrite needs get + create + delete) live in the split bucket under runs/, where a write
# triggers nothing; the condition keeps this account to that prefix, off the split outputs.
resource "google_storage_bucket_iam_member" "export_runs" {
  bucket = google_storage_bucket.splits.name
  role   = "roles/storage.objectUser"
  member = google_service_account.export.member
  condition {
    title       = "run-records-only"
    description = "export_labeled_data's run records, runs/<run>.json, and nothing else."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.splits.name}/objects/runs/\")"
  }
}

# Before taking over a run whose first delivery vanished, export_labeled_data looks whether the
# export has landed under the run's prefix (so as not to export it twice); when a multi-file
# export's operation is done, it reads the generation and size of every exported file.
resource "google_storage_bucket_iam_member" "export_reads_exports" {
  bucket = google_storage_bucket.exports.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.export.member
}

# The one object export_labeled_data writes in the export bucket: the export set of a multi-file
# export, exports/.../<run>/export-set.json, created once (ifGenerationMatch=0, so creating is
# all it needs). Its finalize event is what makes split_export split the files it lists; the
# condition keeps this account from writing anything else there, where every write triggers.
resource "google_storage_bucket_iam_member" "export_writes_export_sets" {
  bucket = google_storage_bucket.exports.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.export.member
  condition {
    title       = "export-sets-only"
    description = "export_labeled_data's export sets, exports/**/export-set.json, and nothing else."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.exports.name}/objects/exports/\") && resource.name.endsWith(\"/export-set.json\")"
  }
}

resource "google_pubsub_topic_iam_member" "export_results" {
  project = var.project_id
  topic   = google_pubsub_topic.results.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.export.member
}

# project-wide: Data Labeling datasets have no IAM policy of their own; exportData,
# operations.get and annotatedDatasets.get are checked on the project.
resource "google_project_iam_member" "export_datalabeling" {
  count   = var.enable_datalabeling ? 1 : 0
  project = var.project_id
  role    = "roles/datalabeling.editor"
  member  = google_service_account.export.member
}

# What exporting a Vertex AI dataset and following the export's operation need, and nothing more:
# Vertex AI documents aiplatform.datasets.export for datasets.export, and aiplatform.datasets.get
# for datasets.get and for GET on the operation an export returns (the operation is checked as its
# dataset). Cancelling or deleting that operation would need more; the function does neither.
resource "google_project_iam_custom_role" "vertex_export" {
  count       = var.enable_vertex ? 1 : 0
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_vertex_export"
  title       = "labelexport: export Vertex AI datasets"
  description = "Export a Vertex AI dataset and follow the export's operation (export_labeled_data)."
  stage       = "GA"
  permissions = [
    "aiplatform.datasets.export",
    "aiplatform.datasets.get",
  ]
  depends_on = [google_project_service.apis] # iam.googleapis.com
}

# project-wide: the datasets to export are named by completion messages at run time, not known
# when deploying, so no per-dataset grant can serve; the custom role holds only what is needed.
resource "google_project_iam_member" "export_vertex" {
  count   = var.enable_vertex ? 1 : 0
  project = var.project_id
  role    = google_project_iam_custom_role.vertex_export[0].name
  member  = google_service_account.export.member
}

# --- split_export ------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "split_reads_exports" {
  bucket = google_storage_bucket.exports.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.split.member
}

# Split files may be rewritten when a finalize event is redelivered before manifest.json exists
# (an overwrite needs delete), so objectUser rather than objectCreator.
resource "google_storage_bucket_iam_member" "split_writes_splits" {
  bucket = google_storage_bucket.splits.name
  role   = "roles/storage.objectUser"
  member = google_service_account.split.member
}

resource "google_pubsub_topic_iam_member" "split_results" {
  project = var.project_id
  topic   = google_pubsub_topic.results.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.split.member
}

# --- trigger identity --------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_export" {
  project  = var.project_id
  location = google_cloudfunctions2_function.export.location
  name     = google_cloudfunctions2_function.export.name # the function's Cloud Run service
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_split" {
  project  = var.project_id
  location = google_cloudfunctions2_function.split.location
  name     = google_cloudfunctions2_function.split.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}

# project-wide: Eventarc checks eventarc.events.receiveEvent on the trigger's project only.
resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger.member
}

# --- Google-managed service agents -------------------------------------------------------------

# project-wide: Eventarc creates the topic that carries the export bucket's notifications when it
# creates the trigger, under a name not known beforehand, so no topic-scoped grant can serve.
resource "google_project_iam_member" "gcs_agent_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = local.gcs_service_agent
}

# Pub/Sub signs the push requests with OIDC tokens of the trigger account (projects created
# before 2021-04-08 need this explicitly; harmless after).
resource "google_service_account_iam_member" "pubsub_agent_mints_trigger_tokens" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Dead-lettering: Pub/Sub forwards undeliverable messages to the dead-letter topic and
# acknowledges them on the source subscription, as its service agent.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_source_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.labeling_complete.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# The Data Labeling Service writes exports to the export bucket as its service agent.
resource "google_storage_bucket_iam_member" "datalabeling_agent_writes_exports" {
  count  = var.enable_datalabeling ? 1 : 0
  bucket = google_storage_bucket.exports.name
  role   = "roles/storage.objectCreator"
  member = local.datalabeling_service_agent
}

# Vertex AI writes an export's files as its service agent, under the outputUriPrefix that
# export_labeled_data chooses: gs://EXPORT_BUCKET/exports/vertex/<location>/<dataset>/<run>/files/.
# New objects only (each export gets a new folder), so objectCreator, conditioned to that prefix:
# anyone in the project who may export a dataset could otherwise make the agent write elsewhere.
resource "google_storage_bucket_iam_member" "vertex_agent_writes_exports" {
  count  = var.enable_vertex ? 1 : 0
  bucket = google_storage_bucket.exports.name
  role   = "roles/storage.objectCreator"
  member = local.vertex_service_agent
  condition {
    title       = "vertex-exports-only"
    description = "Vertex AI dataset exports, exports/vertex/**, and nothing else."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.exports.name}/objects/exports/vertex/\")"
  }
  depends_on = [google_project_service_identity.vertex]
}

resource "google_storage_bucket_iam_member" "extra_export_writers" {
  for_each = toset(var.export_bucket_writers)
  bucket   = google_storage_bucket.exports.name
  role     = "roles/storage.objectCreator"
  member   = each.value
}

# --- build -------------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "build_reads_source" {
  count  = var.build_service_account == null ? 0 : 1
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${element(split("/", var.build_service_account), 3)}"
}
