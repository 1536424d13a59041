terraform {
  required_version = ">= 1.7"

  required_providers {
    # A root pins what it runs: the majors watchrelay is tested with, and
    # exact versions in .terraform.lock.hcl (committed beside this file).
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14"
    }
  }

  # State lives in a GCS bucket given at init time:
  #   terraform init -backend-config=bucket=MY-STATE -backend-config=prefix=watchrelay
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
