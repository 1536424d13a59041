terraform {
  # 1.7 brings mock_provider to `terraform test`; the module itself needs
  # nothing newer.
  required_version = ">= 1.7"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0, < 9.0"
    }
  }

  # State lives in a GCS bucket given at init time:
  #   terraform init -backend-config=bucket=<state bucket>
  # Checks and tests run with -backend=false.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
