terraform {
  # 1.7 brings mock_provider to `terraform test`; the module itself needs
  # nothing newer.
  required_version = ">= 1.7"

  required_providers {
    # The tested majors: `make test` builds google 8.0.0 and time 0.14.2
    # (scripts/terraform-provider.sh), and tests/first_apply.tftest.hcl
    # checks that init picked within these. Pin exact versions with a lock
    # file (README, Deploy).
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14.0"
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
