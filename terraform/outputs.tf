output "receive_url" {
  description = "Receive's URL: the webhook address Google pushes to (WATCHRELAY_ADDRESS)."
  value       = local.receive_url
}

output "receive_public_command" {
  description = "With public_receive = false: the gcloud command that makes Receive public by turning off its Cloud Run invoker IAM check, which the google provider cannot set on a function's service (a Cloud Functions gen2 function's service bears the function's name). Null otherwise."
  value       = var.public_receive ? null : "gcloud run services update ${google_cloudfunctions2_function.receive.name} --project=${var.project_id} --region=${var.region} --no-invoker-iam-check"
}

output "renew_url" {
  description = "Renew's URL, callable by the scheduler's account only."
  value       = local.renew_url
}

output "topic" {
  description = "The Pub/Sub topic events are published to, as a full resource name (projects/<project>/topics/<name>): what a subscription's topic argument takes."
  value       = google_pubsub_topic.events.id
}

output "topic_name" {
  description = "The events topic's short name (WATCHRELAY_TOPIC)."
  value       = google_pubsub_topic.events.name
}

output "scheduler_job" {
  description = "The Cloud Scheduler job that runs Renew (WATCHRELAY_SCHEDULER_JOB)."
  value       = local.scheduler_job
}

output "subscribe_command" {
  description = "How a downstream service subscribes to the events: one subscription per service, ordered by watch id; add --message-filter on watch_id, kind or resource_state to receive less."
  value       = "gcloud pubsub subscriptions create SUBSCRIPTION --project=${var.project_id} --topic=${google_pubsub_topic.events.id} --enable-message-ordering --ack-deadline=60"
}

output "example_subscription" {
  description = "The example subscription and its dead-letter subscription, when created."
  value = var.example_subscription ? {
    subscription = google_pubsub_subscription.example[0].id
    dead_letter  = google_pubsub_subscription.example_dead_letter[0].id
  } : null
}

output "cli_env" {
  description = "Export lines for the CLI against this deployment: eval them, then go run ./cmd/watchrelay watch add ... (the CLI checks a watch's ttl against the same schedule period and renewal window as Renew)."
  value = join("\n", concat([
    "export GOOGLE_CLOUD_PROJECT=${var.project_id}",
    "export WATCHRELAY_TOPIC=${google_pubsub_topic.events.name}",
    "export WATCHRELAY_DATABASE='${local.database}'",
    "export WATCHRELAY_ADDRESS=${local.receive_url}",
    "export WATCHRELAY_SCHEDULER_JOB=${local.scheduler_job}",
    "export WATCHRELAY_RENEW_INTERVAL=${local.renew_interval}",
  ], var.renew_before == null ? [] : ["export WATCHRELAY_RENEW_BEFORE=${var.renew_before}"]))
}

output "service_accounts" {
  description = "The service account of each role. renew is the watcher, the account both Renew and Sync run as: its unique_id is the one client id to authorize for domain-wide delegation (with the kinds' scopes), and its email the one account to share calendars and files with."
  value = {
    for role, sa in google_service_account.this : role => {
      email     = sa.email
      unique_id = sa.unique_id
    }
  }
}

output "database" {
  description = "The Firestore database id (WATCHRELAY_DATABASE)."
  value       = local.database
}

output "source_object" {
  description = "The deployed source archive, named after its SHA-256."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}
