# What scripts/smoke.sh checks, as it reads it: right after apply,
#   scripts/smoke.sh                 # reads `terraform output -raw smoke_env`
# or, where terraform is not at hand (cloudbuild.yaml's smoke step),
#   terraform output -raw smoke_env > smoke.env; scripts/smoke.sh smoke.env
output "smoke_env" {
  description = "Assignments that tell scripts/smoke.sh what to check: the functions, the URLs Receive answers at (its own, and the custom domain's), Sync's URL and ingress, the scheduler job, the topic, the database and how many composite indexes it should hold."
  value = join("\n", concat([
    "SMOKE_PROJECT=${var.project_id}",
    "SMOKE_REGION=${var.region}",
    "SMOKE_RECEIVE=${google_cloudfunctions2_function.receive.name}",
    "SMOKE_RENEW=${google_cloudfunctions2_function.watcher["renew"].name}",
    "SMOKE_SYNC=${google_cloudfunctions2_function.watcher["sync"].name}",
    "SMOKE_SYNC_URL=${local.sync_url}",
    "SMOKE_SYNC_INGRESS=${var.sync_ingress}",
    "SMOKE_RECEIVE_URLS='${join(" ", distinct([google_cloudfunctions2_function.receive.service_config[0].uri, local.receive_url]))}'",
    "SMOKE_JOB=${google_cloud_scheduler_job.renew.name}",
    "SMOKE_TOPIC=${google_pubsub_topic.events.name}",
    "SMOKE_DATABASE='${local.database}'",
    "SMOKE_INDEXES=${length(local.indexes)}",
    ], var.receive_domain == null ? [] : [
    "SMOKE_CERTIFICATE=${google_compute_managed_ssl_certificate.receive[0].name}",
  ]))
}
