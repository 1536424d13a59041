# Checks that scripts/terraform-check.sh runs over the real provider's plan
# of the module (`terraform show -json`), where the whole configuration is
# visible: depends_on, references, every resource type. The script asks
# terraform console for local.failures, each a named list of what is wrong,
# and fails unless it is empty. No provider, no state: plain Terraform
# functions over files.

variable "plan_json" {
  description = "The plan, as terraform show -json writes it."
  type        = string
}

variable "readme" {
  description = "README.md, whose Deploy section names the deployer roles."
  type        = string
}

variable "cloudbuild" {
  description = "cloudbuild.yaml, whose header names the build account's roles."
  type        = string
}

locals {
  plan      = jsondecode(file(var.plan_json))
  resources = local.plan.configuration.root_module.resources
  outputs   = local.plan.planned_values.outputs

  # What a resource refers to: its arguments' references and depends_on.
  refers = { for r in local.resources : r.address => jsonencode([try(r.expressions, {}), try(r.depends_on, [])]) }

  # --- The roles of terraform/roles.tf (the plan has receive_domain set, so
  # the outputs hold every role). Every resource type the module declares,
  # however many instances this plan makes, needs a role that covers it.
  deployer_roles = local.outputs.deployer_roles.value
  covered        = toset(flatten(values(local.deployer_roles)))
  declared_types = toset([for r in local.resources : r.type if r.mode == "managed" && startswith(r.type, "google_")])

  # The roles the README and cloudbuild.yaml name, between their markers
  # (none when the markers are gone).
  readme_roles     = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)<!-- deployer roles: terraform/roles.tf -->(.*?)<!-- end deployer roles -->", file(var.readme))[0], "")))
  cloudbuild_roles = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)# deployer roles \\(terraform/roles.tf\\):(.*?)# end deployer roles", file(var.cloudbuild))[0], "")))

  # --- The IAM wait of iam_wait.tf: it follows every binding whose member
  # is the build account, the function builds follow it, and nothing else
  # does (the wait only where a grant feeds a build).
  wait = "time_sleep.build_grants"
  build_grants = [
    for r in local.resources : r.address
    if strcontains(r.type, "_iam_") && strcontains(jsonencode(try(r.expressions.member, {})), "google_service_account.this[\\\"build\\\"]")
  ]

  # --- The waits of apis.tf and monitoring.tf (issue 18): only the API wait
  # refers to the enablement, so nothing is created in the gap between an
  # API's enablement and its propagation; the metrics' wait follows every
  # log-based metric, and every alert policy follows it.
  api_wait     = "time_sleep.apis"
  metrics_wait = "time_sleep.metrics"

  failures = { for name, list in {
    "resource types that no role of terraform/roles.tf covers"                         = sort(setsubtract(local.declared_types, local.covered))
    "roles in terraform/roles.tf and the README's deployer roles, but not both"        = sort(setunion(setsubtract(keys(local.deployer_roles), local.readme_roles), setsubtract(local.readme_roles, keys(local.deployer_roles))))
    "roles in the cloud_build_roles output and cloudbuild.yaml's header, but not both" = sort(setunion(setsubtract(local.outputs.cloud_build_roles.value, local.cloudbuild_roles), setsubtract(local.cloudbuild_roles, local.outputs.cloud_build_roles.value)))
    "grants to the build account that the IAM wait does not follow"                    = [for a in local.build_grants : a if !strcontains(local.refers[local.wait], "\"${a}\"")]
    "function builds that do not wait for the build account's grants"                  = [for r in local.resources : r.address if r.type == "google_cloudfunctions2_function" && !strcontains(local.refers[r.address], "\"${local.wait}\"")]
    "resources other than function builds that wait for the build account's grants"    = [for r in local.resources : r.address if r.type != "google_cloudfunctions2_function" && r.address != local.wait && strcontains(local.refers[r.address], "\"${local.wait}")]
    "build grants found (none means the search for them is broken)"                    = length(local.build_grants) > 0 ? [] : ["none"]
    "resources that refer to the API enablement itself, not to its wait"               = [for r in local.resources : r.address if r.address != local.api_wait && strcontains(local.refers[r.address], "\"google_project_service.enabled")]
    "the API wait does not follow the API enablement"                                  = strcontains(local.refers[local.api_wait], "\"google_project_service.enabled") ? [] : [local.api_wait]
    "the metrics' wait does not follow the log-based metrics"                          = strcontains(local.refers[local.metrics_wait], "\"google_logging_metric.this") ? [] : [local.metrics_wait]
    "alert policies that do not wait for the log-based metrics"                        = [for r in local.resources : r.address if r.type == "google_monitoring_alert_policy" && !strcontains(local.refers[r.address], "\"${local.metrics_wait}\"")]
  } : name => list if length(list) > 0 }
}
