# Alerts and the dashboard (monitoring.tf), against the mock provider: the
# metrics count the lines the Go code logs, each policy watches the metric
# it says and carries a runbook, notifications follow the variables, and
# the dashboard charts what the README says it does.

mock_provider "google" {
  source = "./tests/mocks"
}

# As in the other test files: a time_sleep must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "messages_match_the_code" {
  # The metrics match log lines by message: a message or field changed in
  # the Go code (any non-test file of renew/, receive/ or Sync's changes/)
  # fails here, rather than leaving the alerts quiet.
  command = plan

  assert {
    condition = alltrue([for k, pkg in {
      lifecycle_events       = "renew"
      watches_ended          = "renew"
      renew_passes           = "renew"
      renew_passes_left_work = "renew"
      renew_pass_errors      = "renew"
      strays                 = "receive"
      sync_failures          = "changes"
      sync_resyncs           = "changes"
      } : strcontains(
      join("\n", [for f in fileset("../${pkg}", "*.go") : file("../${pkg}/${f}") if !endswith(f, "_test.go")]),
      "(\"${regex("jsonPayload\\.message=\"([^\"]+)\"", google_logging_metric.this[k].filter)[0]}\", "
      )
    ])
    error_message = "Every message a metric matches must be one the Go code logs (renew/, receive/, changes/)."
  }

  assert {
    # Each extracted field is logged on the line of its message; the
    # summary keeps its remaining count.
    condition = alltrue(concat(
      [for k, msg in { lifecycle_events = "lifecycle event", watches_ended = "watch ended" } : alltrue([
        for l, x in google_logging_metric.this[k].label_extractors : can(regex(
          "\"${msg}\"[^\n]*\"${regex("^EXTRACT\\(jsonPayload\\.(\\w+)\\)$", x)[0]}\", ",
          join("\n", [for f in fileset("../renew", "*.go") : file("../renew/${f}") if !endswith(f, "_test.go")])
        ))
      ])],
      [for k, msg in { sync_failures = "sync failed", sync_resyncs = "resync" } : alltrue([
        for l, x in google_logging_metric.this[k].label_extractors : can(regex(
          "\"${msg}\"[^\n]*\"${regex("^EXTRACT\\(jsonPayload\\.(\\w+)\\)$", x)[0]}\", ",
          join("\n", [for f in fileset("../changes", "*.go") : file("../changes/${f}") if !endswith(f, "_test.go")])
        ))
      ])],
      [
        strcontains(google_logging_metric.this["renew_passes_left_work"].filter, "jsonPayload.summary.remaining>0"),
        strcontains(join("\n", [for f in fileset("../renew", "*.go") : file("../renew/${f}") if !endswith(f, "_test.go")]), "(\"renew pass done\", \"summary\", "),
        strcontains(join("\n", [for f in fileset("../renew", "*.go") : file("../renew/${f}") if !endswith(f, "_test.go")]), "`json:\"remaining\"`"),
      ],
    ))
    error_message = "The fields the metrics extract must be logged on their message's line, as the Go code names them."
  }
}

run "metrics" {
  assert {
    condition = toset(keys(google_logging_metric.this)) == toset([
      "lifecycle_events", "watches_ended", "renew_passes", "renew_passes_left_work", "renew_pass_errors", "strays", "scheduler_failures",
      "sync_failures", "sync_resyncs",
    ])
    error_message = "One log-based metric per line that matters: lifecycle events, watches ended, passes (all, with work left, failed), strays, scheduler failures, Sync's failures and resyncs."
  }

  assert {
    condition = alltrue([for k, m in google_logging_metric.this :
      m.name == "watchrelay-${replace(k, "_", "-")}" && m.project == "demo-project" &&
      m.metric_descriptor[0].metric_kind == "DELTA" && m.metric_descriptor[0].value_type == "INT64"
    ])
    error_message = "Every metric is a counter named watchrelay-<what it counts>."
  }

  assert {
    condition = alltrue([for k, want in {
      lifecycle_events = { message = "lifecycle event", labels = ["type", "kind"] }
      watches_ended    = { message = "watch ended", labels = ["state", "kind"] }
      } : (
      google_logging_metric.this[k].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"watchrelay-renew\" AND resource.labels.location=\"us-central1\" AND jsonPayload.message=\"${want.message}\"" &&
      google_logging_metric.this[k].label_extractors == tomap({ for l in want.labels : l => "EXTRACT(jsonPayload.${l})" }) &&
      toset([for l in google_logging_metric.this[k].metric_descriptor[0].labels : l.key]) == toset(want.labels)
    )])
    error_message = "Lifecycle events are Renew's \"lifecycle event\" lines, labelled by type and kind; watches ended its \"watch ended\" lines, labelled by state (failed, gone) and kind."
  }

  assert {
    condition = alltrue([for k, want in {
      renew_passes           = "jsonPayload.message=\"renew pass done\""
      renew_passes_left_work = "jsonPayload.message=\"renew pass done\" AND jsonPayload.summary.remaining>0"
      renew_pass_errors      = "jsonPayload.message=\"renew pass could not run\""
    } : google_logging_metric.this[k].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"watchrelay-renew\" AND resource.labels.location=\"us-central1\" AND ${want}"])
    error_message = "Passes are counted from Renew's summary line: all of them, those with summary.remaining > 0, and those that could not run."
  }

  assert {
    condition = (
      google_logging_metric.this["strays"].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"watchrelay-receive\" AND resource.labels.location=\"us-central1\" AND jsonPayload.message=\"stray notification\" AND NOT jsonPayload.channel=~\"^smoke-\"" &&
      google_logging_metric.this["scheduler_failures"].filter == "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=\"watchrelay-renew\" AND resource.labels.location=\"us-central1\" AND severity>=ERROR"
    )
    error_message = "Strays are Receive's \"stray notification\" lines; scheduler failures the job's ERROR entries."
  }

  assert {
    condition = (
      google_logging_metric.this["sync_failures"].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"watchrelay-sync\" AND resource.labels.location=\"us-central1\" AND severity=ERROR AND jsonPayload.message=\"sync failed\" AND NOT jsonPayload.watch=~\"^smoke-\"" &&
      google_logging_metric.this["sync_resyncs"].filter == "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"watchrelay-sync\" AND resource.labels.location=\"us-central1\" AND jsonPayload.message=\"resync\" AND NOT jsonPayload.watch=~\"^smoke-\"" &&
      google_logging_metric.this["sync_failures"].label_extractors == tomap({ kind = "EXTRACT(jsonPayload.kind)" }) &&
      google_logging_metric.this["sync_resyncs"].label_extractors == tomap({ kind = "EXTRACT(jsonPayload.kind)" })
    )
    error_message = "Sync's failures are its ERROR lines \"sync failed\", its resyncs its \"resync\" lines, both labelled by kind (never by watch: ids would mint series)."
  }

  assert {
    condition     = alltrue([for k in ["renew_passes", "renew_passes_left_work", "renew_pass_errors", "strays", "scheduler_failures"] : length(google_logging_metric.this[k].label_extractors) == 0])
    error_message = "Counts without labels carry no extractor (a channel id label would let forged strays mint series)."
  }

  assert {
    # monitoring.tf spells the names out so that the metrics need not wait
    # for the functions: they must still be the deployed ones.
    condition = (
      strcontains(google_logging_metric.this["renew_passes"].filter, "service_name=\"${google_cloudfunctions2_function.watcher["renew"].name}\"") &&
      strcontains(google_logging_metric.this["strays"].filter, "service_name=\"${google_cloudfunctions2_function.receive.name}\"") &&
      strcontains(google_logging_metric.this["sync_failures"].filter, "service_name=\"${google_cloudfunctions2_function.watcher["sync"].name}\"") &&
      strcontains(google_logging_metric.this["scheduler_failures"].filter, "job_id=\"${google_cloud_scheduler_job.renew.name}\"")
    )
    error_message = "The metrics must name the functions' services and the scheduler job that the module deploys."
  }
}

run "policies" {
  assert {
    condition     = toset(keys(google_monitoring_alert_policy.this)) == toset(["watch_ended", "channel_lapsed", "renew_pass_error", "renew_left_work", "receive_refused", "strays", "sync_failed", "sync_dead_letters"])
    error_message = "Eight policies are one threshold over a count (monitoring.tf's threshold_policies); renew_not_run and receive_5xx, of other shapes, make ten."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["sync_failed"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-sync-failures\" AND resource.type=\"cloud_run_revision\"" &&
      google_monitoring_alert_policy.this["sync_failed"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.this["sync_failed"].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT" &&
      google_monitoring_alert_policy.this["sync_failed"].conditions[0].condition_threshold[0].aggregations[0].group_by_fields == tolist(["metric.label.kind"]) &&
      google_monitoring_alert_policy.this["sync_failed"].severity == "ERROR"
    )
    error_message = "Sync fails: any \"sync failed\" line opens an incident per kind."
  }

  assert {
    # A gauge: the backlog's largest value in the window, above 0.
    condition = (
      google_monitoring_alert_policy.this["sync_dead_letters"].conditions[0].condition_threshold[0].filter == "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"watchrelay-sync-dead-letter\"" &&
      google_monitoring_alert_policy.this["sync_dead_letters"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.this["sync_dead_letters"].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT" &&
      google_monitoring_alert_policy.this["sync_dead_letters"].conditions[0].condition_threshold[0].aggregations[0].per_series_aligner == "ALIGN_MAX" &&
      google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].aggregations[0].per_series_aligner == "ALIGN_SUM"
    )
    error_message = "Sync's dead letters: the dead-letter subscription holding any message opens an incident."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-watches-ended\" AND resource.type=\"cloud_run_revision\"" &&
      google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].aggregations[0].group_by_fields == tolist(["metric.label.state", "metric.label.kind"]) &&
      google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT"
    )
    error_message = "A watch failed or gone: any watch ended opens an incident per state and kind."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["channel_lapsed"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-lifecycle-events\" AND resource.type=\"cloud_run_revision\" AND metric.label.type=\"watchrelay.watch.lapsed.v1\"" &&
      google_monitoring_alert_policy.this["channel_lapsed"].conditions[0].condition_threshold[0].threshold_value == 0
    )
    error_message = "A channel lapsed: any lapsed.v1 event opens an incident."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["renew_pass_error"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-renew-pass-errors\" AND resource.type=\"cloud_run_revision\"" &&
      google_monitoring_alert_policy.this["renew_pass_error"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      # One and a half 10-minute periods: a failure at every pass keeps one incident open.
      google_monitoring_alert_policy.this["renew_pass_error"].conditions[0].condition_threshold[0].aggregations[0].alignment_period == "900s"
    )
    error_message = "A pass that could not run opens an incident, summed over one and a half schedule periods."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-renew-passes-left-work\" AND resource.type=\"cloud_run_revision\"" &&
      # At least 3 passes in 35 minutes, 3.5 periods of 10.
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT" &&
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].threshold_value == 2 &&
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].aggregations[0].alignment_period == "2100s" &&
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].aggregations[0].per_series_aligner == "ALIGN_SUM"
    )
    error_message = "Passes leaving work: 3 passes with remaining > 0 within 35 minutes (3.5 periods of 10 minutes)."
  }

  assert {
    condition = (
      length(google_monitoring_alert_policy.renew_not_run.conditions) == 2 &&
      google_monitoring_alert_policy.renew_not_run.combiner == "OR" &&
      google_monitoring_alert_policy.renew_not_run.conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-scheduler-failures\" AND resource.type=\"cloud_scheduler_job\"" &&
      google_monitoring_alert_policy.renew_not_run.conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.renew_not_run.conditions[1].condition_absent[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-renew-passes\" AND resource.type=\"cloud_run_revision\"" &&
      google_monitoring_alert_policy.renew_not_run.conditions[1].condition_absent[0].duration == "2100s" &&
      google_monitoring_alert_policy.renew_not_run.conditions[1].condition_absent[0].aggregations[0].cross_series_reducer == "REDUCE_SUM"
    )
    error_message = "Renew not run: the scheduler job failing, or no completed pass in 35 minutes (over all revisions at once)."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.receive_5xx.conditions[0].condition_threshold[0].filter == "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"watchrelay-receive\" AND metric.label.response_code_class=\"5xx\"" &&
      google_monitoring_alert_policy.receive_5xx.conditions[0].condition_threshold[0].denominator_filter == "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"watchrelay-receive\"" &&
      google_monitoring_alert_policy.receive_5xx.conditions[0].condition_threshold[0].threshold_value == 0.05 &&
      google_monitoring_alert_policy.receive_5xx.conditions[0].condition_threshold[0].duration == "600s"
    )
    error_message = "Receive's 5xx ratio: 5xx responses over all of Receive's, above 5% for 10 minutes."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["receive_refused"].conditions[0].condition_threshold[0].filter == "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"watchrelay-receive\" AND metric.label.response_code=\"429\"" &&
      google_monitoring_alert_policy.this["receive_refused"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.this["receive_refused"].severity == "CRITICAL"
    )
    error_message = "Any 429 Cloud Run answers for Receive is a lost notification (Google does not retry it): critical."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["strays"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/watchrelay-strays\" AND resource.type=\"cloud_run_revision\"" &&
      google_monitoring_alert_policy.this["strays"].conditions[0].condition_threshold[0].threshold_value == 0 &&
      google_monitoring_alert_policy.this["strays"].conditions[0].condition_threshold[0].aggregations[0].alignment_period == "3600s"
    )
    error_message = "Strays: any stray in an hour opens an incident by default."
  }

  assert {
    condition = alltrue([for p in concat(values(google_monitoring_alert_policy.this), [google_monitoring_alert_policy.renew_not_run, google_monitoring_alert_policy.receive_5xx]) : (
      startswith(p.display_name, "watchrelay: ") && p.combiner == "OR" && p.project == "demo-project" &&
      p.documentation[0].mime_type == "text/markdown" &&
      length(p.documentation[0].subject) > 0 && length(p.documentation[0].subject) <= 255 &&
      strcontains(p.documentation[0].content, "**What to do**") &&
      length(p.documentation[0].content) < 10240 &&
      length(p.notification_channels) == 0 &&
      p.user_labels == tomap({ app = "watchrelay" })
    )])
    error_message = "Every policy is named for the deployment, carries a runbook (what it means, what to do) and, with no channel given, notifies nobody."
  }

  assert {
    # Each runbook names the commands that act on what it reports.
    condition = (
      strcontains(google_monitoring_alert_policy.this["watch_ended"].documentation[0].content, "`watchrelay watch retry ID`") &&
      strcontains(google_monitoring_alert_policy.this["watch_ended"].documentation[0].content, "`watchrelay status`") &&
      strcontains(google_monitoring_alert_policy.this["watch_ended"].documentation[0].content, "shared with `watchrelay-renew@demo-project.iam.gserviceaccount.com`") &&
      strcontains(google_monitoring_alert_policy.this["watch_ended"].documentation[0].content, ".renew.unique_id") &&
      strcontains(google_monitoring_alert_policy.this["watch_ended"].documentation[0].content, "$${metric.label.kind}") &&
      strcontains(google_monitoring_alert_policy.this["renew_pass_error"].documentation[0].content, "gcloud scheduler jobs run watchrelay-renew --location=us-central1 --project=demo-project") &&
      strcontains(google_monitoring_alert_policy.renew_not_run.documentation[0].content, "`watchrelay-scheduler@demo-project.iam.gserviceaccount.com` lost `roles/run.invoker`") &&
      strcontains(google_monitoring_alert_policy.receive_5xx.documentation[0].content, "`roles/pubsub.publisher` on the topic `watchrelay-events`") &&
      strcontains(google_monitoring_alert_policy.this["receive_refused"].documentation[0].content, "`receive_max_instances`") &&
      strcontains(google_monitoring_alert_policy.this["strays"].documentation[0].content, "`watchrelay channel stop --kind K --id CHANNEL --resource-id R [--subject S]`") &&
      strcontains(google_monitoring_alert_policy.this["sync_failed"].documentation[0].content, ".renew.unique_id") &&
      strcontains(google_monitoring_alert_policy.this["sync_failed"].documentation[0].content, "shared with `watchrelay-renew@demo-project.iam.gserviceaccount.com`") &&
      !strcontains(google_monitoring_alert_policy.this["sync_failed"].documentation[0].content, "watchrelay-sync@") &&
      !strcontains(google_monitoring_alert_policy.this["sync_failed"].documentation[0].content, ".sync.unique_id") &&
      strcontains(google_monitoring_alert_policy.this["sync_dead_letters"].documentation[0].content, "gcloud pubsub subscriptions pull watchrelay-sync-dead-letter --project=demo-project") &&
      strcontains(google_monitoring_alert_policy.this["sync_dead_letters"].documentation[0].content, "gcloud pubsub subscriptions seek watchrelay-sync --time=T --project=demo-project")
    )
    error_message = "The runbooks must name the commands, accounts and grants that fix what they report."
  }

  assert {
    # Each policy links the log lines behind it, in the Logs Explorer.
    condition     = alltrue([for p in concat([for k, p in google_monitoring_alert_policy.this : p if k != "receive_refused"], [google_monitoring_alert_policy.renew_not_run, google_monitoring_alert_policy.receive_5xx]) : startswith(p.documentation[0].links[0].url, "https://console.cloud.google.com/logs/query;query=resource.type%3D%22") && endswith(p.documentation[0].links[0].url, "?project=demo-project") && !strcontains(p.documentation[0].links[0].url, "+")])
    error_message = "Every policy over log lines must link them in the Logs Explorer (spaces as %20)."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.this["watch_ended"].alert_strategy[0].auto_close == "604800s" &&
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].evaluation_missing_data == "EVALUATION_MISSING_DATA_INACTIVE" &&
      google_monitoring_alert_policy.this["renew_pass_error"].conditions[0].condition_threshold[0].evaluation_missing_data == "EVALUATION_MISSING_DATA_INACTIVE"
    )
    error_message = "A failed watch's incident stays open for a week; trends close once their lines stop."
  }

  assert {
    condition     = length(google_monitoring_notification_channel.email) == 0
    error_message = "No alert_emails, no channel: incidents open in the console only."
  }
}

run "notification_channels" {
  variables {
    alert_emails                = ["ops@example.com", "oncall@example.com"]
    alert_notification_channels = ["projects/demo-project/notificationChannels/42"]
  }

  assert {
    condition = (
      toset(keys(google_monitoring_notification_channel.email)) == toset(["ops@example.com", "oncall@example.com"]) &&
      alltrue([for addr, c in google_monitoring_notification_channel.email : c.type == "email" && c.labels["email_address"] == addr && c.project == "demo-project"])
    )
    error_message = "Each address in alert_emails gets an email channel of its own."
  }

  assert {
    condition = alltrue([for p in concat(values(google_monitoring_alert_policy.this), [google_monitoring_alert_policy.renew_not_run, google_monitoring_alert_policy.receive_5xx]) : p.notification_channels == tolist([
      google_monitoring_notification_channel.email["oncall@example.com"].name,
      google_monitoring_notification_channel.email["ops@example.com"].name,
      "projects/demo-project/notificationChannels/42",
    ])])
    error_message = "Every policy notifies every email channel and every channel given in alert_notification_channels."
  }
}

run "thresholds" {
  # A pass every 5 minutes, and the variables changed.
  variables {
    renew_schedule          = "*/5 * * * *"
    renew_before            = "30m"
    alert_renew_passes      = 4
    alert_receive_5xx_ratio = 0.2
    alert_strays_per_hour   = 50
  }

  assert {
    condition = (
      # 4.5 periods of 300 s, rounded up to whole minutes.
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].aggregations[0].alignment_period == "1380s" &&
      google_monitoring_alert_policy.this["renew_left_work"].conditions[0].condition_threshold[0].threshold_value == 3 &&
      google_monitoring_alert_policy.renew_not_run.conditions[1].condition_absent[0].duration == "1380s" &&
      # 1.5 periods, rounded up.
      google_monitoring_alert_policy.this["renew_pass_error"].conditions[0].condition_threshold[0].aggregations[0].alignment_period == "480s"
    )
    error_message = "The Renew windows must follow the schedule's period and alert_renew_passes."
  }

  assert {
    condition = (
      google_monitoring_alert_policy.receive_5xx.conditions[0].condition_threshold[0].threshold_value == 0.2 &&
      strcontains(google_monitoring_alert_policy.receive_5xx.conditions[0].display_name, "More than 20%") &&
      google_monitoring_alert_policy.this["strays"].conditions[0].condition_threshold[0].threshold_value == 50
    )
    error_message = "alert_receive_5xx_ratio and alert_strays_per_hour must reach their policies."
  }
}

run "long_schedule" {
  # A pass a day: the trend window is capped at 23.5 hours, Monitoring's
  # longest absence.
  variables {
    renew_schedule = "0 0 * * *"
    renew_interval = "24h"
    renew_before   = "5h"
  }
  command = plan

  assert {
    condition     = google_monitoring_alert_policy.renew_not_run.conditions[1].condition_absent[0].duration == "84600s"
    error_message = "An absence may last at most 23.5 hours."
  }
}

run "named_deployment" {
  # A second copy in the same project gets metrics and policies of its own.
  variables {
    name = "relay-two"
  }

  assert {
    condition = (
      google_logging_metric.this["strays"].name == "relay-two-strays" &&
      strcontains(google_logging_metric.this["strays"].filter, "service_name=\"relay-two-receive\"") &&
      google_monitoring_alert_policy.this["strays"].conditions[0].condition_threshold[0].filter == "metric.type=\"logging.googleapis.com/user/relay-two-strays\" AND resource.type=\"cloud_run_revision\"" &&
      startswith(google_monitoring_alert_policy.this["strays"].display_name, "relay-two: ") &&
      strcontains(google_logging_metric.this["strays"].filter, "service_name=\"${google_cloudfunctions2_function.receive.name}\"")
    )
    error_message = "Metric names, filters and policy names must follow var.name."
  }
}

run "smoke_ids_left_out" {
  # scripts/smoke.sh (smoke-path.sh) names its channel and watch smoke-<random>: the lines
  # its run may cause count in no metric an alert watches, so no alert
  # fires because of it; every other channel and watch still counts.
  command = plan

  assert {
    condition = alltrue([for k, field in { strays = "channel", sync_failures = "watch", sync_resyncs = "watch" } :
      endswith(google_logging_metric.this[k].filter, " AND NOT jsonPayload.${field}=~\"^smoke-\"")
    ])
    error_message = "The strays, sync-failure and resync metrics must leave out lines whose channel or watch begins smoke- (scripts/smoke.sh's ids)."
  }

  assert {
    # The prefix is the one the script draws its ids under, and the one the
    # lines name: Receive logs a stray's channel, Sync the watch it skips.
    condition = alltrue([
      strcontains(file("../scripts/smoke-path.sh"), "channel=${regex("jsonPayload\\.channel=~\"\\^([^\"]+)\"", google_logging_metric.this["strays"].filter)[0]}$suffix"),
      strcontains(file("../scripts/smoke-path.sh"), "--watch \"$channel\""),
      strcontains(file("../receive/handler.go"), "\"channel\", n.ChannelID"),
    ])
    error_message = "scripts/smoke-path.sh must name its channel and watch smoke-<suffix>, the prefix monitoring.tf leaves out."
  }

  assert {
    # An id that merely holds "smoke" elsewhere still counts.
    condition     = !can(regex("=~\"smoke", google_logging_metric.this["strays"].filter))
    error_message = "The exclusion must be anchored at the id's start."
  }
}

run "dashboard" {
  assert {
    condition = [for t in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles : t.widget.title] == [
      "About",
      "Notifications per second, by status class (Receive)",
      "Receive latency (p50, p99)",
      "Lifecycle events per second, by type",
      "Renewals per Renew period, by kind",
      "Lapses per Renew period, by kind",
      "Watches ended (failed, gone) per Renew period, by kind",
      "Renew passes per Renew period",
      "Stray notifications per second (Receive)",
      "Receive instances",
      "Sync requests per second, by status class",
      "Sync failures and resyncs per 5 minutes, by kind",
      "Sync's dead letters (undelivered messages)",
      "Open incidents of watchrelay's alert policies",
      "Warnings and errors of Receive, Renew, Sync and the scheduler job",
    ]
    error_message = "The dashboard shows notifications by status, lifecycle events by type, renewals, lapses, failures, passes, strays, instances, Sync's requests, failures and dead letters, incidents and logs, in that order."
  }

  assert {
    # Notifications per second by status class: Receive's request count.
    condition = (
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[1].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"watchrelay-receive\"" &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[1].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation.perSeriesAligner == "ALIGN_RATE" &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[1].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation.groupByFields == ["metric.label.response_code_class"]
    )
    error_message = "Notifications per second must be Receive's request rate by response code class."
  }

  assert {
    # Lifecycle events by type; renewals, lapses and failures by kind.
    condition = (
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[3].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == "metric.type=\"logging.googleapis.com/user/watchrelay-lifecycle-events\" AND resource.type=\"cloud_run_revision\"" &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[3].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation.groupByFields == ["metric.label.type"] &&
      endswith(jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[4].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter, "metric.label.type=\"watchrelay.watch.renewed.v1\"") &&
      endswith(jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[5].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter, "metric.label.type=\"watchrelay.watch.lapsed.v1\"") &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[6].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == google_monitoring_alert_policy.this["watch_ended"].conditions[0].condition_threshold[0].filter &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[4].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.aggregation.alignmentPeriod == "600s"
    )
    error_message = "Lifecycle events must be charted by type, and renewals, lapses and ended watches per Renew period."
  }

  assert {
    condition = [for d in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[7].widget.xyChart.dataSets : d.timeSeriesQuery.timeSeriesFilter.filter] == [
      "metric.type=\"logging.googleapis.com/user/watchrelay-renew-passes\" AND resource.type=\"cloud_run_revision\"",
      "metric.type=\"logging.googleapis.com/user/watchrelay-renew-passes-left-work\" AND resource.type=\"cloud_run_revision\"",
      "metric.type=\"logging.googleapis.com/user/watchrelay-renew-pass-errors\" AND resource.type=\"cloud_run_revision\"",
      "metric.type=\"logging.googleapis.com/user/watchrelay-scheduler-failures\" AND resource.type=\"cloud_scheduler_job\"",
    ]
    error_message = "The passes chart must show passes completed, leaving work, failed, and the scheduler's failed attempts."
  }

  assert {
    condition = (
      length(jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[13].widget.incidentList.policyNames) == 10 &&
      alltrue([for n in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[13].widget.incidentList.policyNames : can(regex("^alertPolicies/[^/]+$", n))]) &&
      strcontains(jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[14].widget.logsPanel.filter, "severity>=WARNING") &&
      strcontains(jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[14].widget.logsPanel.filter, "service_name=\"watchrelay-sync\"")
    )
    error_message = "The dashboard lists the incidents of all 10 policies (alertPolicies/ID, without the project) and the functions' warnings, Sync's included."
  }

  assert {
    condition = (
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[10].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"watchrelay-sync\"" &&
      [for d in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[11].widget.xyChart.dataSets : d.timeSeriesQuery.timeSeriesFilter.filter] == [
        "metric.type=\"logging.googleapis.com/user/watchrelay-sync-failures\" AND resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/watchrelay-sync-resyncs\" AND resource.type=\"cloud_run_revision\"",
      ] &&
      jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles[12].widget.xyChart.dataSets[0].timeSeriesQuery.timeSeriesFilter.filter == google_monitoring_alert_policy.this["sync_dead_letters"].conditions[0].condition_threshold[0].filter
    )
    error_message = "Sync's tiles chart its request rate, its failures and resyncs, and its dead-letter backlog."
  }

  assert {
    # Tiles fit the 48-column grid and never overlap.
    condition = alltrue(flatten([
      for i, a in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles : concat([a.xPos >= 0 && a.xPos + a.width <= 48], [
        for j, b in jsondecode(google_monitoring_dashboard.this.dashboard_json).mosaicLayout.tiles :
        i == j || a.xPos + a.width <= b.xPos || b.xPos + b.width <= a.xPos || a.yPos + a.height <= b.yPos || b.yPos + b.height <= a.yPos
      ])
    ]))
    error_message = "Dashboard tiles must fit 48 columns without overlapping."
  }
}

run "bad_alert_email" {
  command = plan
  variables {
    alert_emails = ["ops at example.com"]
  }
  expect_failures = [var.alert_emails]
}

run "bad_notification_channel" {
  command = plan
  variables {
    alert_notification_channels = ["slack-ops"]
  }
  expect_failures = [var.alert_notification_channels]
}

run "bad_5xx_ratio" {
  command = plan
  variables {
    alert_receive_5xx_ratio = 5
  }
  expect_failures = [var.alert_receive_5xx_ratio]
}

run "bad_renew_passes" {
  command = plan
  variables {
    alert_renew_passes = 0
  }
  expect_failures = [var.alert_renew_passes]
}

run "bad_strays_per_hour" {
  command = plan
  variables {
    alert_strays_per_hour = 0.5
  }
  expect_failures = [var.alert_strays_per_hour]
}
