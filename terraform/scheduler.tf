# Runs the Renew pass on a schedule, as the scheduler account, with an OIDC
# token for Renew's URL: Renew admits no other caller.
resource "google_cloud_scheduler_job" "renew" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name}-renew"
  description = "Runs watchrelay's Renew pass."
  schedule    = var.renew_schedule
  time_zone   = var.renew_time_zone
  # At least Renew's own timeout, so a pass still running is not retried
  # beside itself; HTTP targets allow at most 30 minutes.
  attempt_deadline = coalesce(var.renew_attempt_deadline, "${min(var.renew_timeout_seconds + 30, 1800)}s")

  retry_config {
    retry_count          = var.renew_retry_count
    min_backoff_duration = var.renew_min_backoff
    max_backoff_duration = var.renew_max_backoff
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = local.renew_url

    oidc_token {
      service_account_email = google_service_account.this["scheduler"].email
      audience              = local.renew_url
    }
  }

  depends_on = [time_sleep.apis, google_cloud_run_service_iam_member.watcher_invoker["renew"]]
}

locals {
  # Full name of the job: the CLI asks Cloud Scheduler to run it after
  # `watch add`, so channels are opened by the deployed account.
  scheduler_job = "projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_scheduler_job.renew.name}"
}
