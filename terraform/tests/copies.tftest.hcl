# A second copy in the same project (issue 18): every name derives from
# name, and subscribers get their grant on this copy's topic only.
# scripts/terraform-check.sh plans examples/two-copies against the real
# provider and fails on any name two copies share; this file pins the rule
# itself, resource by resource.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id           = "demo-project"
  source_zip           = "tests/fixtures/source-v1.zip"
  name                 = "relay-two"
  example_subscription = true
  alert_emails         = ["ops@example.com"]
}

run "names_follow_name" {
  # Applied to the mocks: the dashboard's JSON names its alert policies,
  # known only once they exist.
  command = apply

  assert {
    condition = alltrue([for n in concat(
      [
        google_pubsub_topic.events.name,
        google_pubsub_topic.example_dead_letter[0].name,
        google_pubsub_subscription.example[0].name,
        google_pubsub_subscription.example_dead_letter[0].name,
        google_pubsub_topic.gmail[0].name,
        google_pubsub_topic.sync_dead_letter.name,
        google_pubsub_subscription.sync_dead_letter.name,
        google_cloud_scheduler_job.renew.name,
        google_cloudfunctions2_function.receive.name,
        google_artifact_registry_repository.functions.repository_id,
        google_firestore_database.this[0].name,
        google_monitoring_alert_policy.renew_not_run.display_name,
        google_monitoring_alert_policy.receive_5xx.display_name,
        jsondecode(google_monitoring_dashboard.this.dashboard_json).displayName,
        google_monitoring_notification_channel.email["ops@example.com"].display_name,
      ],
      [for s in values(google_pubsub_subscription.sync) : s.name],
      [for f in values(google_cloudfunctions2_function.watcher) : f.name],
      [for a in values(google_service_account.this) : a.account_id],
      [for m in values(google_logging_metric.this) : m.name],
      [for p in values(google_monitoring_alert_policy.this) : p.display_name],
    ) : startswith(n, "relay-two")]) && strcontains(google_storage_bucket.source.name, "-relay-two-")
    error_message = "Every resource name must start with name (the bucket's holds it after the project id), so that a second copy shares none with the first."
  }

  assert {
    condition     = google_pubsub_topic.events.name == "relay-two-events" && google_firestore_database.this[0].name == "relay-two"
    error_message = "A copy named relay-two must publish to relay-two-events and keep its data in the database relay-two."
  }

  assert {
    # Log-based metrics count this copy's lines only, or staging's
    # failures would open production's incidents: its functions' by their
    # service names, its scheduler job's by the job's id.
    condition = alltrue([for m in values(google_logging_metric.this) :
      length(regexall("(service_name=\"relay-two-(receive|renew|sync)\"|job_id=\"relay-two-renew\")", m.filter)) == 1 &&
      !strcontains(m.filter, "\"watchrelay-")
    ])
    error_message = "Every log-based metric must select the lines of this copy's functions or scheduler job, by their names."
  }
}

run "topic_name_overrides" {
  command = plan
  variables {
    topic_name = "events"
  }

  assert {
    condition     = google_pubsub_topic.events.name == "events" && google_pubsub_subscription.example[0].name == "events-example"
    error_message = "topic_name must name the topic and what derives from it."
  }
}

run "subscribers" {
  command = plan
  variables {
    subscribers = ["serviceAccount:reader@other-project.iam.gserviceaccount.com", "group:billing@example.com"]
  }

  assert {
    condition = (
      length(google_pubsub_topic_iam_member.subscriber) == 2 &&
      alltrue([for b in values(google_pubsub_topic_iam_member.subscriber) : b.role == "roles/pubsub.subscriber" && b.topic == "relay-two-events"]) &&
      google_pubsub_topic_iam_member.subscriber["group:billing@example.com"].member == "group:billing@example.com"
    )
    error_message = "Each subscriber must get roles/pubsub.subscriber on this copy's events topic, and on nothing else."
  }
}

run "no_subscribers" {
  command = plan
  variables {
    subscribers = []
  }

  assert {
    condition     = length(google_pubsub_topic_iam_member.subscriber) == 0
    error_message = "No subscriber is granted anything by default."
  }
}
