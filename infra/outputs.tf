output "buckets" {
  description = "Bucket names: exports (split_export's trigger), splits (outputs), source (bundles)."
  value = {
    exports = google_storage_bucket.exports.name
    splits  = google_storage_bucket.splits.name
    source  = google_storage_bucket.source.name
  }
}

output "topics" {
  description = "Topic IDs (projects/P/topics/T)."
  value = {
    labeling_complete = google_pubsub_topic.labeling_complete.id
    results           = google_pubsub_topic.results.id
    dead_letter       = google_pubsub_topic.dead_letter.id
  }
}

output "subscriptions" {
  description = "The push subscription that delivers labeling-complete, and the one that holds dead letters."
  value = {
    labeling_complete = google_pubsub_subscription.labeling_complete.id
    dead_letter_hold  = google_pubsub_subscription.dead_letter_hold.id
  }
}

output "functions" {
  description = "Function names and their Cloud Run service URLs (internal ingress only)."
  value = {
    export_labeled_data = {
      name = google_cloudfunctions2_function.export.name
      uri  = google_cloudfunctions2_function.export.service_config[0].uri
    }
    split_export = {
      name = google_cloudfunctions2_function.split.name
      uri  = google_cloudfunctions2_function.split.service_config[0].uri
    }
  }
}

output "service_accounts" {
  description = "The pipeline's identities."
  value = {
    export  = google_service_account.export.email
    split   = google_service_account.split.email
    trigger = google_service_account.trigger.email
  }
}

output "bundle_object" {
  description = "The source bundle in use, named by the hash of its files."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.bundle.name}"
}

output "retry_command" {
  description = "Publishes a labeling-completion message (a first run or a retry); replace the annotated dataset."
  value = join(" ", [
    "gcloud pubsub topics publish ${google_pubsub_topic.labeling_complete.name}",
    "--project=${var.project_id}",
    "--message='{\"annotatedDataset\": \"projects/${var.project_id}/datasets/DATASET_ID/annotatedDatasets/ANNOTATED_DATASET_ID\", \"format\": \"${var.export_format}\"}'",
  ])
}

output "vertex_retry_command" {
  description = "Publishes a labeling-completion message for a Vertex AI dataset (a first run or a retry); replace the location and dataset id."
  value = join(" ", [
    "gcloud pubsub topics publish ${google_pubsub_topic.labeling_complete.name}",
    "--project=${var.project_id}",
    "--message='{\"dataset\": \"projects/${var.project_id}/locations/LOCATION/datasets/DATASET_ID\", \"annotationsFilter\": \"\"}'",
  ])
}

output "dead_letter_pull_command" {
  description = "Shows (and acknowledges) up to 10 messages that exhausted their deliveries."
  value       = "gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter_hold.name} --project=${var.project_id} --limit=10 --auto-ack"
}
