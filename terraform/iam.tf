# One service account per role, each with only what its role needs. The
# renew account is the watcher, the one account authorised at Google: Renew
# and Sync both run as it (sync.tf says why), since the Google access
# (domain-wide delegation, sharing) is granted per account and both need
# the same, as they need the same Firestore and topic rights.
locals {
  service_accounts = {
    receive   = "watchrelay Receive: validates Google's push notifications and publishes them"
    renew     = "watchrelay watcher, Renew and Sync: opens, renews and stops channels, reads what changed behind notifications"
    scheduler = "watchrelay scheduler: invokes Renew, nothing else"
    build     = "watchrelay build: builds the function images"
    push      = "watchrelay push: the Sync subscription's OIDC identity, invokes Sync, nothing else"
  }
  # The accounts of the functions that read and write Firestore (watches/,
  # channels/, cursors/) and publish events: Receive's, and the watcher
  # (Renew and Sync).
  runtime_accounts = toset(["receive", "renew"])
}

resource "google_service_account" "this" {
  for_each = local.service_accounts

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "${var.name} ${each.key}"
  description  = each.value

  depends_on = [time_sleep.apis]
}

# Firestore has no per-collection IAM: datastore.user is granted on the
# project, narrowed by an IAM condition to watchrelay's database.
resource "google_project_iam_member" "datastore_user" {
  for_each = local.runtime_accounts

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.this[each.key].member

  condition {
    title       = "${var.name}-database-only"
    description = "Only watchrelay's Firestore database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.database}\""
  }
}

# Publishing is granted on the topic, not the project.
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.runtime_accounts

  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.this[each.key].member
}

# Domain-wide delegation (a watch with a subject): Renew and Sync sign the
# delegated JWT as the watcher through the IAM Credentials API (signJwt),
# so the watcher may mint tokens for its own account and no other, and no
# other account is given this role for delegation.
resource "google_service_account_iam_member" "renew_token_creator" {
  service_account_id = google_service_account.this["renew"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.this["renew"].member
}

# Each watcher function (functions.tf) has one invoker, its entry's
# invoker, and that account may invoke it and nothing else: the scheduler's
# account Renew (scheduler.tf), the push account Sync (its push
# subscriptions, sync.tf). Both functions are private.
resource "google_cloud_run_service_iam_member" "watcher_invoker" {
  for_each = { for k, f in local.watcher_functions : k => f.invoker }

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.watcher[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.this[each.value].member
}

# Renew's grant was released as a resource of its own; Sync's was not.
moved {
  from = google_cloud_run_service_iam_member.scheduler_invokes_renew
  to   = google_cloud_run_service_iam_member.watcher_invoker["renew"]
}

# Google's push carries no credentials: Receive must be invocable by
# anyone, and checks each notification's channel token itself.
resource "google_cloud_run_service_iam_member" "public_receive" {
  count = var.public_receive ? 1 : 0

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.receive.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The build account: build logs, the image repository, the sources.
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.this["build"].member
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.this["build"].member
}

resource "google_storage_bucket_iam_member" "build_source_reader" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.this["build"].member
}

# Cloud Functions copies the uploaded archive into its own staging bucket,
# gcf-v2-sources-<project number>-<region>, and the build reads it there.
# That bucket appears on the first deploy, so the grant is on the project,
# narrowed by a condition to buckets of that name.
resource "google_project_iam_member" "build_staging_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.this["build"].member

  condition {
    title       = "${var.name}-gcf-sources-only"
    description = "Only Cloud Functions' source staging buckets."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}
