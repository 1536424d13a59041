# The root docs/deploy.md applies, against mock providers: it plans one
# copy named watchrelay with the (default) database, and adopts an existing
# (default) with import_database. scripts/terraform-check.sh runs it from a
# copy without the lock file (providers built from source do not match the
# registry's checksums).

mock_provider "google" {
  source = "../../terraform/tests/mocks"
}

# The module's waits (time_sleep) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "../../terraform/tests/fixtures/source-v1.zip"
}

run "first_copy" {
  command = plan

  assert {
    # What the plan knows of the outputs (the URLs come with the apply).
    condition = (
      output.database == "(default)" &&
      output.topic_name == "watchrelay-events" &&
      output.scheduler_job == "projects/demo-project/locations/us-central1/jobs/watchrelay-renew"
    )
    error_message = "The quickstart deploys the first copy: named watchrelay, on the project's (default) database, with the module's outputs passed through."
  }

  assert {
    condition     = length(local.adopted_databases) == 0
    error_message = "Without import_database, nothing is imported: the module creates the database."
  }
}

run "database_adopted" {
  # A state without the database, as after a destroy. The mock provider
  # cannot import, so this checks what the import block is given: the
  # project's (default) database, at the address the module creates it,
  # and nothing without import_database (the first_copy run). The import
  # itself is Terraform's; the address is checked by validate, which fails
  # on an import to a resource the module does not declare.
  command = plan
  variables {
    import_database = true
  }
  override_resource {
    target = module.watchrelay.google_firestore_database.this[0]
    values = {
      id = "projects/demo-project/databases/(default)"
    }
  }

  assert {
    condition     = local.adopted_databases == toset(["projects/demo-project/databases/(default)"])
    error_message = "import_database adopts the project's (default) database, the one the module then uses."
  }

  assert {
    condition     = output.database == "(default)"
    error_message = "An adopted database must be the one the module uses (its functions and the CLI read the database output's id)."
  }
}
