# Three buckets, all regional in var.region, uniform bucket-level access, public access prevented,
# versioned with old versions cleaned up:
#   exports: the Data Labeling Service and Vertex AI write exports/**; every finalized object here
#            triggers split_export, so split_export never writes here, and export_labeled_data
#            writes only the export sets, exports/**/export-set.json, that are meant to trigger it.
#   splits:  split_export's outputs (train/validation/test/unassigned, rejected.jsonl, manifest.json)
#            and the run records runs/<run>.json (written by both functions; they trigger nothing).
#   source:  the function source bundles (bundle.tf).

resource "google_storage_bucket" "exports" {
  project                     = var.project_id
  name                        = local.bucket_names.exports
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  versioning {
    enabled = true
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
      with_state                 = "ARCHIVED"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.export_retention_days == null ? [] : [var.export_retention_days]
    content {
      action {
        type = "Delete"
      }
      condition {
        age        = lifecycle_rule.value
        with_state = "LIVE"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket" "splits" {
  project                     = var.project_id
  name                        = local.bucket_names.splits
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  versioning {
    enabled = true
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
      with_state                 = "ARCHIVED"
    }
  }

  depends_on = [google_project_service.apis]

  lifecycle {
    precondition {
      condition     = local.bucket_names.splits != local.bucket_names.exports
      error_message = "The split bucket must differ from the export bucket (a trigger loop otherwise)."
    }
  }
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = local.bucket_names.source
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # only holds rebuildable bundles

  versioning {
    enabled = true
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
  }

  depends_on = [google_project_service.apis]
}
