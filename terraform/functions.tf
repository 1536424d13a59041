# Receive and Renew: two of the entry points function.go registers
# (ReceiveEntryPoint, RenewEntryPoint), built from the same archive; the
# third, Sync, and its trigger are in sync.tf.
locals {
  # The address Google pushes to: the custom domain's when there is one
  # (domain.tf), else the function's own.
  receive_url = var.receive_domain == null ? google_cloudfunctions2_function.receive.service_config[0].uri : "https://${var.receive_domain}"
  renew_url   = google_cloudfunctions2_function.renew.service_config[0].uri


  # The period of renew_schedule, for the forms that have a plain one:
  # every minute, every N minutes, hourly, every N hours (N dividing the
  # hour or the day, so that the gaps are equal). null for any other
  # schedule, which is then taken on trust.
  renew_cron          = join(" ", compact(split(" ", trimspace(var.renew_schedule))))
  renew_every_minutes = try(tonumber(regex("^\\*/([0-9]+) \\* \\* \\* \\*$", local.renew_cron)[0]), local.renew_cron == "* * * * *" ? 1 : null)
  renew_every_hours   = try(tonumber(regex("^[0-9]+ \\*/([0-9]+) \\* \\* \\*$", local.renew_cron)[0]), can(regex("^[0-9]+ \\* \\* \\* \\*$", local.renew_cron)) ? 1 : null)
  renew_schedule_seconds = (
    local.renew_every_minutes != null ? (try(60 % local.renew_every_minutes == 0, false) ? 60 * local.renew_every_minutes : null) :
    local.renew_every_hours != null ? (try(24 % local.renew_every_hours == 0, false) ? 3600 * local.renew_every_hours : null) :
    null
  )

  # renew_interval in seconds (the sum of its Go duration's units), or by
  # default the schedule's period; null when neither is known.
  renew_interval_seconds = var.renew_interval == null ? local.renew_schedule_seconds : sum([
    for u in regexall("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)", var.renew_interval) : tonumber(u[0]) * { h = 3600, m = 60, s = 1, ms = 0.001 }[u[1]]
  ])
  renew_interval = coalesce(var.renew_interval, "${coalesce(local.renew_schedule_seconds, 0)}s")

  # Receive's in-flight bound: the concurrency less a quarter (at least
  # one) kept to answer the excess 503 at once. 80 gives 60, the default of
  # internal/config (config_test.go checks the two agree).
  receive_max_in_flight = var.receive_concurrency - max(1, floor(var.receive_concurrency / 4))

  # receive_deadline in seconds, as renew_interval's; null when unset.
  receive_deadline_seconds = var.receive_deadline == null ? null : sum([
    for u in regexall("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)", var.receive_deadline) : tonumber(u[0]) * { h = 3600, m = 60, s = 1, ms = 0.001 }[u[1]]
  ])
}

resource "google_cloudfunctions2_function" "receive" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-receive"
  description = "Google's webhook: validates push notifications and publishes them to ${google_pubsub_topic.events.name}."
  labels      = local.labels

  build_config {
    runtime           = local.runtime
    entry_point       = local.entry_points.receive
    service_account   = google_service_account.this["build"].id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count = 0
    max_instance_count = var.receive_max_instances
    available_memory   = var.receive_memory
    # A full CPU serves many notifications at once; each mostly waits on
    # Firestore and Pub/Sub (README, Configuration: the arithmetic).
    available_cpu                    = var.receive_cpu
    max_instance_request_concurrency = var.receive_concurrency
    timeout_seconds                  = var.receive_timeout_seconds
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.this["receive"].email
    # Receive answers 503 past its in-flight bound, below the concurrency,
    # so the platform never has to refuse with a 429 that Google does not
    # retry.
    environment_variables = merge(local.environment, { for k, v in {
      WATCHRELAY_RECEIVE_MAX_IN_FLIGHT = tostring(local.receive_max_in_flight)
      WATCHRELAY_RECEIVE_TIMEOUT       = var.receive_deadline
    } : k => v if v != null })
  }

  lifecycle {
    precondition {
      # Cloud Run gives an instance more than one request at a time only
      # with a whole CPU or more.
      condition     = var.receive_concurrency == 1 || tonumber(var.receive_cpu) >= 1
      error_message = "receive_concurrency above 1 needs receive_cpu of at least 1."
    }
    precondition {
      condition     = local.receive_deadline_seconds == null || try(local.receive_deadline_seconds < var.receive_timeout_seconds, false)
      error_message = "receive_deadline (${coalesce(var.receive_deadline, "unset")}) must be shorter than receive_timeout_seconds (${var.receive_timeout_seconds} s), or the platform cuts Receive off before it can answer 503."
    }
  }

  # The first build needs its account's grants in force: time_sleep
  # follows them and waits for them to propagate (iam_wait.tf).
  depends_on = [
    google_project_service.enabled,
    time_sleep.build_grants,
  ]
}

resource "google_cloudfunctions2_function" "renew" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-renew"
  description = "The reconcile pass: keeps a live channel behind every watch. Invoked by Cloud Scheduler only."
  labels      = local.labels

  build_config {
    runtime           = local.runtime
    entry_point       = local.entry_points.renew
    service_account   = google_service_account.this["build"].id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count = 0
    max_instance_count = var.renew_max_instances
    available_memory   = var.renew_memory
    # One pass per instance: a pass bounds its own concurrency
    # (renew_concurrency), and overlapping passes are kept apart by leases.
    max_instance_request_concurrency = 1
    timeout_seconds                  = var.renew_timeout_seconds
    ingress_settings                 = var.renew_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.this["renew"].email
    # Renew gives every watch without its own address Receive's URL, and
    # checks its renewal window against the schedule's period.
    environment_variables = merge(local.watcher_environment, {
      WATCHRELAY_ADDRESS        = local.receive_url
      WATCHRELAY_RENEW_INTERVAL = local.renew_interval
    })
  }

  lifecycle {
    precondition {
      # Renew cannot see its schedule: it takes the period on our word.
      condition     = local.renew_interval_seconds != null
      error_message = "renew_schedule (${var.renew_schedule}) has no plain period to read (every N minutes, hourly, every N hours): set renew_interval to it."
    }
    precondition {
      condition     = local.renew_schedule_seconds == null || local.renew_schedule_seconds == local.renew_interval_seconds
      error_message = "renew_interval (${local.renew_interval}) must equal the period of renew_schedule (${var.renew_schedule}, every ${coalesce(local.renew_schedule_seconds, 0)} s): Renew checks its renewal windows against it."
    }
  }

  # The first build needs its account's grants in force: time_sleep
  # follows them and waits for them to propagate (iam_wait.tf).
  depends_on = [
    google_project_service.enabled,
    time_sleep.build_grants,
  ]
}
