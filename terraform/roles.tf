# The roles that apply this module and run scripts/smoke.sh, written once:
# for a person (gcloud auth application-default login) and for the deploy
# account of cloudbuild-apply.yaml alike. Each role is the narrowest
# predefined one that creates its resource types and, for IAM resources,
# sets their policy (the permission is named): Editor, for one, has no
# setIamPolicy on topics, buckets or repositories. docs/pipeline.md and
# cloudbuild-apply.yaml name these roles, examples/pipeline grants them,
# and scripts/terraform-check.sh fails when any of them names others, or
# when the plan holds a resource type that no role here covers
# (scripts/plancheck). The plan build's read-only roles are plan_roles.tf's.
locals {
  deployer_roles = {
    "roles/serviceusage.serviceUsageAdmin" = ["google_project_service"]
    "roles/iam.serviceAccountAdmin" = [
      "google_service_account",
      "google_service_account_iam_member", # iam.serviceAccounts.setIamPolicy
    ]
    "roles/resourcemanager.projectIamAdmin" = [
      "google_project_iam_member", # resourcemanager.projects.setIamPolicy
    ]
    "roles/storage.admin" = [
      "google_storage_bucket",
      "google_storage_bucket_object",
      "google_storage_bucket_iam_member", # storage.buckets.setIamPolicy
    ]
    "roles/artifactregistry.admin" = [
      "google_artifact_registry_repository",
      "google_artifact_registry_repository_iam_member", # artifactregistry.repositories.setIamPolicy
    ]
    "roles/cloudfunctions.admin" = ["google_cloudfunctions2_function"]
    "roles/run.admin" = [
      "google_cloud_run_service_iam_member", # run.services.setIamPolicy
    ]
    "roles/cloudscheduler.admin" = ["google_cloud_scheduler_job"]
    "roles/pubsub.admin" = [
      "google_pubsub_topic",
      "google_pubsub_subscription",
      "google_pubsub_topic_iam_member",        # pubsub.topics.setIamPolicy
      "google_pubsub_subscription_iam_member", # pubsub.subscriptions.setIamPolicy
    ]
    "roles/datastore.owner" = [
      "google_firestore_database",
      "google_firestore_index",
      "google_firestore_field",
      "google_firestore_document",
    ]
    # The alerts and the dashboard (monitoring.tf).
    "roles/logging.configWriter" = ["google_logging_metric"]
    "roles/monitoring.editor" = [
      "google_monitoring_alert_policy",
      "google_monitoring_notification_channel",
      "google_monitoring_dashboard",
    ]
    # scripts/smoke.sh reads Renew's pass and Sync's turn from their logs.
    "roles/logging.viewer" = []
  }

  # iam.serviceAccounts.actAs: the functions run and build as watchrelay's
  # accounts, and the scheduler job and Sync's push subscriptions sign their
  # OIDC tokens as one. With `deployer` set the module grants it on those
  # accounts alone (deployer.tf); without, whoever applies needs it on the
  # project, which lets them act as every account there.
  deployer_act_as_roles = {
    "roles/iam.serviceAccountUser" = ["google_cloudfunctions2_function", "google_cloud_scheduler_job", "google_pubsub_subscription"]
  }

  # Only with receive_domain: the load balancer (domain.tf).
  deployer_domain_roles = {
    "roles/compute.loadBalancerAdmin" = [
      "google_compute_global_address",
      "google_compute_region_network_endpoint_group",
      "google_compute_backend_service",
      "google_compute_url_map",
      "google_compute_managed_ssl_certificate",
      "google_compute_target_https_proxy",
      "google_compute_global_forwarding_rule",
    ]
  }

  # The deploy account also writes its build's log.
  cloud_build_roles = ["roles/logging.logWriter"]

  # What this configuration needs.
  deployer_roles_needed = merge(
    local.deployer_roles,
    var.deployer == null ? local.deployer_act_as_roles : {},
    var.receive_domain == null ? {} : local.deployer_domain_roles,
  )
}

output "deployer_roles" {
  description = "The roles that apply this configuration and run scripts/smoke.sh, each with the resource types it covers (docs/pipeline.md). Grant them on the project to whoever runs terraform apply; roles/iam.serviceAccountUser is among them only when `deployer` is unset."
  value       = local.deployer_roles_needed
}

output "cloud_build_roles" {
  description = "The roles of cloudbuild-apply.yaml's deploy account: deployer_roles, and the build's own log writer."
  value       = sort(concat(keys(local.deployer_roles_needed), local.cloud_build_roles))
}
