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

variable "pipeline_doc" {
  description = "docs/pipeline.md, which names the deploy and plan accounts' roles."
  type        = string
}

variable "cloudbuild" {
  description = "cloudbuild.yaml, the plan build, whose header names the plan account's roles."
  type        = string
}

variable "cloudbuild_apply" {
  description = "cloudbuild-apply.yaml, the apply build, whose header names the deploy account's roles."
  type        = string
}

variable "pipeline_plan_json" {
  description = "The plan of examples/pipeline, as terraform show -json writes it: the roles it grants the two accounts."
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

  # The roles the docs and the build files name, between their markers
  # (none when the markers are gone): the deploy account's and the plan
  # account's.
  doc_deploy_roles  = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)<!-- deployer roles: terraform/roles.tf -->(.*?)<!-- end deployer roles -->", file(var.pipeline_doc))[0], "")))
  doc_plan_roles    = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)<!-- plan roles: terraform/plan_roles.tf -->(.*?)<!-- end plan roles -->", file(var.pipeline_doc))[0], "")))
  apply_build_roles = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)# deployer roles \\(terraform/roles.tf\\):(.*?)# end deployer roles", file(var.cloudbuild_apply))[0], "")))
  plan_build_roles  = toset(regexall("roles/[A-Za-z.]+", try(regex("(?s)# plan roles \\(terraform/plan_roles.tf\\):(.*?)# end plan roles", file(var.cloudbuild))[0], "")))
  # The permissions of the plan account's custom role, as the docs and
  # the plan build's header name them (service.resource.verb).
  permission_pattern     = "[a-z]+\\.[a-zA-Z]+\\.[a-z]+"
  doc_plan_permissions   = toset(regexall(local.permission_pattern, try(regex("(?s)<!-- plan roles: terraform/plan_roles.tf -->(.*?)<!-- end plan roles -->", file(var.pipeline_doc))[0], "")))
  plan_build_permissions = toset(regexall(local.permission_pattern, try(regex("(?s)# plan roles \\(terraform/plan_roles.tf\\):(.*?)# end plan roles", file(var.cloudbuild))[0], "")))
  plan_permissions       = toset(keys(local.outputs.plan_permissions.value))
  deploy_roles           = toset(local.outputs.cloud_build_roles.value)
  # Not roles/logging.logWriter: the plan build's log goes to a bucket of
  # its own (examples/pipeline/logs.tf), for a branch that could write log
  # entries could forge the lines the alerts count.
  plan_account_roles = toset(keys(local.outputs.plan_roles.value))

  # The roles examples/pipeline grants each account, by the resource that
  # grants them (plan and plan_source_reader: the plan account).
  pipeline_changes = jsondecode(file(var.pipeline_plan_json)).resource_changes
  pipeline_grants  = [for r in local.pipeline_changes : r if r.type == "google_project_iam_member"]
  # The plan account's custom role, and its grant of it (plan_metrics).
  pipeline_custom_roles = [for r in local.pipeline_changes : r.change.after if r.type == "google_project_iam_custom_role"]
  pipeline_plan_custom  = toset(flatten([for r in local.pipeline_custom_roles : r.permissions]))
  pipeline_custom_grant = [for r in local.pipeline_grants : r.change.after.role if r.name == "plan_metrics"]
  pipeline_deploy       = toset([for r in local.pipeline_grants : r.change.after.role if r.name == "deploy"])
  pipeline_plan         = toset([for r in local.pipeline_grants : r.change.after.role if contains(["plan", "plan_source_reader"], r.name)])

  # Two sets that must be equal: what is in one and not the other.
  differ = {
    "docs/pipeline.md's deployer roles"   = [local.doc_deploy_roles, local.deploy_roles]
    "cloudbuild-apply.yaml's header"      = [local.apply_build_roles, local.deploy_roles]
    "examples/pipeline's deploy account"  = [local.pipeline_deploy, local.deploy_roles]
    "docs/pipeline.md's plan roles"       = [local.doc_plan_roles, local.plan_account_roles]
    "cloudbuild.yaml's header"            = [local.plan_build_roles, local.plan_account_roles]
    "examples/pipeline's plan account"    = [local.pipeline_plan, local.plan_account_roles]
    "docs/pipeline.md's plan permissions" = [local.doc_plan_permissions, local.plan_permissions]
    "cloudbuild.yaml's plan permissions"  = [local.plan_build_permissions, local.plan_permissions]
    "examples/pipeline's custom role"     = [local.pipeline_plan_custom, local.plan_permissions]
  }

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

  # --- examples/pipeline's API wait, alike: only it refers to the
  # enablement, and every google resource refers to it or to another google
  # resource (so, by induction, follows it).
  pipeline_refers = { for r in jsondecode(file(var.pipeline_plan_json)).configuration.root_module.resources : r.address => {
    type   = r.type
    refers = jsonencode([try(r.expressions, {}), try(r.depends_on, [])])
  } }

  failures = { for name, list in {
    "resource types that no role of terraform/roles.tf covers"                       = sort(setsubtract(local.declared_types, local.covered))
    "resource types that no role of terraform/plan_roles.tf reads"                   = sort(setsubtract(local.declared_types, flatten(concat(values(local.outputs.plan_roles.value), values(local.outputs.plan_permissions.value)))))
    "examples/pipeline's custom role is not the plan account's one grant of it"      = length(local.pipeline_custom_roles) == 1 && length(local.pipeline_custom_grant) == 1 && try(local.pipeline_custom_grant[0] == "projects/${local.pipeline_custom_roles[0].project}/roles/${local.pipeline_custom_roles[0].role_id}", false) ? [] : ["google_project_iam_custom_role / google_project_iam_member.plan_metrics"]
    "roles the module (cloud_build_roles, plan_roles) and these name differently"    = sort(flatten([for where, sets in local.differ : [for role in setunion(setsubtract(sets[0], sets[1]), setsubtract(sets[1], sets[0])) : "${where}: ${role}"]]))
    "grants to the build account that the IAM wait does not follow"                  = [for a in local.build_grants : a if !strcontains(local.refers[local.wait], "\"${a}\"")]
    "function builds that do not wait for the build account's grants"                = [for r in local.resources : r.address if r.type == "google_cloudfunctions2_function" && !strcontains(local.refers[r.address], "\"${local.wait}\"")]
    "resources other than function builds that wait for the build account's grants"  = [for r in local.resources : r.address if r.type != "google_cloudfunctions2_function" && r.address != local.wait && strcontains(local.refers[r.address], "\"${local.wait}")]
    "build grants found (none means the search for them is broken)"                  = length(local.build_grants) > 0 ? [] : ["none"]
    "resources that refer to the API enablement itself, not to its wait"             = [for r in local.resources : r.address if r.address != local.api_wait && strcontains(local.refers[r.address], "\"google_project_service.enabled")]
    "the API wait does not follow the API enablement"                                = strcontains(local.refers[local.api_wait], "\"google_project_service.enabled") ? [] : [local.api_wait]
    "the metrics' wait does not follow the log-based metrics"                        = strcontains(local.refers[local.metrics_wait], "\"google_logging_metric.this") ? [] : [local.metrics_wait]
    "alert policies that do not wait for the log-based metrics"                      = [for r in local.resources : r.address if r.type == "google_monitoring_alert_policy" && !strcontains(local.refers[r.address], "\"${local.metrics_wait}\"")]
    "examples/pipeline: resources that refer to the API enablement, not its wait"    = [for a, r in local.pipeline_refers : a if a != local.api_wait && strcontains(r.refers, "\"google_project_service.pipeline")]
    "examples/pipeline: resources ordered after neither the API wait nor a resource" = [for a, r in local.pipeline_refers : a if startswith(r.type, "google_") && r.type != "google_project_service" && !strcontains(r.refers, "\"${local.api_wait}\"") && !strcontains(r.refers, "\"google_")]
    "examples/pipeline: the API wait does not follow the API enablement"             = strcontains(try(local.pipeline_refers[local.api_wait].refers, ""), "\"google_project_service.pipeline") ? [] : [local.api_wait]
  } : name => list if length(list) > 0 }
}
