# How labeling-complete messages reach export_labeled_data.
#
# A Cloud Functions event_trigger on a topic makes Eventarc create and own a push subscription
# that cannot be given a dead-letter policy (hashicorp/terraform-provider-google#25069). So this
# function gets a "direct" Pub/Sub trigger instead: our own push subscription, whose
#   - push endpoint is the function URL plus the path /projects/P/topics/T, from which
#     functions-framework builds the messagePublished CloudEvent (source = that topic);
#   - OIDC token is minted for the trigger service account, which alone may invoke the function;
#   - retry policy backs off exponentially between deliveries of a message that raised;
#   - dead-letter policy moves a message to the dead-letter topic after max_delivery_attempts;
#   - ack deadline (600 s) outlasts the function timeout (<= 540 s), so a message is not
#     redelivered while its first delivery still runs;
#   - expiration is off: an idle subscription would otherwise be deleted after 31 days.
# The storage trigger of split_export is the event_trigger block in functions.tf.

locals {
  export_function_uri = google_cloudfunctions2_function.export.service_config[0].uri
}

resource "google_pubsub_subscription" "labeling_complete" {
  project                    = var.project_id
  name                       = "${var.topic_names.labeling_complete}-to-${var.function_names.export}"
  topic                      = google_pubsub_topic.labeling_complete.id
  ack_deadline_seconds       = 600
  message_retention_duration = var.message_retention

  push_config {
    push_endpoint = "${local.export_function_uri}/${google_pubsub_topic.labeling_complete.id}"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      audience              = local.export_function_uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_backoff.minimum
    maximum_backoff = var.retry_backoff.maximum
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.trigger_invokes_export,
    google_service_account_iam_member.pubsub_agent_mints_trigger_tokens,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter_publisher,
  ]
}
