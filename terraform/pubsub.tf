# The topic every event goes to. Downstream services subscribe to it; see
# the subscribe_command output. It keeps what it publishes for
# topic_message_retention (7 days by default), acknowledged or not: that is
# how far back `watchrelay replay` can seek any of its subscriptions.
resource "google_pubsub_topic" "events" {
  project                    = var.project_id
  name                       = local.topic_name
  labels                     = local.labels
  message_retention_duration = var.topic_message_retention

  depends_on = [time_sleep.apis]
}

locals {
  # The topic's retention in seconds; 0 when it keeps nothing.
  topic_retention_seconds = var.topic_message_retention == null ? 0 : tonumber(trimsuffix(var.topic_message_retention, "s"))
}

# An optional example subscriber: ordered delivery (events are keyed by
# watch id), an optional attribute filter, and a dead-letter topic with its
# own subscription so dead letters are kept, not dropped.
resource "google_pubsub_topic" "example_dead_letter" {
  count = var.example_subscription ? 1 : 0

  project                    = var.project_id
  name                       = "${local.topic_name}-example-dead-letter"
  labels                     = local.labels
  message_retention_duration = "604800s"

  depends_on = [time_sleep.apis]
}

resource "google_pubsub_subscription" "example" {
  count = var.example_subscription ? 1 : 0

  project                    = var.project_id
  name                       = "${local.topic_name}-example"
  topic                      = google_pubsub_topic.events.id
  labels                     = local.labels
  filter                     = var.example_subscription_filter
  enable_message_ordering    = true
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  # A seek goes back as far as the topic's retention, or the
  # subscription's own when it keeps acknowledged messages: it keeps them
  # only when the topic keeps less than its 7 days, since storage kept
  # twice is paid twice.
  retain_acked_messages = local.topic_retention_seconds < 604800

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.example_dead_letter[0].id
    max_delivery_attempts = var.example_max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = "" # never expires while idle
  }
}

resource "google_pubsub_subscription" "example_dead_letter" {
  count = var.example_subscription ? 1 : 0

  project                    = var.project_id
  name                       = "${local.topic_name}-example-dead-letter"
  topic                      = google_pubsub_topic.example_dead_letter[0].id
  labels                     = local.labels
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to
# the dead-letter topic and acknowledge on the source subscription. Sync's
# subscription (sync.tf) needs the same, and the agent signs its pushes'
# OIDC tokens. Its address is built from the project number:
# google_project_service_identity, which would make the agent and give its
# address, is google-beta only (google 8.0.0 documents it as beta and does
# not register it), and the GA provider has no Pub/Sub agent data source.
# The agent is made with the Pub/Sub API's enablement, and every grant to it
# is on a topic or subscription that waits for that (time_sleep.apis):
# tests/first_apply.tftest.hcl checks the order.
locals {
  pubsub_service_agent = "serviceAccount:service-${google_storage_bucket.source.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count = var.example_subscription ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.example_dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  count = var.example_subscription ? 1 : 0

  project      = var.project_id
  subscription = google_pubsub_subscription.example[0].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
