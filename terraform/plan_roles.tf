# The roles of the plan build (cloudbuild.yaml), which runs on every branch
# and so runs whatever a branch wrote: it may read what `terraform plan`
# refreshes and nothing more. Each role is the narrowest predefined
# read-only one that gets its resource types (and, for IAM resources,
# reads their policy); none creates, changes or deletes anything, acts as
# an account or mints a token. Where the narrowest predefined role reads
# much more than the plan needs (every log, for a metric), the
# permissions are listed instead, for a custom role (plan_permissions). Basic Viewer is not among them: it also
# reads BigQuery tables and much else the plan never needs.
# docs/pipeline.md and cloudbuild.yaml name these roles, examples/pipeline
# grants them, and scripts/plancheck fails when one names others or when
# the module gains a resource type that no role here covers.
locals {
  plan_roles = {
    "roles/serviceusage.serviceUsageViewer" = ["google_project_service"]
    "roles/iam.serviceAccountViewer"        = ["google_service_account"]
    # Every *.getIamPolicy the IAM members' refresh calls.
    "roles/iam.securityReviewer" = [
      "google_service_account_iam_member",
      "google_project_iam_member",
      "google_storage_bucket_iam_member",
      "google_artifact_registry_repository_iam_member",
      "google_cloud_run_service_iam_member",
      "google_pubsub_topic_iam_member",
      "google_pubsub_subscription_iam_member",
    ]
    "roles/storage.bucketViewer" = ["google_storage_bucket"]
    # storage.objects.get, which also reads the object: examples/pipeline
    # grants it on the source bucket (and the state bucket) only.
    "roles/storage.objectViewer"    = ["google_storage_bucket_object"]
    "roles/artifactregistry.reader" = ["google_artifact_registry_repository"]
    "roles/cloudfunctions.viewer"   = ["google_cloudfunctions2_function"]
    "roles/cloudscheduler.viewer"   = ["google_cloud_scheduler_job"]
    "roles/pubsub.viewer"           = ["google_pubsub_topic", "google_pubsub_subscription"]
    # datastore.entities.get for the watches' documents: no narrower role
    # reads a document, so the plan account can read watchrelay's
    # collections (channels hold token hashes, never tokens).
    # examples/pipeline narrows it, with an IAM condition, to the
    # deployments' databases.
    "roles/datastore.viewer" = [
      "google_firestore_database",
      "google_firestore_index",
      "google_firestore_field",
      "google_firestore_document",
    ]
    "roles/monitoring.viewer" = [
      "google_monitoring_alert_policy",
      "google_monitoring_notification_channel",
      "google_monitoring_dashboard",
    ]
  }

  # Only with receive_domain: the load balancer (domain.tf), the types the
  # deployer's domain role makes.
  plan_domain_roles = {
    "roles/compute.viewer" = local.deployer_domain_roles["roles/compute.loadBalancerAdmin"]
  }

  plan_roles_needed = merge(local.plan_roles, var.receive_domain == null ? {} : local.plan_domain_roles)

  # The log-based metrics: roles/logging.viewer, the narrowest predefined
  # role that gets one, also reads every log of the project, other
  # applications' included. These two permissions, in a custom role, read
  # the metrics alone.
  plan_permissions = {
    "logging.logMetrics.get"  = ["google_logging_metric"]
    "logging.logMetrics.list" = []
  }
}

output "plan_roles" {
  description = "The read-only roles that plan this configuration with refresh (cloudbuild.yaml's plan build), each with the resource types it reads (docs/pipeline.md). The plan account also reads the state bucket, and writes its build's log to a bucket of its own, not to Cloud Logging (docs/pipeline.md)."
  value       = local.plan_roles_needed
}

output "plan_permissions" {
  description = "The permissions that plan this configuration with refresh beside plan_roles, for a custom role (no predefined role has them without much more), each with the resource types it reads; examples/pipeline grants them to its plan account in one."
  value       = local.plan_permissions
}
