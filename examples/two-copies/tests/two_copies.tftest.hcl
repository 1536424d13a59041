# Two copies in one project, against mock providers: what each tells its
# callers differs. The full check, every name of every resource of both
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
  # Applied to the mocks, so that the URLs in cli_env are known.
  command = apply

  assert {
    condition = (
      output.staging.database == "relay-staging" && output.production.database == "relay-production" &&
      output.staging.topic_name == "relay-staging-events" && output.production.topic_name == "relay-production-events" &&
      strcontains(output.staging.cli_env, "WATCHRELAY_DATABASE='relay-staging'") &&
      strcontains(output.production.cli_env, "WATCHRELAY_DATABASE='relay-production'")
    )
    error_message = "Staging and production must each have their own topic and database, and each CLI setting must point at its own."
  }
}
