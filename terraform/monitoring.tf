# Alerts and a dashboard (docs/DESIGN.md "Terraform", docs/deploy.md
# "Alerts"): log-based metrics over the lines the functions log, alert
# policies whose documentation is the runbook, notification channels from
# alert_emails, and one dashboard. Without a channel an incident still
# opens in the console (Monitoring → Alerting).
#
# The functions log JSON with Cloud Logging's names (internal/logging);
# Cloud Run turns each line into an entry of resource type
# cloud_run_revision, its jsonPayload the line without severity. The
# messages below are the Go code's: renew/call.go, renew/open.go,
# renew/handler.go, receive/handler.go, and Sync's in changes/.

# --- Variables ----------------------------------------------------------------

variable "alert_emails" {
  description = "Email addresses that get watchrelay's alerts, one notification channel each. Empty: incidents still open in the console (Monitoring → Alerting), and nobody is emailed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses such as ops@example.com."
  }
}

variable "alert_notification_channels" {
  description = "Existing Cloud Monitoring notification channels (projects/P/notificationChannels/ID) that also get the alerts: Slack, PagerDuty, SMS and others are set up once in the console."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "alert_notification_channels must be channel names such as projects/my-project/notificationChannels/123456."
  }
}

variable "alert_renew_passes" {
  description = "How many Renew passes make a trend: an incident opens when this many passes within as many schedule periods (plus half of one) leave remaining > 0, or when none completes in that time."
  type        = number
  default     = 3

  validation {
    condition     = var.alert_renew_passes >= 1 && var.alert_renew_passes <= 20 && floor(var.alert_renew_passes) == var.alert_renew_passes
    error_message = "alert_renew_passes must be a whole number from 1 to 20."
  }
}

variable "alert_receive_5xx_ratio" {
  description = "An incident opens when more than this share of Receive's responses are 5xx for 10 minutes. Receive answers 503 on purpose while Firestore or Pub/Sub fails, so that Google retries."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_receive_5xx_ratio > 0 && var.alert_receive_5xx_ratio < 1
    error_message = "alert_receive_5xx_ratio must be between 0 and 1, such as 0.05."
  }
}

variable "alert_strays_per_hour" {
  description = "An incident opens when Receive gets more stray notifications than this in an hour (notifications of a channel the store does not know). 0: any stray."
  type        = number
  default     = 0

  validation {
    condition     = var.alert_strays_per_hour >= 0 && floor(var.alert_strays_per_hour) == var.alert_strays_per_hour
    error_message = "alert_strays_per_hour must be a whole number, at least 0."
  }
}

# --- What is logged, and where --------------------------------------------------

locals {
  # The services and the job as Cloud Logging names them: a gen2
  # function's Cloud Run service bears the function's name. Spelled out
  # rather than read off the functions, so that the metrics are created
  # right after the API and have minutes to appear before the policies
  # that use them (see alert_after). tests/monitoring.tftest.hcl checks
  # that they name functions.tf's functions and scheduler.tf's job.
  monitored_service = {
    receive = "${var.name}-receive"
    renew   = "${var.name}-renew"
    sync    = "${var.name}-sync"
  }
  monitored_job = "${var.name}-renew"

  renew_logs     = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.monitored_service.renew}\" AND resource.labels.location=\"${var.region}\""
  receive_logs   = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.monitored_service.receive}\" AND resource.labels.location=\"${var.region}\""
  sync_logs      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.monitored_service.sync}\" AND resource.labels.location=\"${var.region}\""
  scheduler_logs = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=\"${local.monitored_job}\" AND resource.labels.location=\"${var.region}\""

  # scripts/smoke.sh's channel and watch ids begin so: the lines its run
  # causes (a stray, should its channel be deleted before a retry of
  # Google's; a failed or resynced read of its watch) count in no metric,
  # so no alert fires because of a smoke test.
  smoke_prefix = "smoke-"
  not_smoke = {
    channel = "NOT jsonPayload.channel=~\"^${local.smoke_prefix}\""
    watch   = "NOT jsonPayload.watch=~\"^${local.smoke_prefix}\""
  }

  # Counters (DELTA, INT64), one per kind of line. labels: label key →
  # extractor and description.
  log_metrics = {
    lifecycle_events = {
      description = "Lifecycle events Renew published, by type (watchrelay.watch.<type>.v1) and kind: one log line each."
      resource    = "cloud_run_revision"
      filter      = "${local.renew_logs} AND jsonPayload.message=\"lifecycle event\""
      labels = {
        type = { extractor = "EXTRACT(jsonPayload.type)", description = "The event type, e.g. watchrelay.watch.lapsed.v1." }
        kind = { extractor = "EXTRACT(jsonPayload.kind)", description = "The watch's kind, e.g. drive.changes." }
      }
    }
    watches_ended = {
      description = "Watches Renew ended as failed (Google refused the watch for good) or gone (the resource no longer exists)."
      resource    = "cloud_run_revision"
      filter      = "${local.renew_logs} AND jsonPayload.message=\"watch ended\""
      labels = {
        state = { extractor = "EXTRACT(jsonPayload.state)", description = "failed or gone." }
        kind  = { extractor = "EXTRACT(jsonPayload.kind)", description = "The watch's kind." }
      }
    }
    renew_passes = {
      description = "Renew passes that ran to the end (with or without work left)."
      resource    = "cloud_run_revision"
      filter      = "${local.renew_logs} AND jsonPayload.message=\"renew pass done\""
      labels      = {}
    }
    renew_passes_left_work = {
      description = "Renew passes whose summary has remaining > 0: work found but left for the next pass."
      resource    = "cloud_run_revision"
      filter      = "${local.renew_logs} AND jsonPayload.message=\"renew pass done\" AND jsonPayload.summary.remaining>0"
      labels      = {}
    }
    renew_pass_errors = {
      description = "Renew passes that could not run at all (Renew answered 503)."
      resource    = "cloud_run_revision"
      filter      = "${local.renew_logs} AND jsonPayload.message=\"renew pass could not run\""
      labels      = {}
    }
    strays = {
      description = "Notifications Receive got for a channel the store does not know, or one retired past its grace (answered 204)."
      resource    = "cloud_run_revision"
      filter      = "${local.receive_logs} AND jsonPayload.message=\"stray notification\" AND ${local.not_smoke.channel}"
      labels      = {}
    }
    sync_failures = {
      description = "Fetches Sync could not finish (its ERROR line \"sync failed\"): the notification is retried, then dead-lettered."
      resource    = "cloud_run_revision"
      filter      = "${local.sync_logs} AND severity=ERROR AND jsonPayload.message=\"sync failed\" AND ${local.not_smoke.watch}"
      labels = {
        kind = { extractor = "EXTRACT(jsonPayload.kind)", description = "The watch's kind." }
      }
    }
    sync_resyncs = {
      description = "Watches whose cursor had expired: Sync published watchrelay.watch.resync.v1 and took a fresh baseline."
      resource    = "cloud_run_revision"
      filter      = "${local.sync_logs} AND jsonPayload.message=\"resync\" AND ${local.not_smoke.watch}"
      labels = {
        kind = { extractor = "EXTRACT(jsonPayload.kind)", description = "The watch's kind." }
      }
    }
    scheduler_failures = {
      description = "Failed attempts of the Cloud Scheduler job that runs Renew."
      resource    = "cloud_scheduler_job"
      filter      = "${local.scheduler_logs} AND severity>=ERROR"
      labels      = {}
    }
  }
}

resource "google_logging_metric" "this" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = "${var.name}-${replace(each.key, "_", "-")}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "${var.name} ${replace(each.key, "_", " ")}"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value.description
      }
    }
  }

  label_extractors = { for k, l in each.value.labels : k => l.extractor }

  depends_on = [time_sleep.apis]
}

variable "metric_propagation_wait" {
  description = "How long the alert policies wait after the log-based metrics are created (a Go duration; 0s to skip). Cloud Monitoring refuses a policy on a metric it does not know yet: \"Cannot find metric(s)... If a metric was created recently, it could take up to 10 minutes to become available\" (hashicorp/terraform-provider-google#11102). The wait runs beside the function builds, so it adds less than its length to a first apply."
  type        = string
  default     = "10m"

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.metric_propagation_wait))
    error_message = "metric_propagation_wait must be a duration in h, m and s, such as 10m or 600s."
  }
}

# The alert policies wait here for the log-based metrics to reach Cloud
# Monitoring: the provider does not retry the 404 (issue #11102 is open and
# its workaround is a wait). The triggers name each metric, so the wait starts
# after all of them and waits again when one is made anew (a new name). Every
# alert policy waits, also one on a built-in metric, so that a policy added
# later cannot forget to.
resource "time_sleep" "metrics" {
  create_duration = var.metric_propagation_wait

  triggers = { for k, m in google_logging_metric.this : k => m.id }
}

# --- Notification channels ------------------------------------------------------

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "${var.name} alerts: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }
  user_labels  = local.labels

  depends_on = [time_sleep.apis]
}

locals {
  alert_channels = concat([for c in google_monitoring_notification_channel.email : c.name], var.alert_notification_channels)

  # Monitoring filters of the metrics: the metric type, and the resource
  # type its entries carry.
  metric_filter = {
    for k, m in google_logging_metric.this :
    k => "metric.type=\"logging.googleapis.com/user/${m.name}\" AND resource.type=\"${local.log_metrics[k].resource}\""
  }
  # Receive's built-in Cloud Run metrics.
  receive_resource  = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${local.monitored_service.receive}\""
  receive_requests  = "metric.type=\"run.googleapis.com/request_count\" AND ${local.receive_resource}"
  receive_latencies = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.receive_resource}"
  receive_instances = "metric.type=\"run.googleapis.com/container/instance_count\" AND ${local.receive_resource}"
  # Sync's, and the backlog of its dead-letter subscription.
  sync_requests     = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${local.monitored_service.sync}\""
  sync_dead_letters = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.sync_dead_letter.name}\""

  # Windows, from the schedule's period (functions.tf; a null period fails
  # Renew's precondition, whose message says why). Event counts are summed
  # over one and a half periods, so that a failure at every pass keeps one
  # incident open rather than opening one per pass. A trend spans
  # alert_renew_passes periods and a half: room for that many passes
  # whatever their jitter. Alignment periods and absence durations are whole
  # minutes, and an absence lasts at most 23.5 hours.
  renew_period       = coalesce(local.renew_interval_seconds, 600)
  renew_event_window = max(300, ceil(1.5 * local.renew_period / 60) * 60)
  renew_trend_window = min(84600, ceil((var.alert_renew_passes + 0.5) * local.renew_period / 60) * 60)

  # The Logs Explorer, opened on a query: every policy links its lines.
  logs_url = "https://console.cloud.google.com/logs/query;query=%s?project=${var.project_id}"
  log_links = {
    for k, q in merge({ for name, m in local.log_metrics : name => m.filter }, {
      receive_unacknowledged = "${local.receive_logs} AND jsonPayload.message=\"notification not acknowledged; Google retries\""
    }) : k => format(local.logs_url, replace(urlencode(q), "+", "%20"))
  }

  # How to point the CLI at this deployment, which every runbook needs.
  cli_hint = "Run the CLI against this deployment after `eval \"$(terraform -chdir=terraform output -raw cli_env)\"` in a checkout."
}

# --- Alert policies -------------------------------------------------------------
#
# A log-based metric's descriptor can take minutes to appear after the
# metric is created, and a policy on a metric Monitoring does not know yet
# is refused (404 "Cannot find metric(s)"). The policies wait for the
# scheduler job, the last of the deployment (after both function builds),
# which gives the metrics, created right after the API, those minutes. If
# an apply still stops there, apply again a few minutes later.

# Most policies are one threshold over one count: a log-based metric, or
# Cloud Run's request count, summed over a window. They differ only in
# what the table below says; one resource makes them all. Receive's 5xx
# ratio (a denominator) and "Renew is not being run" (a second, absence
# condition) follow as resources of their own.

locals {
  # Policy → its name and severity; the condition's name, filter,
  # threshold, duration, evaluation of missing data (missing_data; unset:
  # Monitoring's default), alignment period (window) and the labels it
  # keeps apart (group_by; unset: one series); how each series is aligned
  # (aligner; unset: ALIGN_SUM); how long an incident stays open without
  # another (auto_close); the runbook (subject, content) and the log lines
  # it links (link; unset: none). Every condition is a sum (or, for a
  # gauge, a maximum) above its threshold, and one such opens an incident.
  threshold_policies = {
    watch_ended = {
      display_name = "${var.name}: a watch failed or is gone"
      severity     = "ERROR"
      condition    = "A watch ended failed or gone"
      filter       = local.metric_filter.watches_ended
      threshold    = 0
      duration     = "0s"
      window       = "${local.renew_event_window}s"
      group_by     = ["metric.label.state", "metric.label.kind"]
      # A failed watch stays failed: the incident stays open until closed by
      # hand, or for a week without another.
      auto_close = "604800s"
      subject    = "${var.name}: a $${metric.label.kind} watch is $${metric.label.state}"
      content    = <<-EOT
        Renew ended a **$${metric.label.kind}** watch as **$${metric.label.state}**. It has no channel now: Google sends nothing for it until someone acts. Subscribers got `watchrelay.watch.$${metric.label.state}.v1` with the reason.

        - **failed**: Google refused the watch call for good: credentials, permission or configuration (a grant or scope missing, an API disabled, a bad parameter).
        - **gone**: the watched resource no longer exists (a deleted calendar or file, a removed user).

        **What to do**

        1. Find the watch and the reason: `watchrelay status` (failed and gone watches with their reason and subject), or the log lines linked below (`jsonPayload.watch`, `jsonPayload.error`).
        2. **failed**: fix the cause, then `watchrelay watch retry ID`.
           - A watch with a subject (domain-wide delegation): in the Admin console (Security → Access and data control → API controls → Manage domain-wide delegation), Renew's client id (`terraform output -json service_accounts`, `.renew.unique_id`) must hold the kind's scope (docs/deploy.md).
           - A watch without a subject: the calendar or file must be shared with `${google_service_account.this["renew"].email}`.
           - The kind's API must be enabled in ${var.project_id} (`enable_workspace_apis`).
        3. **gone**: if the resource is gone for good, `watchrelay watch rm ID`; if it was restored, `watchrelay watch retry ID`.

        ${local.cli_hint} Close the incident once the watch is dealt with; otherwise it closes after 7 days without another.
      EOT
      link       = { display_name = "Logs: watches ended", url = local.log_links.watches_ended }
    }
    channel_lapsed = {
      display_name = "${var.name}: a channel lapsed"
      severity     = "WARNING"
      condition    = "A watch's channel expired before Renew replaced it"
      filter       = "${local.metric_filter.lifecycle_events} AND metric.label.type=\"watchrelay.watch.lapsed.v1\""
      threshold    = 0
      duration     = "0s"
      window       = "${local.renew_event_window}s"
      group_by     = ["metric.label.kind"]
      auto_close   = "86400s"
      subject      = "${var.name}: a $${metric.label.kind} channel lapsed; changes may have been missed"
      content      = <<-EOT
        A Renew pass found a **$${metric.label.kind}** watch whose channel had already expired. Between the expiry and the new channel Google's notifications went nowhere: changes in that gap were missed. The same pass opened a new channel (`renewed.v1` follows `lapsed.v1`), so the watch itself is live again.

        **What to do**

        1. Downstream: subscribers got `watchrelay.watch.lapsed.v1` (attribute `watch_id`) and should resync that resource. Make sure they did. The log lines linked below name the watch (`jsonPayload.watch`).
        2. Find why Renew was late. A channel lapses only when no pass renewed it in its last `renew_before` (default 90 minutes): Renew did not run (see the incidents "Renew is not being run" and "a Renew pass could not run"), its passes kept leaving work ("Renew passes keep leaving work"), or the watch's `ttlSeconds` is too short for the schedule.
        3. `watchrelay status`: renewals overdue, and when the last pass ran.

        ${local.cli_hint} The incident closes after a day without another lapse.
      EOT
      link         = { display_name = "Logs: lifecycle events", url = local.log_links.lifecycle_events }
    }
    renew_pass_error = {
      display_name = "${var.name}: a Renew pass could not run"
      severity     = "ERROR"
      condition    = "Renew answered 503: the pass could not run"
      filter       = local.metric_filter.renew_pass_errors
      threshold    = 0
      duration     = "60s"
      missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      window       = "${local.renew_event_window}s"
      auto_close   = "1800s"
      subject      = "${var.name}: a Renew pass could not run"
      content      = <<-EOT
        Renew answered 503: a pass could not run at all (it could not read or claim its work in Firestore; the log line says why). Cloud Scheduler retries and the next pass comes on schedule, but while every pass fails no channel is renewed, and channels start to lapse once `renew_before` (default 90 minutes) has gone by.

        **What to do**

        1. Read the error: the log lines linked below (`jsonPayload.error`), or `gcloud functions logs read ${local.monitored_service.renew} --region=${var.region} --project=${var.project_id} --limit=20`.
        2. Firestore: the database `${local.database}` must exist, and `${google_service_account.this["renew"].email}` must hold `roles/datastore.user` on it (`terraform apply` restores the grant).
        3. Once fixed, run a pass at once: `gcloud scheduler jobs run ${local.monitored_job} --location=${var.region} --project=${var.project_id}`.

        The incident closes by itself once passes stop failing.
      EOT
      link         = { display_name = "Logs: passes that could not run", url = local.log_links.renew_pass_errors }
    }
    renew_left_work = {
      display_name = "${var.name}: Renew passes keep leaving work"
      severity     = "WARNING"
      condition    = "${var.alert_renew_passes} passes in ${local.renew_trend_window / 60} minutes left remaining > 0"
      filter       = local.metric_filter.renew_passes_left_work
      # At least alert_renew_passes of them: the counts are whole numbers.
      threshold    = var.alert_renew_passes - 1
      duration     = "60s"
      missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      window       = "${local.renew_trend_window}s"
      auto_close   = "1800s"
      subject      = "${var.name}: Renew passes keep leaving work"
      content      = <<-EOT
        At least ${var.alert_renew_passes} Renew passes in ${local.renew_trend_window / 60} minutes ended with `remaining` > 0: work found and left for the next pass, again and again. A channel that stays due is not renewed, and lapses when it expires.

        `remaining` counts transient failures (Google answered 5xx or 429, or timed out), watches waiting out a backoff, channels that could not be stopped yet, and work the pass's deadline cut off.

        **What to do**

        1. Read the passes' summaries: the log lines linked below (`jsonPayload.summary`: `deferred` maps a reason to its number of watches, `throttled` names the APIs that asked Renew to slow down).
        2. `watchrelay status`: the last pass's summary; `watchrelay watch list`: the watches with failures, and their last error.
        3. Throttled: lower `renew_qps`, or raise the API's quota for the project. Passes cut short by their deadline: raise `renew_timeout_seconds`, or `renew_concurrency`.
        4. A passing Google outage clears by itself; a watch that keeps failing for good ends as failed, with an incident of its own.

        ${local.cli_hint} The incident closes by itself once passes finish their work.
      EOT
      link         = { display_name = "Logs: passes that left work", url = local.log_links.renew_passes_left_work }
    }
    receive_refused = {
      display_name = "${var.name}: Cloud Run refused notifications (429)"
      severity     = "CRITICAL"
      condition    = "Cloud Run answered 429 to a push to Receive"
      filter       = "${local.receive_requests} AND metric.label.response_code=\"429\""
      threshold    = 0
      duration     = "0s"
      window       = "300s"
      auto_close   = "1800s"
      subject      = "${var.name}: notifications lost: Cloud Run answered 429"
      content      = <<-EOT
        Cloud Run answered 429 to some of Google's pushes to Receive: every instance was busy and no more could start. Google does not retry a 429: **those notifications are lost**, and Receive never saw them, so no log line names their watches.

        **What to do**

        1. Give Receive room: raise `receive_max_instances` (and the requests each instance takes, where the module offers it), then `terraform apply`. Check the project's Cloud Run quota in ${var.region} as well.
        2. Downstream: subscribers should resync the watches that were active at the time (`watchrelay watch list`).
        3. The dashboard's "Receive instances" and "Notifications per second" charts show how close Receive runs to its limit.

        ${local.cli_hint} The incident closes 30 minutes after the last 429.
      EOT
    }
    strays = {
      display_name = "${var.name}: stray notifications"
      severity     = "WARNING"
      condition    = "More than ${var.alert_strays_per_hour} stray notifications in an hour"
      filter       = local.metric_filter.strays
      threshold    = var.alert_strays_per_hour
      duration     = "60s"
      missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      window       = "3600s"
      auto_close   = "1800s"
      subject      = "${var.name}: stray notifications"
      content      = <<-EOT
        Receive got notifications for channels the store does not know, or for retired channels past their grace (`grace`, default 10 minutes). It answered 204, published nothing, and recorded each channel once in `strays/`; the next Renew pass stops it through the API its resource URI names (at most 20 per pass). Until then Google keeps pushing it.

        They come from channels whose records were lost (a restored backup, a deleted database, another deployment pointed at this URL), or from forged requests.

        **What to do**

        1. `watchrelay status` lists the strays seen and what became of them. The log lines linked below name each channel (`jsonPayload.channel`). Many ids, each once: forged traffic, answered at the cost of one read each and recorded within a small bound; nothing more to do.
        2. The same ids still arriving after a few passes: their stop failed (the reason is in `strays/CHANNEL`, `lastError`). Stop one by hand as the principal that opened it, `watchrelay channel stop --kind K --id CHANNEL --resource-id R [--subject S]`, or let it expire (the kind's lifetime: 6 hours to 7 days).
        3. After a restore: `watchrelay watch list`, and check that each watch has a live channel.

        ${local.cli_hint} The incident closes an hour after the strays stop.
      EOT
      link         = { display_name = "Logs: stray notifications", url = local.log_links.strays }
    }
    sync_failed = {
      display_name = "${var.name}: Sync fails"
      severity     = "ERROR"
      condition    = "Sync logged \"sync failed\""
      filter       = local.metric_filter.sync_failures
      threshold    = 0
      duration     = "0s"
      missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      window       = "300s"
      group_by     = ["metric.label.kind"]
      auto_close   = "1800s"
      subject      = "${var.name}: Sync cannot read what changed on $${metric.label.kind} watches"
      content      = <<-EOT
        Sync could not finish a fetch for a **$${metric.label.kind}** watch: it logged "sync failed" (fields `watch`, `kind`, `error`). Subscribers still got the notification, but no `watchrelay.change.v1` for it yet. Pub/Sub delivers the notification to Sync again (backoff 10 s to 10 minutes) and after ${var.sync_max_delivery_attempts} attempts moves it to the dead-letter subscription `${google_pubsub_subscription.sync_dead_letter.name}` ("Sync's dead letters" then opens). The watch's cursor has not moved: the next fetch that succeeds reads everything since, so nothing is skipped.

        **What to do**

        1. Read the error: the log lines linked below (`jsonPayload.watch`, `jsonPayload.error`), or `gcloud functions logs read ${local.monitored_service.sync} --region=${var.region} --project=${var.project_id} --limit=20`.
        2. Google answered 429, a rate-limit 403 or 5xx: it passes by itself; if it keeps on, raise the API's quota for ${var.project_id}, or `sync_debounce` so storms make fewer fetches.
        3. Permission (401, 403) or invalid_grant: Sync reads as the watcher, `${google_service_account.this["renew"].email}`, the same account as Renew, so a watch Renew keeps open is one Sync may read.
           - A watch with a subject (domain-wide delegation): in the Admin console (Security → Access and data control → API controls → Manage domain-wide delegation), the watcher's client id (`terraform output -json service_accounts`, `.renew.unique_id`) must hold the kind's scopes, the same ones Renew's watch calls use. There is no second client id to authorise.
           - A watch without a subject: the calendar or file must be shared with `${google_service_account.this["renew"].email}`.
        4. Firestore or Pub/Sub refused: `${google_service_account.this["renew"].email}` must hold `roles/datastore.user` on the database `${local.database}` and `roles/pubsub.publisher` on the topic `${google_pubsub_topic.events.name}` (`terraform apply` restores both).
        5. Fetches cut off: raise `sync_timeout` (at most 539s: its lease must end within the 600 s ack deadline) with `sync_timeout_seconds` above it.

        ${local.cli_hint} `watchrelay status` shows the watch's state. The incident closes 30 minutes after the last failure.
      EOT
      link         = { display_name = "Logs: Sync's failures", url = local.log_links.sync_failures }
    }
    sync_dead_letters = {
      display_name = "${var.name}: Sync's dead letters"
      severity     = "ERROR"
      condition    = "${google_pubsub_subscription.sync_dead_letter.name} holds messages"
      filter       = local.sync_dead_letters
      threshold    = 0
      duration     = "0s"
      missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      window       = "300s"
      aligner      = "ALIGN_MAX"
      auto_close   = "1800s"
      subject      = "${var.name}: notifications Sync gave up on are waiting in ${google_pubsub_subscription.sync_dead_letter.name}"
      content      = <<-EOT
        The dead-letter subscription `${google_pubsub_subscription.sync_dead_letter.name}` holds notifications that Sync failed to handle ${var.sync_max_delivery_attempts} times (`sync_max_delivery_attempts`). Their watches' changes have not been published: until another notification of the same watch succeeds, subscribers miss them. The subscription keeps each message 7 days.

        **What to do**

        1. Why Sync failed: "Sync fails" is open too, or was; its runbook and the log lines linked below ("sync failed", `jsonPayload.error`) say why. Fix that first.
        2. Look at the dead letters without acknowledging them: `gcloud pubsub subscriptions pull ${google_pubsub_subscription.sync_dead_letter.name} --project=${var.project_id} --limit=10 --format=json` (attribute `watch_id` names each watch).
        3. Replay to Sync alone, once fixed: `gcloud pubsub subscriptions seek ${google_pubsub_subscription.sync["events"].name} --time=T --project=${var.project_id}`, T (RFC 3339) before the first failure, delivers the notifications published since then to Sync again, and to no other subscriber (the topic keeps 7 days; `watchrelay replay --subscription ${google_pubsub_subscription.sync["events"].name}` does the same). Sync coalesces them: each watch is fetched from its cursor, and change events already published keep their ids.%{if var.enable_gmail} Dead letters without a `ce-type` attribute are Gmail's pushes (`gmail.users`): seek `${try(google_pubsub_subscription.sync["gmail"].name, "")}` the same way to deliver them again.%{endif}
        4. Then empty the dead letters: `gcloud pubsub subscriptions seek ${google_pubsub_subscription.sync_dead_letter.name} --time=$(date -u +%Y-%m-%dT%H:%M:%SZ) --project=${var.project_id}`. The incident closes once the subscription is empty.

        ${local.cli_hint}
      EOT
      link         = { display_name = "Logs: Sync's failures", url = local.log_links.sync_failures }
    }
  }
}

resource "google_monitoring_alert_policy" "this" {
  for_each = local.threshold_policies

  project      = var.project_id
  display_name = each.value.display_name
  combiner     = "OR"
  severity     = each.value.severity
  user_labels  = local.labels

  conditions {
    display_name = each.value.condition
    condition_threshold {
      filter                  = each.value.filter
      comparison              = "COMPARISON_GT"
      threshold_value         = each.value.threshold
      duration                = each.value.duration
      evaluation_missing_data = try(each.value.missing_data, null)
      aggregations {
        alignment_period     = each.value.window
        per_series_aligner   = try(each.value.aligner, "ALIGN_SUM")
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = try(each.value.group_by, null)
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = each.value.auto_close
  }

  notification_channels = local.alert_channels

  documentation {
    mime_type = "text/markdown"
    subject   = each.value.subject
    content   = each.value.content
    dynamic "links" {
      for_each = try([each.value.link], [])
      content {
        display_name = links.value.display_name
        url          = links.value.url
      }
    }
  }

  depends_on = [time_sleep.apis, time_sleep.metrics, google_cloud_scheduler_job.renew]
}

resource "google_monitoring_alert_policy" "renew_not_run" {
  project      = var.project_id
  display_name = "${var.name}: Renew is not being run"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "The scheduler job's calls to Renew fail"
    condition_threshold {
      filter                  = local.metric_filter.scheduler_failures
      comparison              = "COMPARISON_GT"
      threshold_value         = 0
      duration                = "60s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "${local.renew_event_window}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "No Renew pass completed in ${local.renew_trend_window / 60} minutes"
    condition_absent {
      filter   = local.metric_filter.renew_passes
      duration = "${local.renew_trend_window}s"
      # One series over all revisions: a new revision must not read as
      # the old one falling silent.
      aggregations {
        alignment_period     = "${min(300, local.renew_trend_window)}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  notification_channels = local.alert_channels

  documentation {
    mime_type = "text/markdown"
    subject   = "${var.name}: Renew is not being run"
    content   = <<-EOT
      The Cloud Scheduler job `${local.monitored_job}` is not getting Renew passes done: its calls to Renew fail, or no pass completed in ${local.renew_trend_window / 60} minutes (the job paused or deleted, or Renew not answering). Without passes no channel is renewed: channels lapse once `renew_before` (default 90 minutes) has gone by.

      **What to do**

      1. If "a Renew pass could not run" is open too, Renew itself fails: start there.
      2. The job: `gcloud scheduler jobs describe ${local.monitored_job} --location=${var.region} --project=${var.project_id}`. Its `state` must be ENABLED (`gcloud scheduler jobs resume ...` when PAUSED); `status` holds the last attempt's error. A deleted or edited job: `terraform apply` puts it back.
      3. The attempts' errors (log lines linked below): PERMISSION_DENIED or 403, the scheduler account `${google_service_account.this["scheduler"].email}` lost `roles/run.invoker` on `${local.monitored_service.renew}` (`terraform apply` restores it); DEADLINE_EXCEEDED, a pass ran past the attempt deadline (`renew_attempt_deadline`, `renew_timeout_seconds`); UNAVAILABLE or 5xx, Renew's own logs say why ("watchrelay could not start": a configuration it refuses, such as a `renew_before` under two `renew_interval` periods).
      4. Then run a pass at once: `gcloud scheduler jobs run ${local.monitored_job} --location=${var.region} --project=${var.project_id}`.

      The incident closes by itself once passes run again.
    EOT
    links {
      display_name = "Logs: the scheduler job's failures"
      url          = local.log_links.scheduler_failures
    }
  }

  depends_on = [time_sleep.apis, time_sleep.metrics, google_cloud_scheduler_job.renew]
}

resource "google_monitoring_alert_policy" "receive_5xx" {
  project      = var.project_id
  display_name = "${var.name}: Receive answers 5xx"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "More than ${var.alert_receive_5xx_ratio * 100}% of Receive's responses are 5xx for 10 minutes"
    condition_threshold {
      filter                  = "${local.receive_requests} AND metric.label.response_code_class=\"5xx\""
      denominator_filter      = local.receive_requests
      comparison              = "COMPARISON_GT"
      threshold_value         = var.alert_receive_5xx_ratio
      duration                = "600s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  notification_channels = local.alert_channels

  documentation {
    mime_type = "text/markdown"
    subject   = "${var.name}: Receive answers 5xx to Google's notifications"
    content   = <<-EOT
      More than ${var.alert_receive_5xx_ratio * 100}% of the notifications Google pushed to Receive were answered 5xx for 10 minutes. Receive answers 503 when it cannot make an event durable (Firestore or Pub/Sub failed or was too slow, or the function is not configured), so that Google retries: nothing is acknowledged unpublished, but notifications arrive late, and Google gives up on a notification it has retried long enough.

      **What to do**

      1. The reason: the log lines linked below ("notification not acknowledged; Google retries", `jsonPayload.error`).
      2. Firestore or Pub/Sub failing or slow: the Google Cloud status page, and the project's quotas.
      3. Permissions: `${google_service_account.this["receive"].email}` must hold `roles/datastore.user` on the database `${local.database}` and `roles/pubsub.publisher` on the topic `${google_pubsub_topic.events.name}` (`terraform apply` restores both).
      4. Not configured: a Receive that logged "watchrelay could not start" answers 503 to everything; the line says what it refused, and `terraform apply` redeploys it.
      5. Afterwards: subscribers may want to resync the watches active during the outage, for what Google gave up on.

      The incident closes by itself once the ratio falls.
    EOT
    links {
      display_name = "Logs: notifications not acknowledged"
      url          = local.log_links.receive_unacknowledged
    }
  }

  depends_on = [time_sleep.apis, time_sleep.metrics, google_cloud_scheduler_job.renew]
}

locals {
  # Every policy, in the dashboard's order.
  alert_policies = [for k in ["watch_ended", "channel_lapsed", "renew_pass_error", "renew_left_work", "renew_not_run", "receive_5xx", "receive_refused", "strays", "sync_failed", "sync_dead_letters"] :
    merge(google_monitoring_alert_policy.this, {
      renew_not_run = google_monitoring_alert_policy.renew_not_run
      receive_5xx   = google_monitoring_alert_policy.receive_5xx
    })[k]
  ]
}


# --- Dashboard ------------------------------------------------------------------

locals {
  # An XY chart of one or more filters. Rates are per second; event
  # counts are summed per schedule period, so a bar is about one pass.
  dashboard_charts = [
    {
      title = "Notifications per second, by status class (Receive)"
      sets = [{
        filter = local.receive_requests, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", period = 60,
        group  = ["metric.label.response_code_class"], legend = "$${metric.labels.response_code_class}", plot = "STACKED_AREA"
      }]
    },
    {
      title = "Receive latency (p50, p99)"
      sets = [for p in ["50", "99"] : {
        filter = local.receive_latencies, aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_${p}", period = 60,
        group  = [], legend = "p${p}", plot = "LINE"
      }]
    },
    {
      title = "Lifecycle events per second, by type"
      sets = [{
        filter = local.metric_filter.lifecycle_events, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", period = 60,
        group  = ["metric.label.type"], legend = "$${metric.labels.type}", plot = "STACKED_BAR"
      }]
    },
    {
      title = "Renewals per Renew period, by kind"
      sets = [{
        filter = "${local.metric_filter.lifecycle_events} AND metric.label.type=\"watchrelay.watch.renewed.v1\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM", period = local.renew_period,
        group  = ["metric.label.kind"], legend = "$${metric.labels.kind}", plot = "STACKED_BAR"
      }]
    },
    {
      title = "Lapses per Renew period, by kind"
      sets = [{
        filter = "${local.metric_filter.lifecycle_events} AND metric.label.type=\"watchrelay.watch.lapsed.v1\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM", period = local.renew_period,
        group  = ["metric.label.kind"], legend = "$${metric.labels.kind}", plot = "STACKED_BAR"
      }]
    },
    {
      title = "Watches ended (failed, gone) per Renew period, by kind"
      sets = [{
        filter = local.metric_filter.watches_ended, aligner = "ALIGN_SUM", reducer = "REDUCE_SUM", period = local.renew_period,
        group  = ["metric.label.state", "metric.label.kind"], legend = "$${metric.labels.state} $${metric.labels.kind}", plot = "STACKED_BAR"
      }]
    },
    {
      title = "Renew passes per Renew period"
      sets = [for s in [
        { key = "renew_passes", legend = "completed" },
        { key = "renew_passes_left_work", legend = "left work" },
        { key = "renew_pass_errors", legend = "could not run" },
        { key = "scheduler_failures", legend = "scheduler attempt failed" },
        ] : {
        filter = local.metric_filter[s.key], aligner = "ALIGN_SUM", reducer = "REDUCE_SUM", period = local.renew_period,
        group  = [], legend = s.legend, plot = "LINE"
      }]
    },
    {
      title = "Stray notifications per second (Receive)"
      sets = [{
        filter = local.metric_filter.strays, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", period = 60,
        group  = [], legend = "strays", plot = "LINE"
      }]
    },
    {
      title = "Receive instances"
      sets = [{
        filter = local.receive_instances, aligner = "ALIGN_MAX", reducer = "REDUCE_SUM", period = 60,
        group  = ["metric.label.state"], legend = "$${metric.labels.state}", plot = "STACKED_AREA"
      }]
    },
    {
      title = "Sync requests per second, by status class"
      sets = [{
        filter = local.sync_requests, aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", period = 60,
        group  = ["metric.label.response_code_class"], legend = "$${metric.labels.response_code_class}", plot = "STACKED_AREA"
      }]
    },
    {
      title = "Sync failures and resyncs per 5 minutes, by kind"
      sets = [for s in [
        { key = "sync_failures", legend = "failed $${metric.labels.kind}" },
        { key = "sync_resyncs", legend = "resync $${metric.labels.kind}" },
        ] : {
        filter = local.metric_filter[s.key], aligner = "ALIGN_SUM", reducer = "REDUCE_SUM", period = 300,
        group  = ["metric.label.kind"], legend = s.legend, plot = "STACKED_BAR"
      }]
    },
    {
      title = "Sync's dead letters (undelivered messages)"
      sets = [{
        filter = local.sync_dead_letters, aligner = "ALIGN_MAX", reducer = "REDUCE_SUM", period = 60,
        group  = [], legend = "dead letters", plot = "LINE"
      }]
    },
  ]

  dashboard_widgets = concat(
    [for c in local.dashboard_charts : {
      title = c.title
      xyChart = {
        chartOptions = { mode = "COLOR" }
        yAxis        = { scale = "LINEAR" }
        dataSets = [for s in c.sets : {
          plotType           = s.plot
          targetAxis         = "Y1"
          legendTemplate     = s.legend
          minAlignmentPeriod = "${s.period}s"
          timeSeriesQuery = {
            timeSeriesFilter = {
              filter = s.filter
              aggregation = merge({
                alignmentPeriod    = "${s.period}s"
                perSeriesAligner   = s.aligner
                crossSeriesReducer = s.reducer
              }, length(s.group) > 0 ? { groupByFields = s.group } : {})
            }
          }
        }]
      }
    }],
    [{
      title = "Open incidents of watchrelay's alert policies"
      incidentList = {
        # The widget takes alertPolicies/ID, without the project.
        policyNames = [for p in local.alert_policies : "alertPolicies/${reverse(split("/", p.name))[0]}"]
      }
    }],
  )
}

resource "google_monitoring_dashboard" "this" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.name}: notifications, renewals, lapses, failures"
    mosaicLayout = {
      columns = 48
      tiles = concat(
        [{
          xPos = 0, yPos = 0, width = 48, height = 6
          widget = {
            title = "About"
            text = {
              format  = "MARKDOWN"
              content = "Receive (`${local.monitored_service.receive}`) takes Google's push notifications; Renew (`${local.monitored_service.renew}`, run by the scheduler job `${local.monitored_job}`) keeps a live channel behind every watch; Sync (`${local.monitored_service.sync}`, pushed to by the subscription `${google_pubsub_subscription.sync["events"].name}`) reads what changed and publishes it. What each alert means and what to do: docs/deploy.md, and each alert's documentation. ${local.cli_hint} `watchrelay watch list` shows every watch's state."
            }
          }
        }],
        [for i, w in local.dashboard_widgets : {
          xPos   = (i % 2) * 24, yPos = 6 + floor(i / 2) * 16, width = 24, height = 16
          widget = w
        }],
        [{
          xPos = 0, yPos = 6 + ceil(length(local.dashboard_widgets) / 2) * 16, width = 48, height = 20
          widget = {
            title = "Warnings and errors of Receive, Renew, Sync and the scheduler job"
            logsPanel = {
              filter        = "((${local.receive_logs}) OR (${local.renew_logs}) OR (${local.sync_logs}) OR (${local.scheduler_logs})) AND severity>=WARNING"
              resourceNames = ["projects/${var.project_id}"]
            }
          }
        }],
      )
    }
  })

  depends_on = [time_sleep.apis]
}
