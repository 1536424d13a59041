terraform {
  required_version = ">= 1.7"

  required_providers {
    # A root pins what it runs: exactly the releases `make test` builds and
    # tests (scripts/terraform-provider.sh; scripts/pins_test.go keeps the
    # two equal). Their checksums go in .terraform.lock.hcl beside this
    # file, written where the registry is reachable (docs/deploy.md,
    # Providers); the pipeline's builds refuse to run without it.
    google = {
      source  = "hashicorp/google"
      version = "8.0.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
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
