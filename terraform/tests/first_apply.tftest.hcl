# What a first apply in a real project needs (issue 12): the function builds
# wait for their account's grants to propagate, the providers are the tested
# majors, and an existing Firestore database is adopted rather than created
# again. The custom domain has tests/domain.tftest.hcl; the deployer roles
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
          google_pubsub_topic_iam_member.gmail_push_publisher,
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
      can(regex("source\\s*=\\s*\"hashicorp/google\"\\s*version\\s*=\\s*\"~> 8\\.0\"", file("versions.tf"))) &&
      can(regex("source\\s*=\\s*\"hashicorp/time\"\\s*version\\s*=\\s*\"~> 0\\.14\\.0\"", file("versions.tf")))
    )
    error_message = "The module must pin google to ~> 8.0 and time to ~> 0.14.0, the versions it is tested with, and the tests must run on them."
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

run "database_adopted" {
  # A state without the database, as after a destroy. The mock cannot
  # import: an override stands for the database found. The plan imports it
  # (an import block) and creates no other.
  command   = plan
  state_key = "adopted"
  variables {
    import_database    = true
    firestore_location = "eur3" # what the variables say; the database keeps its own
  }
  override_resource {
    target = google_firestore_database.this[0]
    values = {
      id = "projects/demo-project/databases/(default)"
    }
  }

  assert {
    condition = (
      length(google_firestore_database.this) == 1 &&
      google_firestore_database.this[0].name == "(default)" &&
      alltrue([for r in values(google_firestore_index.store) : r.database == "(default)"]) &&
      google_firestore_field.channels_delete_at.database == "(default)" &&
      google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_DATABASE"] == "(default)"
    )
    error_message = "An adopted database must be the one the indexes, the TTL policy and the functions use."
  }
}

run "database_adopted_named" {
  command   = plan
  state_key = "adopted_named"
  variables {
    import_database = true
    database_id     = "relay"
  }
  override_resource {
    target = google_firestore_database.this[0]
    values = {
      id = "projects/demo-project/databases/relay"
    }
  }

  assert {
    condition     = google_firestore_database.this[0].name == "relay" && google_firestore_field.channels_delete_at.database == "relay"
    error_message = "import_database must adopt database_id, whatever its name."
  }
}

run "import_without_create" {
  # The module leaves the database alone: importing it would do nothing,
  # which the check says.
  command = plan
  variables {
    create_database = false
    import_database = true
  }
  expect_failures = [check.import_database_needs_create_database]
}
