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
# Both are wired by default: an idle topic and subscription cost nothing.
# enable_gmail = false leaves the Gmail half out, for an organization whose
# domain-restricted sharing refuses Gmail's account (docs/deploy.md, "Org
# policy: domain-restricted sharing").

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

variable "enable_gmail" {
  description = "Wire the gmail.users kind: the inbound Gmail topic, its publisher grant to gmail-api-push@system.gserviceaccount.com and the push subscription <name>-gmail to Sync. An organization policy that restricts IAM members to your domain (iam.allowedPolicyMemberDomains) refuses that grant, and the apply with it: set false there (gmail.users watches then have no topic to publish to), or exempt the project (docs/deploy.md, \"Org policy: domain-restricted sharing\")."
  type        = bool
  default     = true
  nullable    = false
}

# --- gmail.users: the inbound topic --------------------------------------------

locals {
  # The one account Gmail publishes push notifications as.
  gmail_push_member = "serviceAccount:gmail-api-push@system.gserviceaccount.com"
}

# What Gmail publishes for every watched mailbox, kept 7 days so that the
# subscription <name>-gmail (sync.tf) can be sought back (watchrelay replay).
resource "google_pubsub_topic" "gmail" {
  count = var.enable_gmail ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name}-gmail"
  labels                     = local.labels
  message_retention_duration = "604800s"

  depends_on = [time_sleep.apis]
}

# Gmail may publish to this topic and to no other of the module's.
resource "google_pubsub_topic_iam_member" "gmail_push_publisher" {
  count = var.enable_gmail ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.gmail[0].name
  role    = "roles/pubsub.publisher"
  member  = local.gmail_push_member
}

# Gmail's pushes to Sync: the subscription <name>-gmail, one of Sync's
# triggers (sync.tf, local.sync_triggers), with Sync's endpoint, identity,
# deadline, retries and dead letters and no filter, and the Pub/Sub service
# agent's grant to acknowledge on it when it dead-letters. Both only with
# enable_gmail.

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
  description = "The inbound Gmail topic (full name): gmail.users watches ask Gmail to publish here (WATCHRELAY_GMAIL_TOPIC is its id), and the subscription <name>-gmail pushes what arrives to Sync. Null when enable_gmail is false."
  value       = one(google_pubsub_topic.gmail[*].id)
}
