# The two Cloud Functions (2nd gen). Both: python312, built from the hashed bundle, their own
# service account, internal ingress only (Pub/Sub push and Eventarc count as internal), scale to
# zero, a bounded number of instances, one request per instance, and the same settings.

resource "google_cloudfunctions2_function" "export" {
  project     = var.project_id
  location    = var.region
  name        = var.function_names.export
  description = "labelexport: labeling-complete message -> exportData into the export bucket."

  build_config {
    runtime         = "python312"
    entry_point     = "export_labeled_data"
    service_account = var.build_service_account
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    available_memory                 = "${var.export_function.memory_mb}Mi"
    timeout_seconds                  = var.export_function.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.export_function.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.export.email
    environment_variables            = local.function_environment
  }

  # No event_trigger block: labeling-complete reaches this function through the push
  # subscription in triggers.tf, which (unlike the subscription an event_trigger would create)
  # can carry a dead-letter policy. functions-framework turns the push request into the same
  # google.cloud.pubsub.topic.v1.messagePublished CloudEvent.

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.export_runs,
    google_storage_bucket_iam_member.export_reads_exports,
    google_storage_bucket_iam_member.export_writes_export_sets,
    google_project_iam_member.export_vertex,
    google_pubsub_topic_iam_member.export_results,
  ]
}

resource "google_cloudfunctions2_function" "split" {
  project     = var.project_id
  location    = var.region
  name        = var.function_names.split
  description = "labelexport: export finalized -> validate, split, manifest into the split bucket."

  build_config {
    runtime         = "python312"
    entry_point     = "split_export"
    service_account = var.build_service_account
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    available_memory                 = "${var.split_function.memory_mb}Mi"
    timeout_seconds                  = var.split_function.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.split_function.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.split.email
    environment_variables            = local.function_environment
  }

  # Every object finalized in the export bucket (Eventarc filters by bucket, never by prefix);
  # split_export acts on single-file exports and on export sets (exports/**/export-set.json),
  # ignores everything else (the raw files of a set among them) and never writes this bucket, so
  # its own outputs (split bucket) cannot trigger it. A raised exception is retried.
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.exports.name
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.trigger_event_receiver,
    google_storage_bucket_iam_member.split_reads_exports,
    google_storage_bucket_iam_member.split_writes_splits,
    google_pubsub_topic_iam_member.split_results,
  ]
}
