# The kinds Google delivers through Pub/Sub rather than to Receive's
# webhook (docs/DESIGN.md "Kinds delivered through Pub/Sub"):
#
# - gmail.users: Renew calls users.watch with topicName the inbound Gmail
#   topic below (WATCHRELAY_GMAIL_TOPIC). Gmail publishes
#   {emailAddress, historyId} there as gmail-api-push@system.gserviceaccount.com,
#   which needs roles/pubsub.publisher on that topic
#   (https://developers.google.com/gmail/api/guides/push, "Grant publish
#   rights on your topic"). A push subscription hands each message to Sync,
#   at the endpoint and with the identity of Sync's own subscription; Sync
#   reads a message without a ce-type attribute as Gmail's.
# - workspace.events: Renew points each Workspace Events subscription at the
#   events topic itself, so Workspace's CloudEvents arrive beside
#   watchrelay's. The Workspace app that publishes them needs
#   roles/pubsub.publisher on that topic: workspace_events_publishers.
#
# Both are always wired: an idle topic and subscription cost nothing.

# --- Variables ----------------------------------------------------------------

variable "workspace_events_publishers" {
  description = "Members given roles/pubsub.publisher on the events topic so that Google Workspace (Workspace Events API subscriptions, the workspace.events kind) may publish its events there: the push service account of each Workspace app watched (Chat, Meet, Drive), as the Pub/Sub section of Google's guide \"Create a Google Workspace subscription\" names it, e.g. serviceAccount:<app push account>@system.gserviceaccount.com. Empty by default: the module grants none until they are listed here. An organization policy that restricts IAM members to your domain (iam.allowedPolicyMemberDomains) refuses these grants: exempt the project, or leave this empty and grant them by hand."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.workspace_events_publishers : can(regex("^serviceAccount:[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", m))])
    error_message = "workspace_events_publishers must be service accounts as IAM members, such as serviceAccount:name@system.gserviceaccount.com."
  }
}

# --- gmail.users: the inbound topic --------------------------------------------

locals {
  # The one account Gmail publishes push notifications as.
  gmail_push_member = "serviceAccount:gmail-api-push@system.gserviceaccount.com"
}

# What Gmail publishes for every watched mailbox, kept 7 days so that the
# subscription below can be sought back (watchrelay replay).
resource "google_pubsub_topic" "gmail" {
  project                    = var.project_id
  name                       = "${var.name}-gmail"
  labels                     = local.labels
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

# Gmail may publish to this topic and to no other of the module's.
resource "google_pubsub_topic_iam_member" "gmail_push_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.gmail.name
  role    = "roles/pubsub.publisher"
  member  = local.gmail_push_member
}

# Gmail's pushes to Sync: Sync's endpoint, identity, deadline, retries and
# dead letters (sync.tf), without a filter since everything on this topic is
# Gmail's.
resource "google_pubsub_subscription" "gmail" {
  project = var.project_id
  name    = "${var.name}-gmail"
  topic   = google_pubsub_topic.gmail.id
  labels  = local.labels
  # As Sync's own subscription: Sync's lease on a cursor ends within it.
  ack_deadline_seconds       = local.sync_ack_deadline_seconds
  enable_message_ordering    = false
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = local.sync_url
    oidc_token {
      service_account_email = google_service_account.this["push"].email
      audience              = local.sync_url
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  # The same dead-letter topic as Sync's notifications: one place to look,
  # one alert (monitoring.tf, "Sync's dead letters").
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.sync_dead_letter.id
    max_delivery_attempts = var.sync_max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires while idle
  }

  # The first pushes find the push account allowed to invoke Sync.
  depends_on = [google_cloud_run_service_iam_member.push_invokes_sync]
}

# Dead-lettering from this subscription: the Pub/Sub service agent
# acknowledges here (its publisher grant on the dead-letter topic is
# sync.tf's).
resource "google_pubsub_subscription_iam_member" "gmail_dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.gmail.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# --- workspace.events: Workspace publishes to the events topic -------------------

resource "google_pubsub_topic_iam_member" "workspace_events_publisher" {
  for_each = toset(var.workspace_events_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

# --- Outputs ------------------------------------------------------------------------

output "gmail_topic" {
  description = "The inbound Gmail topic (full name): gmail.users watches ask Gmail to publish here (WATCHRELAY_GMAIL_TOPIC is its id), and the subscription <name>-gmail pushes what arrives to Sync."
  value       = google_pubsub_topic.gmail.id
}
