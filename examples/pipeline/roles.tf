# The two accounts' roles on the project. The module writes why each is
# needed and which resource types it covers (terraform/roles.tf,
# terraform/plan_roles.tf); these lists are that, for the example root
# applied by the apply build, and scripts/plancheck fails when they differ
# from the module's deployer_roles, cloud_build_roles and plan_roles outputs.
locals {
  # The deploy account: the module's deployer roles, without
  # roles/iam.serviceAccountUser, which the module grants it on its own
  # accounts only (the builds pass it as `deployer`); and its build's log.
  deploy_roles = concat([
    "roles/artifactregistry.admin",
    "roles/cloudfunctions.admin",
    "roles/cloudscheduler.admin",
    "roles/datastore.owner",
    "roles/iam.serviceAccountAdmin",
    "roles/logging.configWriter",
    "roles/logging.logWriter",
    "roles/logging.viewer",
    "roles/monitoring.editor",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
  ], var.receive_domain ? ["roles/compute.loadBalancerAdmin"] : [])

  # The plan account, on the project: read-only roles. Not
  # roles/logging.logWriter: its build log goes to its own bucket
  # (logs.tf). roles/storage.objectViewer is not here: it reads objects'
  # contents, so it is granted on the state bucket and the source buckets
  # only (accounts.tf). roles/datastore.viewer is narrowed to the
  # deployments' databases, and the log-based metrics are read through a
  # custom role, not roles/logging.viewer, which reads every log
  # (accounts.tf).
  plan_roles = concat([
    "roles/artifactregistry.reader",
    "roles/cloudfunctions.viewer",
    "roles/cloudscheduler.viewer",
    "roles/datastore.viewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/monitoring.viewer",
    "roles/pubsub.viewer",
    "roles/serviceusage.serviceUsageViewer",
    "roles/storage.bucketViewer",
  ], var.receive_domain ? ["roles/compute.viewer"] : [])
}
