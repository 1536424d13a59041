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
  }

  # The admin's state, apart from the deployment's:
  #   terraform init -backend-config=bucket=STATE -backend-config=prefix=watchrelay-pipeline
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# Cloud Build runs the triggers; IAM makes their accounts. Never disabled
# on destroy: other builds of the project may use them.
resource "google_project_service" "pipeline" {
  for_each = toset(["cloudbuild.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
