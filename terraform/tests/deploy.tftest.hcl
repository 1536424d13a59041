# The functions and the scheduler, against a mock google provider: no
# credentials, no network. Runs apply against the mocks (nothing real is
# created) so that computed values exist; tests/mocks gives the functions
# and service accounts distinct known values.

mock_provider "google" {
  source = "./tests/mocks"
}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "functions" {
  assert {
    condition     = google_cloudfunctions2_function.receive.build_config[0].runtime == "go126" && google_cloudfunctions2_function.renew.build_config[0].runtime == "go126"
    error_message = "Both functions must run on go126."
  }

  assert {
    # The names function.go registers (ReceiveEntryPoint, RenewEntryPoint).
    condition     = google_cloudfunctions2_function.receive.build_config[0].entry_point == "Receive" && google_cloudfunctions2_function.renew.build_config[0].entry_point == "Renew"
    error_message = "Entry points must be Receive and Renew, as function.go registers them."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.service_config[0].min_instance_count == 0 && google_cloudfunctions2_function.renew.service_config[0].min_instance_count == 0
    error_message = "Both functions must scale to zero."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.service_config[0].service_account_email == google_service_account.this["receive"].email && google_cloudfunctions2_function.renew.service_config[0].service_account_email == google_service_account.this["renew"].email
    error_message = "Each function must run as its own service account."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.build_config[0].service_account == google_service_account.this["build"].id && google_cloudfunctions2_function.renew.build_config[0].service_account == google_service_account.this["build"].id
    error_message = "Both functions must build as the build account."
  }

  assert {
    condition = alltrue([for f in [google_cloudfunctions2_function.receive, google_cloudfunctions2_function.renew] : alltrue([
      for k in ["GOOGLE_CLOUD_PROJECT", "WATCHRELAY_TOPIC", "WATCHRELAY_DATABASE", "WATCHRELAY_RENEW_BEFORE", "WATCHRELAY_GRACE", "WATCHRELAY_RENEW_CONCURRENCY", "WATCHRELAY_RENEW_QPS"] :
      contains(keys(f.service_config[0].environment_variables), k)
    ])])
    error_message = "Both functions need every variable of DESIGN.md's configuration."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.renew.service_config[0].environment_variables["GOOGLE_CLOUD_PROJECT"] == "demo-project" &&
      google_cloudfunctions2_function.renew.service_config[0].environment_variables["WATCHRELAY_TOPIC"] == "watchrelay-events" &&
      google_cloudfunctions2_function.renew.service_config[0].environment_variables["WATCHRELAY_DATABASE"] == "(default)"
    )
    error_message = "The functions' project, topic and database variables must name what the module creates."
  }

  assert {
    condition     = google_cloudfunctions2_function.renew.service_config[0].environment_variables["WATCHRELAY_ADDRESS"] == "https://watchrelay-receive-mock.a.run.app"
    error_message = "Renew's WATCHRELAY_ADDRESS must be Receive's URL."
  }

  assert {
    condition     = output.receive_url == "https://watchrelay-receive-mock.a.run.app" && output.renew_url == "https://watchrelay-renew-mock.a.run.app"
    error_message = "receive_url and renew_url must be the functions' URLs."
  }

  assert {
    condition = output.cli_env == join("\n", [
      "export GOOGLE_CLOUD_PROJECT=demo-project",
      "export WATCHRELAY_TOPIC=watchrelay-events",
      "export WATCHRELAY_DATABASE='(default)'",
      "export WATCHRELAY_ADDRESS=https://watchrelay-receive-mock.a.run.app",
      "export WATCHRELAY_SCHEDULER_JOB=projects/demo-project/locations/us-central1/jobs/watchrelay-renew",
    ])
    error_message = "cli_env must point the CLI at this deployment, scheduler job included."
  }
}

run "scheduler" {
  assert {
    condition     = google_cloud_scheduler_job.renew.http_target[0].uri == "https://watchrelay-renew-mock.a.run.app" && google_cloud_scheduler_job.renew.http_target[0].http_method == "POST"
    error_message = "The scheduler must POST to Renew's URL."
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.http_target[0].oidc_token[0].audience == "https://watchrelay-renew-mock.a.run.app"
    error_message = "The scheduler's OIDC audience must be Renew's URL."
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.http_target[0].oidc_token[0].service_account_email == google_service_account.this["scheduler"].email
    error_message = "The scheduler must sign its token as the scheduler account."
  }

  assert {
    condition = (
      google_cloud_scheduler_job.renew.schedule == "*/10 * * * *" &&
      google_cloud_scheduler_job.renew.attempt_deadline == "330s" &&
      google_cloud_scheduler_job.renew.retry_config[0].retry_count == 1
    )
    error_message = "Schedule, attempt deadline (Renew's timeout + 30s) and retries must follow the variables."
  }
}

run "scheduler_variables" {
  variables {
    renew_schedule         = "*/5 * * * *"
    renew_attempt_deadline = "600s"
    renew_retry_count      = 3
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.schedule == "*/5 * * * *" && google_cloud_scheduler_job.renew.attempt_deadline == "600s" && google_cloud_scheduler_job.renew.retry_config[0].retry_count == 3
    error_message = "renew_schedule, renew_attempt_deadline and renew_retry_count must reach the job."
  }
}
