# Topics. Each keeps its messages for var.message_retention, so a subscription can seek back and
# replay. Encryption is Google-managed (see .checkov.yaml).
#   labeling-complete:             labeling-completion messages (README.md "Contracts"); delivered
#                                  to export_labeled_data by the push subscription in triggers.tf.
#   labeling-export-results:       status messages (ok | rejected | failed) of both functions.
#   labeling-complete-dead-letter: labeling-complete messages that failed max_delivery_attempts
#                                  times; held by a pull subscription until someone looks.

resource "google_pubsub_topic" "labeling_complete" {
  project                    = var.project_id
  name                       = var.topic_names.labeling_complete
  message_retention_duration = var.message_retention
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "results" {
  project                    = var.project_id
  name                       = var.topic_names.results
  message_retention_duration = var.message_retention
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = var.topic_names.dead_letter
  message_retention_duration = var.message_retention
  depends_on                 = [google_project_service.apis]
}

# A topic without a subscription drops what is published to it: this one keeps dead letters.
# Inspect with `gcloud pubsub subscriptions pull`, fix, then republish (outputs.retry_command).
resource "google_pubsub_subscription" "dead_letter_hold" {
  project                    = var.project_id
  name                       = "${var.topic_names.dead_letter}-hold"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  retain_acked_messages      = false

  expiration_policy {
    ttl = "" # never expires, however long it sits idle
  }
}
