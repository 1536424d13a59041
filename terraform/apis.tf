# The APIs watchrelay uses. Resources that need an API depend on
# google_project_service.enabled. Destroying watchrelay leaves them on:
# other things in the project may use them.

locals {
  apis = setunion(
    [
      "artifactregistry.googleapis.com",     # function images
      "cloudbuild.googleapis.com",           # function builds
      "cloudfunctions.googleapis.com",       # Receive, Renew
      "cloudresourcemanager.googleapis.com", # project IAM bindings
      "cloudscheduler.googleapis.com",       # the Renew job
      "firestore.googleapis.com",            # watches/, channels/
      "iam.googleapis.com",                  # service accounts
      "iamcredentials.googleapis.com",       # Renew's signJwt for domain-wide delegation
      "logging.googleapis.com",              # function and build logs, log-based metrics
      "monitoring.googleapis.com",           # alert policies, notification channels, the dashboard
      "pubsub.googleapis.com",               # the events topic
      "run.googleapis.com",                  # the functions' Cloud Run services
      "storage.googleapis.com",              # the source bucket
    ],
    # The APIs Renew opens and stops channels with: a call is billed to and
    # checked against the caller's project, so they must be on here.
    # gmail.users calls users.watch, workspace.events the Workspace Events
    # API; a Workspace subscription to a Chat space also needs the Chat API
    # on in the project that creates it (Google's "Create a Google Workspace
    # subscription", prerequisites), and a Chat app configured there.
    var.enable_workspace_apis ? [
      "admin.googleapis.com",
      "calendar-json.googleapis.com",
      "chat.googleapis.com",
      "drive.googleapis.com",
      "gmail.googleapis.com",
      "workspaceevents.googleapis.com",
    ] : [],
  )
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value

  disable_on_destroy         = false
  disable_dependent_services = false
}
