# Terraform and provider versions. The lock file (.terraform.lock.hcl) is created by the first
# `terraform init` that can reach the registry (Cloud Build); commit it then.
terraform {
  required_version = ">= 1.9.0" # cross-variable validation

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14.0, < 8.0.0"
    }
    # google_project_service_identity (the Vertex AI service agent) exists in the beta provider only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.14.0, < 8.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0, < 3.0.0"
    }
  }
}
