# Receive and Renew: the two entry points function.go registers
# (ReceiveEntryPoint, RenewEntryPoint), built from the same archive.
locals {
  receive_url = google_cloudfunctions2_function.receive.service_config[0].uri
  renew_url   = google_cloudfunctions2_function.renew.service_config[0].uri

}

resource "google_cloudfunctions2_function" "receive" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-receive"
  description = "Google's webhook: validates push notifications and publishes them to ${google_pubsub_topic.events.name}."
  labels      = local.labels

  build_config {
    runtime           = local.runtime
    entry_point       = local.entry_points.receive
    service_account   = google_service_account.this["build"].id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count             = 0
    max_instance_count             = var.receive_max_instances
    available_memory               = var.receive_memory
    timeout_seconds                = var.receive_timeout_seconds
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.this["receive"].email
    environment_variables          = local.environment
  }

  # The first build needs its account's grants in place.
  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.build_log_writer,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_source_reader,
    google_project_iam_member.build_staging_reader,
  ]
}

resource "google_cloudfunctions2_function" "renew" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-renew"
  description = "The reconcile pass: keeps a live channel behind every watch. Invoked by Cloud Scheduler only."
  labels      = local.labels

  build_config {
    runtime           = local.runtime
    entry_point       = local.entry_points.renew
    service_account   = google_service_account.this["build"].id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count             = 0
    max_instance_count             = var.renew_max_instances
    available_memory               = var.renew_memory
    timeout_seconds                = var.renew_timeout_seconds
    ingress_settings               = var.renew_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.this["renew"].email
    # Renew gives every watch without its own address Receive's URL.
    environment_variables = merge(local.environment, {
      WATCHRELAY_ADDRESS = local.receive_url
    })
  }

  # The first build needs its account's grants in place.
  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.build_log_writer,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_source_reader,
    google_project_iam_member.build_staging_reader,
  ]
}
