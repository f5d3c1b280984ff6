# Names and settings shared by the other files, and the project facts they need.

# Both are read after the APIs are enabled (on a first apply), then at plan time as usual.
data "google_project" "this" {
  project_id = var.project_id
  depends_on = [google_project_service.apis]
}

# The Cloud Storage service agent (created on first use by this data source). Eventarc storage
# triggers publish object notifications through it.
data "google_storage_project_service_account" "gcs" {
  project    = var.project_id
  depends_on = [google_project_service.apis]
}

# The Vertex AI service agent, made now rather than on Vertex AI's first use, so that its grant on
# the export bucket (iam.tf) can be applied on a first apply. Enabling the API does not create it.
resource "google_project_service_identity" "vertex" {
  count      = var.enable_vertex ? 1 : 0
  provider   = google-beta
  project    = var.project_id
  service    = "aiplatform.googleapis.com"
  depends_on = [google_project_service.apis]
}

locals {
  bucket_names = {
    exports = coalesce(var.bucket_names.exports, "${var.project_id}-${var.name_prefix}-exports")
    splits  = coalesce(var.bucket_names.splits, "${var.project_id}-${var.name_prefix}-splits")
    source  = coalesce(var.bucket_names.source, "${var.project_id}-${var.name_prefix}-source")
  }

  # Google-managed service agents.
  pubsub_service_agent       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  gcs_service_agent          = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
  datalabeling_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-datalabeling.iam.gserviceaccount.com"
  vertex_service_agent       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-aiplatform.iam.gserviceaccount.com"

  # Every variable the functions read (functions/labelexport/config.py ENV_VARS), nothing else.
  # Both functions load the same settings, so both get the same map.
  function_environment = {
    EXPORT_BUCKET          = google_storage_bucket.exports.name
    SPLIT_BUCKET           = google_storage_bucket.splits.name
    RESULTS_TOPIC          = google_pubsub_topic.results.id # projects/P/topics/T
    EXPORT_FORMAT          = var.export_format
    DATALABELING_ENDPOINT  = var.datalabeling_endpoint
    VERTEX_ENDPOINT        = var.vertex_endpoint
    UNASSIGNED_POLICY      = var.unassigned_policy
    SPLIT_RATIOS           = join(",", [for r in var.split_ratios : tostring(r)])
    MAX_REJECT_FRACTION    = tostring(var.max_reject_fraction)
    MIN_ITEMS_PER_LABEL    = tostring(var.min_items_per_label)
    EVENT_MAX_AGE_SECONDS  = tostring(var.event_max_age_seconds)
    OPERATION_WAIT_SECONDS = tostring(var.operation_wait_seconds)
    # split_export refuses an export with more distinct items than this memory holds
    SPLIT_MEMORY_MIB = tostring(var.split_function.memory_mb)
  }
}
