# Bad input is refused at plan time, with the variable named.

mock_provider "google" {
  source = "./tests/mocks"
}

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
