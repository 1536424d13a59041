# Replay (`watchrelay replay`, docs/cli.md "Replay") seeks a subscription back in
# time: Pub/Sub must have kept the messages, through the topic's retention
# or the subscription's own.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id           = "demo-project"
  source_zip           = "tests/fixtures/source-v1.zip"
  example_subscription = true
}

run "seven_days_by_default" {
  command = plan

  assert {
    condition     = google_pubsub_topic.events.message_retention_duration == "604800s"
    error_message = "The topic must keep events for 7 days by default, so a week can be replayed."
  }

  assert {
    condition     = google_pubsub_subscription.example[0].retain_acked_messages == false && google_pubsub_subscription.example[0].message_retention_duration == "604800s"
    error_message = "With the topic keeping 7 days, the example subscription needs no copy of its own."
  }
}

run "short_topic_retention" {
  command = plan
  variables {
    topic_message_retention = "3600s"
  }

  assert {
    condition     = google_pubsub_topic.events.message_retention_duration == "3600s" && google_pubsub_subscription.example[0].retain_acked_messages == true
    error_message = "A topic keeping less than 7 days must leave the example subscription keeping acknowledged messages, so it can still be replayed a week back."
  }
}

run "no_topic_retention" {
  command = plan
  variables {
    topic_message_retention = null
  }

  assert {
    condition     = google_pubsub_topic.events.message_retention_duration == null && google_pubsub_subscription.example[0].retain_acked_messages == true
    error_message = "With no topic retention, only the subscription's own can serve a replay."
  }
}

run "retention_in_days_refused" {
  command = plan
  variables {
    topic_message_retention = "7d"
  }
  expect_failures = [var.topic_message_retention]
}

run "retention_over_31_days_refused" {
  command = plan
  variables {
    topic_message_retention = "2678401s"
  }
  expect_failures = [var.topic_message_retention]
}
