locals {
  # A 2nd-gen connection's triggers live in its region; a 1st-gen GitHub
  # trigger is global.
  location = var.repository == null ? "global" : regex("/locations/([^/]+)/", var.repository)[0]

  # What both builds are told; the account is the trigger's, below.
  substitutions = {
    _REGION          = var.region
    _TF_STATE_BUCKET = var.state_bucket
    _TF_STATE_PREFIX = var.state_prefix
    _DEPLOYER        = google_service_account.deploy.member
  }

  triggers = {
    plan = {
      description = "watchrelay: tests and terraform plan of every branch, read-only (cloudbuild.yaml)"
      branch      = ".*"
      filename    = "cloudbuild.yaml"
      account     = google_service_account.plan.id
      approval    = false
    }
    apply = {
      description = "watchrelay: terraform apply and smoke test of main, after approval (cloudbuild-apply.yaml)"
      branch      = "^main$"
      filename    = "cloudbuild-apply.yaml"
      account     = google_service_account.deploy.id
      approval    = true
    }
  }
}

resource "google_cloudbuild_trigger" "this" {
  for_each = local.triggers

  project         = var.project_id
  location        = local.location
  name            = "${var.name}-${each.key}"
  description     = each.value.description
  filename        = each.value.filename
  service_account = each.value.account
  substitutions   = local.substitutions

  # Held as pending until someone with roles/cloudbuild.builds.approver
  # approves it, also when the trigger is run by hand.
  approval_config {
    approval_required = each.value.approval
  }

  dynamic "github" {
    for_each = var.github == null ? [] : [var.github]
    content {
      owner = github.value.owner
      name  = github.value.name
      push {
        branch = each.value.branch
      }
    }
  }

  dynamic "repository_event_config" {
    for_each = var.repository == null ? [] : [var.repository]
    content {
      repository = repository_event_config.value
      push {
        branch = each.value.branch
      }
    }
  }

  lifecycle {
    precondition {
      condition     = (var.github == null) != (var.repository == null)
      error_message = "Give the repository as exactly one of github (1st gen) or repository (2nd gen)."
    }
  }

  depends_on = [
    time_sleep.apis,
    google_project_iam_member.plan,
    google_project_iam_member.plan_metrics,
    google_project_iam_member.deploy,
    google_storage_bucket_iam_member.plan_logs_writer,
  ]
}
