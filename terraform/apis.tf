# The APIs watchrelay uses. Resources that need an API depend on
# time_sleep.apis, the wait after google_project_service.enabled (below).
# Destroying watchrelay leaves them on: other things in the project may use
# them.

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

variable "api_propagation_wait" {
  description = "How long resources wait after their APIs are enabled (a Go duration; 0s to skip). Enabling returns when Service Usage records the API on, before every Google service honours it: a resource created in that gap fails with SERVICE_DISABLED (403) and the apply must be run again. Raise it if a first apply still fails so."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.api_propagation_wait))
    error_message = "api_propagation_wait must be a duration in h, m and s, such as 60s or 2m."
  }
}

# The wait every resource that needs an API depends on, in place of the
# enablement itself. Its triggers are the enablements, by name: it starts
# after all of them, and waits again when an API is added (a kind's API
# turned on by enable_workspace_apis). It waits nothing when the module
# enables no API (enable_apis = false: they are on already).
resource "time_sleep" "apis" {
  create_duration = var.enable_apis ? var.api_propagation_wait : "0s"

  triggers = { for api, s in google_project_service.enabled : api => s.id }
}
