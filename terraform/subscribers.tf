# Downstream services that subscribe from elsewhere: roles/pubsub.subscriber
# on the events topic lets a member attach its own subscription to it (from
# its own project too) without any role on this project. A subscription
# made by hand or by the caller's configuration follows the subscribe_command
# output's settings; the example subscription (pubsub.tf) is one.

variable "subscribers" {
  description = "IAM members (serviceAccount:..., group:..., user:...) given roles/pubsub.subscriber on the events topic, so that each can create its own subscription to it, from its own project too. Empty by default."
  type        = set(string)
  default     = []

  validation {
    # Never public: scripts/terraform-check.sh allows Receive's invoker
    # alone to name allUsers.
    condition     = alltrue([for m in var.subscribers : can(regex("^(serviceAccount|group|user|domain|principal|principalSet):.+", m))])
    error_message = "subscribers must be IAM members such as serviceAccount:reader@other-project.iam.gserviceaccount.com or group:team@example.com, not allUsers or allAuthenticatedUsers."
  }
}

resource "google_pubsub_topic_iam_member" "subscriber" {
  for_each = var.subscribers

  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.subscriber"
  member  = each.value
}
