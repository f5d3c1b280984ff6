# State lives in a GCS bucket made beforehand (see README.md); its name is given at init time:
#   terraform init -backend-config="bucket=STATE_BUCKET"
terraform {
  backend "gcs" {
    prefix = "labelexport"
  }
}
