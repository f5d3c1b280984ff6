# APIs the pipeline needs. Never disabled on destroy: other workloads in the project may use them.

locals {
  services = concat(
    [
      "artifactregistry.googleapis.com", # function images
      "cloudbuild.googleapis.com",       # function builds
      "cloudfunctions.googleapis.com",
      "cloudresourcemanager.googleapis.com", # project number (service agents)
      "eventarc.googleapis.com",             # storage trigger of split_export
      "iam.googleapis.com",
      "logging.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com", # 2nd gen functions run on Cloud Run
      "storage.googleapis.com",
    ],
    var.enable_datalabeling ? ["datalabeling.googleapis.com"] : [],
    var.enable_vertex ? ["aiplatform.googleapis.com"] : [],
  )
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
