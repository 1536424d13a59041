# The deploy pipeline of watchrelay, applied once by a project admin
# (docs/pipeline.md): two Cloud Build triggers on the repository, each with
# its own account, set here on the trigger and not in the build files a
# branch can edit.
#
#   plan   every branch: cloudbuild.yaml (tests, plan), as the plan account,
#          which reads and writes nothing but its log;
#   apply  main only, each build held for an approver: cloudbuild-apply.yaml
#          (apply of examples/quickstart, smoke test), as the deploy account.
#
# Files: accounts.tf (the two accounts and their grants), roles.tf (the role
# lists, checked against the module's by scripts/plancheck), triggers.tf.

terraform {
  required_version = ">= 1.7"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.14"
    }
  }

  # The admin's state, apart from the deployment's:
  #   terraform init -backend-config=bucket=STATE -backend-config=prefix=watchrelay-pipeline
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# Cloud Build runs the triggers; IAM makes their accounts and the custom
# role; Resource Manager sets the project's IAM policy (the grants);
# Storage holds the plan build's log. Never disabled on destroy: other
# builds of the project may use them.
resource "google_project_service" "pipeline" {
  for_each = toset([
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Enabling returns before every Google service honours the API: an account
# or a trigger made in that gap fails with SERVICE_DISABLED, and a trigger
# with service_account made before Cloud Build's service agent exists
# fails too. Everything here waits for this instead of the enablement (as
# the module's time_sleep.apis, terraform/apis.tf; scripts/plancheck checks
# that nothing else refers to the enablement).
resource "time_sleep" "apis" {
  create_duration = var.api_propagation_wait

  triggers = { for api, s in google_project_service.pipeline : api => s.id }
}
