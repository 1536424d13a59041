# The plan build's log, kept out of Cloud Logging: roles/logging.logWriter
# on the project would let any branch's build write log entries of any
# resource, which watchrelay's log-based metrics count and its alerts read.
# cloudbuild.yaml names this bucket in logsBucket (Cloud Build expands no
# substitution there, GoogleCloudPlatform/cloud-builders#280), so the name
# is read from main's copy of that file: one name, in one place.
locals {
  plan_build       = yamldecode(file("${path.module}/../../cloudbuild.yaml"))
  plan_logs_bucket = trimprefix(local.plan_build.logsBucket, "gs://")
}

resource "google_storage_bucket" "plan_logs" {
  project  = var.project_id
  name     = local.plan_logs_bucket
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # No retention policy: with one, Cloud Build cannot write the log
  # (Cloud Build, "Run builds with a user-managed service account").
  lifecycle_rule {
    condition {
      age = var.plan_log_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle {
    precondition {
      condition     = try(local.plan_build.options.logging, "") == "GCS_ONLY" && can(regex("^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", local.plan_build.logsBucket))
      error_message = "cloudbuild.yaml must set options.logging: GCS_ONLY and logsBucket: gs://BUCKET, a bucket name of yours (names are global), which this root creates for the plan build's log."
    }
  }

  depends_on = [time_sleep.apis]
}

# The role Cloud Build's "Store build logs in a user-created bucket" names
# for a build's own account, on this bucket alone: the plan account can
# rewrite or remove plan build logs here, and nothing else in the project.
resource "google_storage_bucket_iam_member" "plan_logs_writer" {
  bucket = google_storage_bucket.plan_logs.name
  role   = "roles/storage.admin"
  member = google_service_account.plan.member
}
