# Bad input is refused at plan time, with the variable named.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "unknown_kind" {
  command = plan
  variables {
    watches = { w1 = { kind = "gmail.users", params = {} } }
  }
  expect_failures = [var.watches]
}

run "missing_param" {
  # calendar.events needs calendarId.
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.events" } }
  }
  expect_failures = [var.watches]
}

run "bad_watch_id" {
  command = plan
  variables {
    watches = { "has/slash" = { kind = "calendar.settings" } }
  }
  expect_failures = [var.watches]
}

run "http_address" {
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.settings", address = "http://example.com/hook" } }
  }
  expect_failures = [var.watches]
}

run "fractional_ttl" {
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.settings", ttl_seconds = 1.5 } }
  }
  expect_failures = [var.watches]
}

run "bad_project_id" {
  command = plan
  variables {
    project_id = "Demo Project"
  }
  expect_failures = [var.project_id]
}

run "bad_renew_before" {
  command = plan
  variables {
    renew_before = "ninety minutes"
  }
  expect_failures = [var.renew_before]
}

run "bad_renew_interval" {
  command = plan
  variables {
    renew_interval = "ten minutes"
  }
  expect_failures = [var.renew_interval]
}

run "zero_renew_interval" {
  # Renew checks its windows against the interval: none is a mistake.
  command = plan
  variables {
    renew_interval = "0m0s"
  }
  expect_failures = [var.renew_interval]
}

run "renew_interval_off_schedule" {
  # The default schedule runs every 10 minutes, not 15.
  command = plan
  variables {
    renew_interval = "15m"
  }
  expect_failures = [google_cloudfunctions2_function.watcher["renew"]]
}

run "schedule_without_a_plain_period" {
  # Weekdays at nine: no period to read, and renew_interval not given.
  command = plan
  variables {
    renew_schedule = "0 9 * * 1-5"
  }
  expect_failures = [google_cloudfunctions2_function.watcher["renew"]]
}

run "schedule_without_a_plain_period_given_its_interval" {
  # The same schedule with renew_interval set is taken on trust.
  command = plan
  variables {
    renew_schedule = "0 9 * * 1-5"
    renew_interval = "24h"
  }
}

run "renew_interval_off_hourly_schedule" {
  # Hourly, written as a minute of every hour.
  command = plan
  variables {
    renew_interval = "30m"
    renew_schedule = "5 * * * *"
  }
  expect_failures = [google_cloudfunctions2_function.watcher["renew"]]
}

run "renew_interval_matches_schedule" {
  # Every 2 hours is 2h, or 120m: any spelling of the same duration.
  command = plan
  variables {
    renew_before   = "5h"
    renew_interval = "1h60m"
    renew_schedule = "0 */2 * * *"
  }

  assert {
    condition     = google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_RENEW_INTERVAL"] == "1h60m"
    error_message = "renew_interval must reach Renew as given."
  }
}

run "irregular_schedule_on_trust" {
  # Twice an hour at :05 and :35 has no period the plan can read: the
  # interval is taken as given.
  command = plan
  variables {
    renew_interval = "30m"
    renew_schedule = "5,35 * * * *"
  }
}

run "ttl_under_two_passes" {
  # 90 s lives through no pass of the default 10 minutes.
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.settings", ttl_seconds = 90 } }
  }
  expect_failures = [terraform_data.watch_spec]
}

run "ttl_just_under_two_passes" {
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.settings", ttl_seconds = 1199 } }
  }
  expect_failures = [terraform_data.watch_spec]
}

run "ttl_two_passes" {
  # Exactly two passes of the default 10 minutes is enough.
  command = plan
  variables {
    watches = { w1 = { kind = "calendar.settings", ttl_seconds = 1200 } }
  }

  assert {
    condition     = length(google_firestore_document.watch) == 1
    error_message = "A ttl_seconds of two passes must be accepted."
  }
}

run "ttl_follows_renew_interval" {
  # With a pass every 30 minutes, the 1200 s that suffice by default
  # do not.
  command = plan
  variables {
    renew_interval = "30m"
    renew_schedule = "*/30 * * * *"
    watches        = { w1 = { kind = "calendar.settings", ttl_seconds = 1200 } }
  }
  expect_failures = [terraform_data.watch_spec]
}

run "ttl_shorter_interval" {
  # ... and with a pass every 5 minutes, 600 s do.
  command = plan
  variables {
    renew_interval = "5m"
    renew_schedule = "*/5 * * * *"
    watches        = { w1 = { kind = "calendar.settings", ttl_seconds = 600 } }
  }

  assert {
    condition     = length(google_firestore_document.watch) == 1
    error_message = "A ttl_seconds of two 5-minute passes must be accepted."
  }
}

run "bad_retention" {
  command = plan
  variables {
    topic_message_retention = "60s"
  }
  expect_failures = [var.topic_message_retention]
}

run "bad_delivery_attempts" {
  command = plan
  variables {
    example_max_delivery_attempts = 2
  }
  expect_failures = [var.example_max_delivery_attempts]
}

run "bad_schedule" {
  command = plan
  variables {
    renew_schedule = "every 10 minutes"
  }
  expect_failures = [var.renew_schedule]
}

run "attempt_deadline_too_short" {
  # Cloud Scheduler refuses HTTP attempt deadlines under 15s.
  command = plan
  variables {
    renew_attempt_deadline = "14s"
  }
  expect_failures = [var.renew_attempt_deadline]
}

run "attempt_deadline_too_long" {
  # ... and over 30 minutes.
  command = plan
  variables {
    renew_attempt_deadline = "1801s"
  }
  expect_failures = [var.renew_attempt_deadline]
}

run "attempt_deadline_not_seconds" {
  command = plan
  variables {
    renew_attempt_deadline = "5m"
  }
  expect_failures = [var.renew_attempt_deadline]
}

run "receive_concurrency_one" {
  # No slot would be left to answer 503 past the in-flight bound.
  command = plan
  variables {
    receive_concurrency = 1
  }
  expect_failures = [var.receive_concurrency]
}

run "receive_cpu_fraction" {
  # Concurrent requests need a whole CPU.
  command = plan
  variables {
    receive_cpu = "0.5"
  }
  expect_failures = [var.receive_cpu]
}

run "zero_receive_deadline" {
  command = plan
  variables {
    receive_deadline = "0s"
  }
  expect_failures = [var.receive_deadline]
}

run "receive_deadline_past_timeout" {
  # The platform would cut Receive off before its 503.
  command = plan
  variables {
    receive_deadline        = "1m"
    receive_timeout_seconds = 60
  }
  expect_failures = [google_cloudfunctions2_function.receive]
}

run "smallest_receive_concurrency" {
  # 2: one notification worked on, one slot to refuse the next.
  command = plan
  variables {
    receive_concurrency = 2
  }

  assert {
    condition     = google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_RECEIVE_MAX_IN_FLIGHT"] == "1"
    error_message = "receive_concurrency 2 must give an in-flight bound of 1."
  }
}

run "bad_database_id" {
  command = plan
  variables {
    database_id = "Bad_DB"
  }
  expect_failures = [var.database_id]
}

run "good_watches_plan" {
  # A valid declaration of every kind plans cleanly.
  command = plan
  variables {
    watches = {
      a = { kind = "calendar.events", params = { calendarId = "primary" } }
      b = { kind = "calendar.calendarList" }
      c = { kind = "calendar.acl", params = { calendarId = "primary" } }
      d = { kind = "calendar.settings" }
      e = { kind = "drive.files", params = { fileId = "f1" } }
      f = { kind = "drive.changes" }
      g = { kind = "admin.directory.users", params = { customer = "my_customer", event = "add" }, subject = "admin@example.com" }
      h = { kind = "admin.directory.aliases", params = { userKey = "u@example.com" }, subject = "admin@example.com" }
      i = { kind = "admin.reports.activities", params = { userKey = "all", applicationName = "drive" }, subject = "admin@example.com" }
    }
  }

  assert {
    condition     = length(google_firestore_document.watch) == 9
    error_message = "Every kind must be accepted."
  }
}

# --- A module others call (issue 18) ------------------------------------------

run "source_zip_missing" {
  # No default: the archive scripts/package.sh writes is git-ignored, so
  # a caller must say where it is, and a wrong path is named at once.
  command = plan
  variables {
    source_zip = "dist/no-such-function.zip"
  }
  expect_failures = [var.source_zip]
}

run "source_zip_not_a_zip" {
  command = plan
  variables {
    source_zip = "versions.tf"
  }
  expect_failures = [var.source_zip]
}

run "name_too_short" {
  # A copy's database is named after it, and a Firestore database id has
  # at least 4 characters.
  command = plan
  variables {
    name = "abc"
  }
  expect_failures = [var.name]
}

run "name_too_long" {
  # relay-staging-copies-x-scheduler would pass the 30 characters of a
  # service account id.
  command = plan
  variables {
    name = "relay-staging-copies-x"
  }
  expect_failures = [var.name]
}

run "longest_name" {
  # 20 characters: its longest account id, <name>-scheduler, is 30.
  command = plan
  variables {
    name = "relay-staging-copy-1"
  }
  assert {
    condition     = google_service_account.this["scheduler"].account_id == "relay-staging-copy-1-scheduler" && length(google_service_account.this["scheduler"].account_id) == 30
    error_message = "A 20-character name must fit every service account id."
  }
}

run "public_subscriber" {
  # Only Receive's invoker may be public (scripts/terraform-check.sh).
  command = plan
  variables {
    subscribers = ["allUsers"]
  }
  expect_failures = [var.subscribers]
}
