# The two accounts the triggers run as. Neither has a key; the admin who
# applies this root needs iam.serviceAccounts.actAs on both to set them on
# the triggers (Owner has it), and nobody else should hold
# roles/iam.serviceAccountUser on the project, which would let them run
# builds as the deploy account without the trigger and its approval.

resource "google_service_account" "plan" {
  project      = var.project_id
  account_id   = "${var.name}-plan"
  display_name = "${var.name} plan build"
  description  = "Runs cloudbuild.yaml on every branch: tests and terraform plan. Reads what the plan refreshes; writes only its build log, to its own bucket."

  depends_on = [time_sleep.apis]
}

resource "google_service_account" "deploy" {
  project      = var.project_id
  account_id   = "${var.name}-deploy"
  display_name = "${var.name} deploy build"
  description  = "Runs cloudbuild-apply.yaml on main after approval: terraform apply of examples/quickstart and the smoke test."

  depends_on = [time_sleep.apis]
}

resource "google_project_iam_member" "plan" {
  for_each = toset(local.plan_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.plan.member

  # Firestore has no per-collection IAM, and the project may hold other
  # applications' databases: the reader is narrowed to the deployments'
  # own, as the module narrows its accounts' datastore.user (iam.tf).
  dynamic "condition" {
    for_each = each.value == "roles/datastore.viewer" ? [var.databases] : []
    content {
      title       = "${var.name}-plan-databases-only"
      description = "Only the watchrelay deployments' Firestore databases."
      expression  = join(" || ", [for d in condition.value : "resource.name == \"projects/${var.project_id}/databases/${d}\""])
    }
  }
}

# The log-based metrics, read without the logs: roles/logging.viewer, the
# narrowest predefined role with logging.logMetrics.get, reads every log of
# the project too. The permissions are the module's plan_permissions
# output (scripts/plancheck compares them).
resource "google_project_iam_custom_role" "plan_metrics" {
  project     = var.project_id
  role_id     = "${replace(var.name, "-", "_")}_planMetrics"
  title       = "${var.name} plan: log-based metrics"
  description = "Reads log-based metrics, not logs: what a terraform plan of watchrelay refreshes for google_logging_metric."
  permissions = ["logging.logMetrics.get", "logging.logMetrics.list"]

  depends_on = [time_sleep.apis]
}

resource "google_project_iam_member" "plan_metrics" {
  project = var.project_id
  # The role's id, known at plan time (its name attribute is not).
  role   = "projects/${var.project_id}/roles/${google_project_iam_custom_role.plan_metrics.role_id}"
  member = google_service_account.plan.member
}

# The plan refreshes the module's source object (storage.objects.get); the
# role also reads the object, so only in buckets named as the deployments'
# source buckets are (PROJECT-NAME-source, NAME the copy's name, which
# starts with this root's name).
resource "google_project_iam_member" "plan_source_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.plan.member

  condition {
    title       = "${var.name}-source-buckets-only"
    description = "Only the watchrelay deployments' source buckets."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.project_id}-${var.name}\")"
  }
}

# The plan reads the state without taking its lock (-lock=false): reading
# is all it needs.
resource "google_storage_bucket_iam_member" "plan_state_reader" {
  bucket = var.state_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.plan.member
}

resource "google_project_iam_member" "deploy" {
  for_each = toset(local.deploy_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.deploy.member
}

# roles/storage.admin covers a state bucket in this project; this covers one
# kept in another (the state and its lock objects).
resource "google_storage_bucket_iam_member" "deploy_state_writer" {
  bucket = var.state_bucket
  role   = "roles/storage.objectUser"
  member = google_service_account.deploy.member
}

# Who may let an apply build start.
resource "google_project_iam_member" "approver" {
  for_each = toset(var.approvers)

  project = var.project_id
  role    = "roles/cloudbuild.builds.approver"
  member  = each.value

  depends_on = [time_sleep.apis]
}
