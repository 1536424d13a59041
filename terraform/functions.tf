# The three entry points function.go registers (ReceiveEntryPoint,
# RenewEntryPoint, SyncEntryPoint), built from the same archive: Receive,
# and Renew and Sync as the watcher functions below. Sync's variables and
# trigger are in sync.tf.
locals {
  # The address Google pushes to: the custom domain's when there is one
  # (domain.tf), else the function's own.
  receive_url = var.receive_domain == null ? google_cloudfunctions2_function.receive.service_config[0].uri : "https://${var.receive_domain}"
  renew_url   = google_cloudfunctions2_function.watcher["renew"].service_config[0].uri


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
  # internal/config (its TestTerraform checks the two agree).
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
    # Firestore and Pub/Sub (docs/configuration.md: the arithmetic).
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
    time_sleep.apis,
    time_sleep.build_grants,
    time_sleep.deployer_grants, # deployer.tf
  ]
}

# Renew and Sync: the two functions that run as the watcher, the one
# account authorised at Google (google_service_account.this["renew"]; sync.tf
# says why Sync shares it). Hence the name: one resource for both,
# google_cloudfunctions2_function.watcher["renew"] and ["sync"], made from
# local.watcher_functions. A function's name is <name>-<key> and its entry
# point local.entry_points[<key>]; what else differs is a field of its
# entry. Receive stays apart: Renew's environment holds Receive's URL
# (local.receive_url), which one resource for all three would take from
# itself.
locals {
  watcher_functions = {
    renew = {
      description   = "The reconcile pass: keeps a live channel behind every watch. Invoked by Cloud Scheduler only."
      max_instances = var.renew_max_instances
      memory        = var.renew_memory
      cpu           = null # the platform's, for the memory
      # One pass per instance: a pass bounds its own concurrency
      # (renew_concurrency), and overlapping passes are kept apart by leases.
      concurrency     = 1
      timeout_seconds = var.renew_timeout_seconds
      ingress         = var.renew_ingress
      # The one account that may invoke it (iam.tf): scheduler.tf's job.
      invoker = "scheduler"
      # Renew gives every watch without its own address Receive's URL, and
      # checks its renewal window against the schedule's period.
      environment = {
        WATCHRELAY_ADDRESS        = local.receive_url
        WATCHRELAY_RENEW_INTERVAL = local.renew_interval
      }
      # The function's preconditions.
      checks = [
        {
          # Renew cannot see its schedule: it takes the period on our word.
          condition     = local.renew_interval_seconds != null
          error_message = "renew_schedule (${var.renew_schedule}) has no plain period to read (every N minutes, hourly, every N hours): set renew_interval to it."
        },
        {
          condition     = local.renew_schedule_seconds == null || local.renew_schedule_seconds == local.renew_interval_seconds
          error_message = "renew_interval (${local.renew_interval}) must equal the period of renew_schedule (${var.renew_schedule}, every ${coalesce(local.renew_schedule_seconds, 0)} s): Renew checks its renewal windows against it."
        },
      ]
    }

    # Sync's variables and the rest of its wiring are in sync.tf.
    sync = {
      description   = "Reads what changed behind each notification and publishes it to ${google_pubsub_topic.events.name}. Invoked by the ${var.name}-sync push subscription only."
      max_instances = var.sync_max_instances
      memory        = var.sync_memory
      # A request may sleep for the debounce and then wait on Google: many
      # share an instance (a whole CPU is needed for more than one).
      cpu             = var.sync_cpu
      concurrency     = var.sync_concurrency
      timeout_seconds = var.sync_timeout_seconds
      ingress         = var.sync_ingress
      # The one account that may invoke it (iam.tf): its push
      # subscriptions' OIDC identity (sync.tf).
      invoker = "push"
      environment = { for k, v in {
        WATCHRELAY_SYNC_DEBOUNCE = var.sync_debounce
        WATCHRELAY_SYNC_TIMEOUT  = var.sync_timeout
      } : k => v if v != null }
      checks = [
        {
          # Cloud Run gives an instance more than one request at a time only
          # with a whole CPU or more.
          condition     = var.sync_concurrency == 1 || tonumber(var.sync_cpu) >= 1
          error_message = "sync_concurrency above 1 needs sync_cpu of at least 1."
        },
        {
          condition     = local.sync_timeout_seconds + local.sync_debounce_seconds + local.sync_keep_seconds < var.sync_timeout_seconds
          error_message = "sync_timeout_seconds (${var.sync_timeout_seconds} s) must exceed sync_timeout plus sync_debounce plus the ${local.sync_keep_seconds} s a request may run on to keep a page it read (${local.sync_timeout_seconds + local.sync_debounce_seconds + local.sync_keep_seconds} s), or the platform cuts a fetch off before its own deadline."
        },
      ]
    }
  }
}

resource "google_cloudfunctions2_function" "watcher" {
  for_each = local.watcher_functions

  project     = var.project_id
  location    = var.region
  name        = "${var.name}-${each.key}"
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime           = local.runtime
    entry_point       = local.entry_points[each.key]
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
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    max_instance_request_concurrency = each.value.concurrency
    timeout_seconds                  = each.value.timeout_seconds
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    # The watcher, whatever the function: one client id to authorise for
    # domain-wide delegation, one account to share with.
    service_account_email = google_service_account.this["renew"].email
    environment_variables = merge(local.watcher_environment, each.value.environment)
  }

  lifecycle {
    precondition {
      condition     = alltrue([for c in each.value.checks : c.condition])
      error_message = join(" ", [for c in each.value.checks : c.error_message if !c.condition])
    }
  }

  # The first build needs its account's grants in force: time_sleep
  # follows them and waits for them to propagate (iam_wait.tf).
  depends_on = [
    time_sleep.apis,
    time_sleep.build_grants,
    time_sleep.deployer_grants, # deployer.tf
  ]
}

# Renew was released as a resource of its own.
moved {
  from = google_cloudfunctions2_function.renew
  to   = google_cloudfunctions2_function.watcher["renew"]
}
