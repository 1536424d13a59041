# Two copies in one project, against mock providers: each has its own topic
# and database (what a plan knows of its outputs; terraform/tests/ checks
# that a copy's functions and CLI settings read its own). The full check, every name of every resource of both
# copies, is scripts/terraform-check.sh's plan of this root against the
# real provider (scripts/namecheck).

mock_provider "google" {
  source = "../../terraform/tests/mocks"
}

# The module's waits (time_sleep) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "../../terraform/tests/fixtures/source-v1.zip"
}

run "apart" {
  command = plan

  assert {
    condition = (
      output.staging.database == "relay-staging" && output.production.database == "relay-production" &&
      output.staging.topic_name == "relay-staging-events" && output.production.topic_name == "relay-production-events"
    )
    error_message = "Staging and production must each have their own topic and database."
  }
}

run "databases_adopted" {
  # After a destroy both databases are still there. The mock provider
  # cannot import: overrides stand for the databases found, and the plan
  # must keep each copy on its own.
  command = plan
  variables {
    import_databases = true
  }
  override_resource {
    target = module.staging.google_firestore_database.this[0]
    values = {
      id = "projects/demo-project/databases/relay-staging"
    }
  }
  override_resource {
    target = module.production.google_firestore_database.this[0]
    values = {
      id = "projects/demo-project/databases/relay-production"
    }
  }

  assert {
    condition     = output.staging.database == local.names.staging && output.production.database == local.names.production
    error_message = "Each adopted database must be its own copy's, named after it."
  }
}
