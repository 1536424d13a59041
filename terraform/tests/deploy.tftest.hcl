# The functions and the scheduler, against a mock google provider: no
# credentials, no network. Runs apply against the mocks (nothing real is
# created) so that computed values exist; tests/mocks gives the functions
# and service accounts distinct known values.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "functions" {
  assert {
    condition     = google_cloudfunctions2_function.receive.build_config[0].runtime == "go126" && google_cloudfunctions2_function.watcher["renew"].build_config[0].runtime == "go126"
    error_message = "Both functions must run on go126."
  }

  assert {
    # The names function.go registers (ReceiveEntryPoint, RenewEntryPoint).
    condition     = google_cloudfunctions2_function.receive.build_config[0].entry_point == "Receive" && google_cloudfunctions2_function.watcher["renew"].build_config[0].entry_point == "Renew"
    error_message = "Entry points must be Receive and Renew, as function.go registers them."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.service_config[0].min_instance_count == 0 && google_cloudfunctions2_function.watcher["renew"].service_config[0].min_instance_count == 0
    error_message = "Both functions must scale to zero."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.service_config[0].service_account_email == google_service_account.this["receive"].email && google_cloudfunctions2_function.watcher["renew"].service_config[0].service_account_email == google_service_account.this["renew"].email
    error_message = "Each function must run as its own service account."
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.build_config[0].service_account == google_service_account.this["build"].id && google_cloudfunctions2_function.watcher["renew"].build_config[0].service_account == google_service_account.this["build"].id
    error_message = "Both functions must build as the build account."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["GOOGLE_CLOUD_PROJECT"] == "demo-project" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_TOPIC"] == "watchrelay-events" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_DATABASE"] == "(default)"
    )
    error_message = "The functions' project, topic and database variables must name what the module creates."
  }

  assert {
    condition     = google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_ADDRESS"] == "https://watchrelay-receive-mock.a.run.app"
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
      "export WATCHRELAY_RENEW_INTERVAL=600s",
    ])
    error_message = "cli_env must point the CLI at this deployment, scheduler job and schedule period included."
  }
}

run "function_defaults" {
  assert {
    condition = (
      google_cloudfunctions2_function.receive.name == "watchrelay-receive" &&
      google_cloudfunctions2_function.receive.location == "us-central1" &&
      google_cloudfunctions2_function.receive.service_config[0].max_instance_count == 20 &&
      google_cloudfunctions2_function.receive.service_config[0].available_memory == "256M" &&
      google_cloudfunctions2_function.receive.service_config[0].timeout_seconds == 60 &&
      google_cloudfunctions2_function.watcher["renew"].name == "watchrelay-renew" &&
      google_cloudfunctions2_function.watcher["renew"].location == "us-central1" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].max_instance_count == 1 &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].available_memory == "256M" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].timeout_seconds == 300
    )
    error_message = "The functions' names, region, max instances, memory and timeout must be the variables' defaults."
  }

  assert {
    # Receive: a full CPU and 80 requests per instance, 60 of them worked
    # on (internal/config's default bound) and 20 kept to answer 503 at
    # once. Renew: one pass per instance.
    condition = (
      google_cloudfunctions2_function.receive.service_config[0].available_cpu == "1" &&
      google_cloudfunctions2_function.receive.service_config[0].max_instance_request_concurrency == 80 &&
      google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_RECEIVE_MAX_IN_FLIGHT"] == "60" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].max_instance_request_concurrency == 1
    )
    error_message = "Receive must run with 1 CPU, 80 requests per instance and an in-flight bound of 60; Renew with one request per instance."
  }

  assert {
    # Google's push comes from the internet; Renew is guarded by IAM.
    condition = (
      google_cloudfunctions2_function.receive.service_config[0].ingress_settings == "ALLOW_ALL" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].ingress_settings == "ALLOW_ALL" &&
      google_cloudfunctions2_function.receive.service_config[0].all_traffic_on_latest_revision == true &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].all_traffic_on_latest_revision == true
    )
    error_message = "Receive must take traffic from anywhere, Renew by default too, and both serve their latest revision."
  }

  assert {
    # The period of the default schedule, */10, read off the schedule.
    condition     = google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_RENEW_INTERVAL"] == "600s"
    error_message = "Renew must get WATCHRELAY_RENEW_INTERVAL, by default the default schedule's period (600s)."
  }

  assert {
    # Nothing beyond docs/DESIGN.md's configuration, WATCHRELAY_ADDRESS and
    # WATCHRELAY_RENEW_INTERVAL on Renew only, and no tuning variable left
    # null: the functions' own defaults (internal/config) are the one source.
    condition = (
      toset(keys(google_cloudfunctions2_function.receive.service_config[0].environment_variables)) == toset(["GOOGLE_CLOUD_PROJECT", "WATCHRELAY_TOPIC", "WATCHRELAY_DATABASE", "WATCHRELAY_RECEIVE_MAX_IN_FLIGHT"]) &&
      toset(keys(google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables)) == toset(["GOOGLE_CLOUD_PROJECT", "WATCHRELAY_TOPIC", "WATCHRELAY_DATABASE", "WATCHRELAY_GMAIL_TOPIC", "WATCHRELAY_ADDRESS", "WATCHRELAY_RENEW_INTERVAL"])
    )
    error_message = "The functions' environments must be exactly docs/DESIGN.md's configuration (WATCHRELAY_RECEIVE_MAX_IN_FLIGHT on Receive only, WATCHRELAY_GMAIL_TOPIC on Renew and Sync, WATCHRELAY_ADDRESS and WATCHRELAY_RENEW_INTERVAL on Renew only), without the defaults internal/config already has."
  }
}

run "function_variables" {
  variables {
    region                  = "europe-west1"
    receive_max_instances   = 7
    receive_memory          = "512M"
    receive_timeout_seconds = 30
    renew_max_instances     = 2
    renew_memory            = "1G"
    renew_timeout_seconds   = 900
    renew_ingress           = "ALLOW_INTERNAL_ONLY"
    renew_before            = "2h30m"
    grace                   = "15m"
    renew_concurrency       = 3
    renew_qps               = 2.5
    receive_concurrency     = 10
    receive_cpu             = "2"
    receive_deadline        = "5s"
  }

  assert {
    # 10 less a quarter, rounded down: 8.
    condition = (
      google_cloudfunctions2_function.receive.service_config[0].available_cpu == "2" &&
      google_cloudfunctions2_function.receive.service_config[0].max_instance_request_concurrency == 10 &&
      google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_RECEIVE_MAX_IN_FLIGHT"] == "8" &&
      google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_RECEIVE_TIMEOUT"] == "5s" &&
      !contains(keys(google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables), "WATCHRELAY_RECEIVE_TIMEOUT") &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].max_instance_request_concurrency == 1
    )
    error_message = "receive_cpu, receive_concurrency (and the in-flight bound below it) and receive_deadline must reach Receive, and Renew keep one request per instance."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.receive.location == "europe-west1" &&
      google_cloudfunctions2_function.receive.service_config[0].max_instance_count == 7 &&
      google_cloudfunctions2_function.receive.service_config[0].available_memory == "512M" &&
      google_cloudfunctions2_function.receive.service_config[0].timeout_seconds == 30 &&
      google_cloudfunctions2_function.watcher["renew"].location == "europe-west1" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].max_instance_count == 2 &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].available_memory == "1G" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].timeout_seconds == 900
    )
    error_message = "Each function's max instances, memory and timeout must come from its own variables."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["renew"].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY" &&
      google_cloudfunctions2_function.receive.service_config[0].ingress_settings == "ALLOW_ALL"
    )
    error_message = "renew_ingress must reach Renew, and never Receive."
  }

  assert {
    condition = alltrue([for f in [google_cloudfunctions2_function.receive, google_cloudfunctions2_function.watcher["renew"]] :
      f.service_config[0].environment_variables["WATCHRELAY_RENEW_BEFORE"] == "2h30m" &&
      f.service_config[0].environment_variables["WATCHRELAY_GRACE"] == "15m" &&
      f.service_config[0].environment_variables["WATCHRELAY_RENEW_CONCURRENCY"] == "3" &&
      f.service_config[0].environment_variables["WATCHRELAY_RENEW_QPS"] == "2.5"
    ])
    error_message = "renew_before, grace, renew_concurrency and renew_qps must reach both functions' environments."
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.attempt_deadline == "930s" && google_cloud_scheduler_job.renew.region == "europe-west1"
    error_message = "The scheduler's default attempt deadline must follow renew_timeout_seconds (+30 s), in the functions' region."
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
    renew_interval         = "5m" # the schedule's period
    renew_attempt_deadline = "600s"
    renew_retry_count      = 3
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.schedule == "*/5 * * * *" && google_cloud_scheduler_job.renew.attempt_deadline == "600s" && google_cloud_scheduler_job.renew.retry_config[0].retry_count == 3
    error_message = "renew_schedule, renew_attempt_deadline and renew_retry_count must reach the job."
  }
}

run "scheduler_deadline_bounds" {
  # Cloud Scheduler's limits for HTTP targets are accepted as they are.
  command = plan
  variables {
    renew_attempt_deadline = "15s"
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.attempt_deadline == "15s"
    error_message = "15s, Cloud Scheduler's least attempt deadline, must be accepted."
  }
}

run "scheduler_deadline_capped" {
  # A Renew timeout near the limit: the default deadline stops at 1800s.
  command = plan
  variables {
    renew_timeout_seconds = 3600
  }

  assert {
    condition     = google_cloud_scheduler_job.renew.attempt_deadline == "1800s"
    error_message = "The default attempt deadline must not exceed Cloud Scheduler's 1800s."
  }
}
