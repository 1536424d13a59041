# What a first apply in a real project needs (issue 12): the function builds
# wait for their account's grants to propagate, the providers are the tested
# majors, and the database is (default) for the first copy and a database
# of its own for any other (adopting an existing (default) is an import
# block of the root: examples/quickstart/tests). The custom domain has
# tests/domain.tftest.hcl; the deployer roles
# and the rest of the wait's ordering are checked over the real plan
# (scripts/terraform-check.sh, scripts/plancheck).

mock_provider "google" {
  source = "./tests/mocks"
}

mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "wait_follows_every_build_grant" {
  assert {
    # The mock gives every binding a distinct id: the wait's triggers are
    # exactly the bindings of the build account, whichever resource holds
    # them, so it starts after all of them and after nothing else.
    condition = toset(values(time_sleep.build_grants.triggers)) == toset([
      for b in concat(
        values(google_project_iam_member.datastore_user),
        values(google_pubsub_topic_iam_member.publisher),
        google_cloud_run_service_iam_member.public_receive,
        [
          google_service_account_iam_member.renew_token_creator,
          google_service_account_iam_member.push_token_creator,
          google_cloud_run_service_iam_member.watcher_invoker["renew"],
          google_cloud_run_service_iam_member.watcher_invoker["sync"],
          google_pubsub_topic_iam_member.sync_dead_letter_publisher,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"],
          google_pubsub_topic_iam_member.gmail_push_publisher[0],
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"],
          google_project_iam_member.build_log_writer,
          google_artifact_registry_repository_iam_member.build_writer,
          google_storage_bucket_iam_member.build_source_reader,
          google_project_iam_member.build_staging_reader,
        ],
      ) : b.id if b.member == google_service_account.this["build"].member
    ]) && length(time_sleep.build_grants.triggers) == 4
    error_message = "The wait must follow each of the build account's four grants, and no other binding."
  }

  assert {
    condition     = time_sleep.build_grants.create_duration == "120s"
    error_message = "By default the builds wait 120s, Google's usual propagation time, for their grants."
  }
}

# A plan targeted at one function holds that function and what it depends
# on, and nothing else: the wait is there only if the function waits for
# it. (Terraform warns that targeting is in effect: expected here. Were the
# wait left out, Terraform 1.11 fails the run with "no expansion has been
# registered for time_sleep.build_grants"; later versions fail the assert.)
run "receive_build_waits" {
  state_key = "receive_only"
  plan_options {
    target = [google_cloudfunctions2_function.receive]
  }

  assert {
    condition     = try(time_sleep.build_grants.create_duration == "120s", false)
    error_message = "Receive's build must depend on the IAM wait."
  }
}

# Renew and Sync are the instances of one resource, so they share its
# depends_on: the plan targets the resource, both builds. (Targeting one
# instance works in a real plan, but the test's evaluation after it fails
# on the other one's URL, local.renew_url or local.sync_url.) Renew's
# environment holds Receive's URL, so the wait would come in through
# Receive too: scripts/plancheck checks each function's own depends_on.
run "watcher_builds_wait" {
  state_key = "watchers_only"
  plan_options {
    target = [google_cloudfunctions2_function.watcher]
  }

  assert {
    condition     = try(time_sleep.build_grants.create_duration == "120s", false)
    error_message = "Renew's and Sync's builds (google_cloudfunctions2_function.watcher) must depend on the IAM wait."
  }
}

run "wait_variable" {
  command = plan
  variables {
    iam_propagation_wait = "7m"
  }

  assert {
    condition     = time_sleep.build_grants.create_duration == "7m"
    error_message = "iam_propagation_wait must reach the wait."
  }
}

run "wait_not_a_duration" {
  command = plan
  variables {
    iam_propagation_wait = "two minutes"
  }
  expect_failures = [var.iam_propagation_wait]
}

run "pinned_providers" {
  command = plan

  assert {
    # What init installed for these tests (a fresh lock file, or one
    # written by `terraform providers lock`), and what versions.tf allows,
    # for the two providers the module's resources use.
    condition = (
      startswith(google_cloudfunctions2_function.receive.name, var.name) && time_sleep.build_grants.create_duration != "" &&
      can(regex("provider \"registry.terraform.io/hashicorp/google\" \\{\\s*version\\s*=\\s*\"8\\.[0-9]+\\.[0-9]+\"", file(".terraform.lock.hcl"))) &&
      can(regex("provider \"registry.terraform.io/hashicorp/time\" \\{\\s*version\\s*=\\s*\"0\\.14\\.[0-9]+\"", file(".terraform.lock.hcl"))) &&
      can(regex("source\\s*=\\s*\"hashicorp/google\"\\s*version\\s*=\\s*\">= 8\\.0\"", file("versions.tf"))) &&
      can(regex("source\\s*=\\s*\"hashicorp/time\"\\s*version\\s*=\\s*\">= 0\\.14\"", file("versions.tf")))
    )
    error_message = "The module must ask for google >= 8.0 and time >= 0.14, the versions it is tested with (lower bounds only: the caller's root pins), and the tests must run on 8.x and 0.14.x."
  }
}

run "database_created" {
  command = plan

  assert {
    condition = (
      length(google_firestore_database.this) == 1 &&
      google_firestore_database.this[0].name == "(default)" &&
      google_firestore_database.this[0].deletion_policy == "ABANDON"
    )
    error_message = "By default the module creates (default), and a destroy leaves it: the next apply must then adopt it."
  }
}

run "second_copy_database" {
  # A copy with another name keeps its watches, channels, indexes and TTL
  # policies in a database of its own, which it creates: the project's
  # (default) stays the first copy's.
  command = plan
  variables {
    name = "relay-two"
  }

  assert {
    condition = (
      google_firestore_database.this[0].name == "relay-two" &&
      alltrue([for r in values(google_firestore_index.store) : r.database == "relay-two"]) &&
      google_firestore_field.channels_delete_at.database == "relay-two" &&
      google_firestore_field.strays_delete_at.database == "relay-two" &&
      alltrue([for f in concat([google_cloudfunctions2_function.receive], values(google_cloudfunctions2_function.watcher)) : f.service_config[0].environment_variables["WATCHRELAY_DATABASE"] == "relay-two"]) &&
      strcontains(output.cli_env, "export WATCHRELAY_DATABASE='relay-two'")
    )
    error_message = "A copy not named watchrelay must create, index and use a database named after it, and every function and the CLI must read that one."
  }
}

run "named_database" {
  # database_id wins over the rule, both ways.
  command = plan
  variables {
    name        = "relay-two"
    database_id = "(default)"
  }

  assert {
    condition     = google_firestore_database.this[0].name == "(default)" && google_firestore_field.channels_delete_at.database == "(default)"
    error_message = "database_id must name the database whatever name says."
  }
}

# --- The races of a first apply (issue 18) ---------------------------------------

# Resources wait after their APIs are enabled (apis.tf): the wait's triggers
# are exactly the enablements, so it starts after all of them, and it waits
# api_propagation_wait. scripts/plancheck checks over the real plan that
# nothing but the wait refers to the enablement, and terraform-check.sh that
# every google resource reaches the wait.
run "api_wait_follows_every_enablement" {
  command = plan

  assert {
    condition = (
      toset(keys(time_sleep.apis.triggers)) == toset(keys(google_project_service.enabled)) &&
      length(time_sleep.apis.triggers) == 19 &&
      time_sleep.apis.create_duration == "60s"
    )
    error_message = "The API wait must name every enablement and wait 60s by default."
  }
}

run "api_wait_variable" {
  command = plan
  variables {
    api_propagation_wait = "3m"
  }

  assert {
    condition     = time_sleep.apis.create_duration == "3m"
    error_message = "api_propagation_wait must reach the wait."
  }
}

# Nothing enabled, nothing to wait for.
run "api_wait_without_enablement" {
  command = plan
  variables {
    enable_apis = false
  }

  assert {
    condition     = length(time_sleep.apis.triggers) == 0 && time_sleep.apis.create_duration == "0s"
    error_message = "With enable_apis = false the API wait must wait nothing."
  }
}

# A plan targeted at a resource holds what it depends on: the API wait is
# there only if the resource waits for it. The events topic refers to no
# other google resource, so only its depends_on can bring the wait. (Were it
# left out, Terraform 1.11 fails the run with "no expansion has been
# registered for time_sleep.apis", as for the IAM wait above.)
run "events_topic_waits_for_apis" {
  command   = plan
  state_key = "topic_only"
  plan_options {
    target = [google_pubsub_topic.events]
  }

  assert {
    condition     = try(time_sleep.apis.create_duration == "60s", false)
    error_message = "The events topic must depend on the API wait."
  }
}

# The Pub/Sub service agent's grants follow the API wait: the agent is made
# when the Pub/Sub API is enabled, and google_project_service_identity,
# which would make it explicitly, is google-beta only (pubsub.tf).
run "service_agent_grants_wait_for_apis" {
  command   = plan
  state_key = "agent_only"
  plan_options {
    target = [google_pubsub_topic_iam_member.sync_dead_letter_publisher, google_pubsub_subscription_iam_member.sync_dead_letter_subscriber]
  }

  assert {
    condition     = try(time_sleep.apis.create_duration == "60s", false)
    error_message = "The Pub/Sub service agent's grants must come after the API wait."
  }
}

# The alert policies wait for the log-based metrics (monitoring.tf,
# hashicorp/terraform-provider-google#11102): the wait's triggers are exactly
# the metrics, so it starts after all of them.
run "metrics_wait_follows_every_metric" {
  command = plan

  assert {
    condition = (
      toset(keys(time_sleep.metrics.triggers)) == toset(keys(google_logging_metric.this)) &&
      length(time_sleep.metrics.triggers) > 0 &&
      time_sleep.metrics.create_duration == "10m"
    )
    error_message = "The metrics' wait must name every log-based metric and wait 10m (\"could take up to 10 minutes\") by default."
  }
}

run "metrics_wait_variable" {
  command = plan
  variables {
    metric_propagation_wait = "90s"
  }

  assert {
    condition     = time_sleep.metrics.create_duration == "90s"
    error_message = "metric_propagation_wait must reach the wait."
  }
}

# Each alert policy resource, targeted alone, brings the metrics' wait into
# the plan: it depends on it. receive_5xx watches a built-in metric and
# refers to no log-based one, so only its depends_on can bring the wait.
# (A policy that does not wait fails its run with "no expansion has been
# registered for time_sleep.metrics" on Terraform 1.11.)
run "threshold_alerts_wait_for_metrics" {
  command   = plan
  state_key = "alerts_only"
  plan_options {
    target = [google_monitoring_alert_policy.this]
  }

  assert {
    condition     = try(time_sleep.metrics.create_duration == "10m", false)
    error_message = "google_monitoring_alert_policy.this must depend on the metrics' wait."
  }
}

run "renew_alert_waits_for_metrics" {
  command   = plan
  state_key = "renew_alert_only"
  plan_options {
    target = [google_monitoring_alert_policy.renew_not_run]
  }

  assert {
    condition     = try(time_sleep.metrics.create_duration == "10m", false)
    error_message = "google_monitoring_alert_policy.renew_not_run must depend on the metrics' wait."
  }
}

run "receive_alert_waits_for_metrics" {
  command   = plan
  state_key = "receive_alert_only"
  plan_options {
    target = [google_monitoring_alert_policy.receive_5xx]
  }

  assert {
    condition     = try(time_sleep.metrics.create_duration == "10m", false)
    error_message = "google_monitoring_alert_policy.receive_5xx must depend on the metrics' wait."
  }
}
