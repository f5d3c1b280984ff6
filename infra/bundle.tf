# The function source: functions/ (tests, caches and hidden files left out) plus the runtime
# requirements.txt at the root of the zip, as Cloud Functions expects. The object is named by a
# hash of the bundled files' paths and contents (not of the zip file, so the name never depends
# on how the archive is written): a code or requirements change gives a new object name, hence a
# new build and deployment; anything else (a fresh clone, a rerun, a docs change) gives the same
# name and changes nothing. The archive provider writes entries sorted and with a zero timestamp,
# so the same files also give the same zip bytes.

locals {
  functions_dir     = abspath("${path.module}/../functions")
  requirements_file = abspath("${path.module}/../requirements.txt")

  bundle_files = sort([
    for f in fileset(local.functions_dir, "**") : f
    if !can(regex("(^|/)(tests?|__pycache__|\\.[^/]*)(/|$)|\\.py[cod]$|(^|/)test_[^/]*\\.py$|_test\\.py$|(^|/)conftest\\.py$|\\.egg-info(/|$)", f))
  ])

  bundle_hash = sha256(join("\n", concat(
    [for f in local.bundle_files : "${f} ${filesha256("${local.functions_dir}/${f}")}"],
    ["requirements.txt ${filesha256(local.requirements_file)}"],
  )))
}

data "archive_file" "bundle" {
  type        = "zip"
  output_path = "${path.module}/.build/functions-${local.bundle_hash}.zip"

  dynamic "source" {
    for_each = toset(local.bundle_files)
    content {
      filename = source.value
      content  = file("${local.functions_dir}/${source.value}")
    }
  }

  source {
    filename = "requirements.txt"
    content  = file(local.requirements_file)
  }
}

resource "google_storage_bucket_object" "bundle" {
  bucket       = google_storage_bucket.source.name
  name         = "functions/${local.bundle_hash}.zip"
  source       = data.archive_file.bundle.output_path
  content_type = "application/zip"
}
