# One identity per function and one for the triggers. Their grants are all in iam.tf.

resource "google_service_account" "export" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-export"
  display_name = "labelexport: export_labeled_data"
  description  = "Runs export_labeled_data: calls the Data Labeling or Vertex AI API, writes run records and export sets, publishes results."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "split" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-split"
  display_name = "labelexport: split_export"
  description  = "Runs split_export: reads the export bucket, writes the split bucket, publishes results."
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-trigger"
  display_name = "labelexport: event delivery"
  description  = "Identity of the labeling-complete push subscription and the storage trigger: invokes the two functions."
  depends_on   = [google_project_service.apis]
}
