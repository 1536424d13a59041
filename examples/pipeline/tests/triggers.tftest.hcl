# The pipeline's guarantees, on a mock provider (nothing reaches Google):
# the plan trigger's account can change nothing, the apply trigger builds
# main only and waits for an approver, and each trigger's account is set on
# the trigger. The two accounts have distinct ids and members, as in a real
# project, so swapping them fails these.

mock_provider "google" {}

# The API wait (time_sleep.apis) would otherwise sleep for real.
mock_provider "time" {}

override_resource {
  target = google_service_account.plan
  values = {
    id     = "projects/demo-project/serviceAccounts/watchrelay-plan@demo-project.iam.gserviceaccount.com"
    email  = "watchrelay-plan@demo-project.iam.gserviceaccount.com"
    member = "serviceAccount:watchrelay-plan@demo-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.deploy
  values = {
    id     = "projects/demo-project/serviceAccounts/watchrelay-deploy@demo-project.iam.gserviceaccount.com"
    email  = "watchrelay-deploy@demo-project.iam.gserviceaccount.com"
    member = "serviceAccount:watchrelay-deploy@demo-project.iam.gserviceaccount.com"
  }
}

variables {
  project_id   = "demo-project"
  state_bucket = "demo-state"
  github       = { owner = "example", name = "watchrelay" }
  approvers    = ["group:release@example.com"]
}

run "plan_trigger_is_read_only" {
  assert {
    condition     = google_cloudbuild_trigger.this["plan"].github[0].push[0].branch == ".*" && google_cloudbuild_trigger.this["plan"].filename == "cloudbuild.yaml"
    error_message = "The plan trigger must run cloudbuild.yaml on every branch."
  }

  assert {
    condition     = google_cloudbuild_trigger.this["plan"].service_account == google_service_account.plan.id && google_service_account.plan.id != google_service_account.deploy.id
    error_message = "The plan trigger must run as the plan account, set on the trigger."
  }

  assert {
    # Read-only predefined roles end in viewer, reader or securityReviewer.
    # Not roles/logging.logWriter: a branch could write the log lines the
    # alerts count.
    condition = alltrue([
      for g in values(google_project_iam_member.plan) :
      can(regex("^roles/[a-zA-Z]+\\.([a-zA-Z]*[vV]iewer|reader|securityReviewer)$", g.role))
    ])
    error_message = "The plan account may hold only read-only roles on the project."
  }

  assert {
    # Its one writer's role is on the bucket cloudbuild.yaml sends its log
    # to, which this root makes.
    condition = (
      google_storage_bucket_iam_member.plan_logs_writer.member == google_service_account.plan.member &&
      google_storage_bucket_iam_member.plan_logs_writer.bucket == google_storage_bucket.plan_logs.name &&
      "gs://${google_storage_bucket.plan_logs.name}" == yamldecode(file("../../cloudbuild.yaml")).logsBucket &&
      yamldecode(file("../../cloudbuild.yaml")).options.logging == "GCS_ONLY" &&
      google_storage_bucket.plan_logs.public_access_prevention == "enforced"
    )
    error_message = "The plan build logs to its own bucket (GCS_ONLY, logsBucket), the only place the plan account writes."
  }

  assert {
    condition = alltrue([
      for g in concat(values(google_project_iam_member.plan), [google_project_iam_member.plan_source_reader, google_storage_bucket_iam_member.plan_state_reader]) :
      g.member == google_service_account.plan.member
    ]) && google_project_iam_member.plan_source_reader.role == "roles/storage.objectViewer" && google_storage_bucket_iam_member.plan_state_reader.role == "roles/storage.objectViewer"
    error_message = "The plan account reads objects, it does not write them."
  }

  assert {
    condition     = google_project_iam_member.plan["roles/datastore.viewer"].condition[0].expression == "resource.name == \"projects/demo-project/databases/(default)\"" && alltrue([for r, g in google_project_iam_member.plan : length(g.condition) == 0 if r != "roles/datastore.viewer"])
    error_message = "The plan account reads the deployments' Firestore databases only, not the project's others."
  }

  assert {
    condition = (
      toset(google_project_iam_custom_role.plan_metrics.permissions) == toset(["logging.logMetrics.get", "logging.logMetrics.list"]) &&
      google_project_iam_member.plan_metrics.role == "projects/demo-project/roles/watchrelay_planMetrics" &&
      google_project_iam_member.plan_metrics.member == google_service_account.plan.member &&
      !contains([for g in values(google_project_iam_member.plan) : g.role], "roles/logging.viewer")
    )
    error_message = "The plan account reads the log-based metrics through its custom role, not the logs (roles/logging.viewer)."
  }

  assert {
    condition     = google_project_iam_member.plan_source_reader.condition[0].expression == "resource.name.startsWith(\"projects/_/buckets/demo-project-watchrelay\")"
    error_message = "The plan account reads objects of the deployments' source buckets only."
  }
}

run "apis_then_a_wait" {
  command = plan

  assert {
    # The wait's triggers are every enablement, so it starts after the last
    # of them. That the accounts, grants, bucket and triggers come after the
    # wait, and nothing but it after the enablement, scripts/plancheck
    # checks in the real plan's configuration (depends_on is not visible
    # to a test).
    condition = (
      keys(time_sleep.apis.triggers) == sort(keys(google_project_service.pipeline)) &&
      contains(keys(google_project_service.pipeline), "cloudresourcemanager.googleapis.com") &&
      time_sleep.apis.create_duration == "60s"
    )
    error_message = "time_sleep.apis must wait 60s after every API of google_project_service.pipeline, Resource Manager's among them (the project IAM grants)."
  }
}

run "apply_trigger_is_main_with_approval" {
  assert {
    condition     = google_cloudbuild_trigger.this["apply"].github[0].push[0].branch == "^main$" && google_cloudbuild_trigger.this["apply"].filename == "cloudbuild-apply.yaml"
    error_message = "The apply trigger must run cloudbuild-apply.yaml on main alone (^main$: main, not main-foo)."
  }

  assert {
    condition     = google_cloudbuild_trigger.this["apply"].approval_config[0].approval_required == true && google_cloudbuild_trigger.this["plan"].approval_config[0].approval_required == false
    error_message = "Every apply build must wait for an approver."
  }

  assert {
    condition     = google_cloudbuild_trigger.this["apply"].service_account == google_service_account.deploy.id
    error_message = "The apply trigger must run as the deploy account, set on the trigger."
  }

  assert {
    condition     = google_cloudbuild_trigger.this["apply"].substitutions["_DEPLOYER"] == google_service_account.deploy.member
    error_message = "The apply build passes its own account to the module as deployer, which grants it actAs on the module's accounts."
  }

  assert {
    condition     = !contains([for g in values(google_project_iam_member.deploy) : g.role], "roles/iam.serviceAccountUser")
    error_message = "The deploy account must not act as every account of the project: the module grants it actAs on its own accounts."
  }

  assert {
    condition     = [for g in values(google_project_iam_member.approver) : g.role] == ["roles/cloudbuild.builds.approver"]
    error_message = "The approvers get the approver role."
  }
}

run "second_gen_repository" {
  variables {
    github     = null
    repository = "projects/demo-project/locations/europe-west1/connections/github/repositories/watchrelay"
  }

  assert {
    condition = alltrue([
      for k, branch in { plan = ".*", apply = "^main$" } :
      google_cloudbuild_trigger.this[k].repository_event_config[0].push[0].branch == branch &&
      google_cloudbuild_trigger.this[k].location == "europe-west1" &&
      length(google_cloudbuild_trigger.this[k].github) == 0
    ])
    error_message = "A 2nd-gen repository gives triggers in its region, with the same branches."
  }
}

run "one_repository" {
  command = plan

  variables {
    repository = "projects/demo-project/locations/europe-west1/connections/github/repositories/watchrelay"
  }

  expect_failures = [google_cloudbuild_trigger.this]
}

run "named_databases" {
  command = plan

  variables {
    databases = ["(default)", "relay-staging"]
  }

  assert {
    condition     = google_project_iam_member.plan["roles/datastore.viewer"].condition[0].expression == "resource.name == \"projects/demo-project/databases/(default)\" || resource.name == \"projects/demo-project/databases/relay-staging\""
    error_message = "Each database of var.databases is one alternative of the reader's condition."
  }
}
