# The deployer's actAs (deployer.tf): granted on each of the module's own
# accounts, not on the project, and in force before anything that needs it
# is created. The mock gives every binding a distinct id.

mock_provider "google" {
  source = "./tests/mocks"
}

mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
  deployer   = "serviceAccount:watchrelay-deploy@demo-project.iam.gserviceaccount.com"
}

run "acts_as_the_module_accounts_only" {
  assert {
    condition = {
      for k, g in google_service_account_iam_member.deployer_acts_as : k => [g.service_account_id, g.role, g.member]
      } == {
      for k, a in google_service_account.this : k => [a.name, "roles/iam.serviceAccountUser", var.deployer]
    }
    error_message = "The deployer must get roles/iam.serviceAccountUser on each of the module's accounts, and on nothing else."
  }

  assert {
    condition     = !contains(keys(output.deployer_roles), "roles/iam.serviceAccountUser") && !contains(output.cloud_build_roles, "roles/iam.serviceAccountUser")
    error_message = "With deployer set, no role list may ask for roles/iam.serviceAccountUser on the project."
  }

  assert {
    condition     = toset(values(time_sleep.deployer_grants[0].triggers)) == toset([for g in google_service_account_iam_member.deployer_acts_as : g.id]) && time_sleep.deployer_grants[0].create_duration == "120s"
    error_message = "The deployer's wait must follow each of its grants, for iam_propagation_wait."
  }
}

# Targeted plans hold the target and what it depends on: the wait is there
# only if the target waits for it. The scheduler job and the push
# subscriptions sign tokens as the module's accounts, through the functions
# they call.
run "function_builds_wait" {
  state_key = "receive_only"
  plan_options {
    target = [google_cloudfunctions2_function.receive]
  }

  assert {
    condition     = try(time_sleep.deployer_grants[0].create_duration == "120s", false)
    error_message = "Receive's creation must wait for the deployer's actAs."
  }
}

run "scheduler_job_waits" {
  state_key = "job_only"
  plan_options {
    target = [google_cloud_scheduler_job.renew]
  }

  assert {
    condition     = try(time_sleep.deployer_grants[0].create_duration == "120s", false)
    error_message = "The scheduler job (OIDC as the scheduler account) must wait for the deployer's actAs."
  }
}

run "push_subscriptions_wait" {
  state_key = "subscriptions_only"
  plan_options {
    target = [google_pubsub_subscription.sync]
  }

  assert {
    condition     = try(time_sleep.deployer_grants[0].create_duration == "120s", false)
    error_message = "Sync's push subscriptions (OIDC as the push account) must wait for the deployer's actAs."
  }
}

run "no_deployer" {
  command = plan
  variables {
    deployer = null
  }

  assert {
    condition     = length(google_service_account_iam_member.deployer_acts_as) == 0 && length(time_sleep.deployer_grants) == 0
    error_message = "Without deployer, no grant and no wait."
  }

  assert {
    condition     = contains(keys(output.deployer_roles), "roles/iam.serviceAccountUser")
    error_message = "Without deployer, whoever applies needs roles/iam.serviceAccountUser, and deployer_roles must say so."
  }
}

run "deployer_not_a_member" {
  command = plan
  variables {
    deployer = "watchrelay-deploy@demo-project.iam.gserviceaccount.com"
  }
  expect_failures = [var.deployer]
}
