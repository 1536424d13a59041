# Checks that scripts/terraform-check.sh runs over the real provider's plan
# of examples/two-copies (`terraform show -json`): the two module calls
# share no resource name. Every planned resource of each copy gives its
# name-like arguments as "argument=value"; the script asks terraform
# console for local.failures and fails unless it is empty. No provider, no
# state: plain Terraform functions over one file.

variable "plan_json" {
  description = "The plan of examples/two-copies, as terraform show -json writes it."
  type        = string
}

locals {
  changes = jsondecode(file(var.plan_json)).resource_changes

  # What names a resource in its project: a second copy that repeats one
  # of these meets a 409, or takes over the first copy's resource, topic,
  # account, metric, alert or database. Bucket, topic, subscription and
  # service name the parent of an IAM binding.
  name_arguments = ["name", "account_id", "repository_id", "display_name", "database", "bucket", "topic", "subscription", "service"]

  # An IAM member resource is one binding: two copies that grant the same
  # role to the same member on the same parent (a project-wide grant to a
  # shared service agent, say) each own it, and destroying one removes the
  # other's. The parent is the project for a project's binding, else the
  # resource the binding is on.
  binding_parents = ["topic", "subscription", "bucket", "service", "service_account_id", "repository"]

  # The APIs are the project's: both copies enable them, neither disables
  # them on destroy (terraform/apis.tf), so they are shared by design.
  shared_by_design = ["google_project_service"]

  copies = distinct([for r in local.changes : r.module_address if try(r.module_address, "") != ""])

  names = {
    for copy in local.copies : copy => toset(flatten([
      for r in local.changes : concat(
        [for a in local.name_arguments : "${a}=${r.change.after[a]}" if try(tostring(r.change.after[a]), null) != null],
        # A dashboard's name is inside its JSON (which the plan knows only
        # when it names no alert policy: terraform/tests/copies.tftest.hcl
        # checks it after a mock apply), an IAM condition's in its block.
        try(["displayName=${jsondecode(r.change.after.dashboard_json).displayName}"], []),
        [for t in try(r.change.after.condition, []) : "condition.title=${t.title}" if try(t.title, null) != null],
        # A binding whose member or parent the plan does not know yet (made
        # by the same apply: a service account, a function's service) is
        # the copy's own.
        [for parent in [r.type == "google_project_iam_member" ? try(tostring(r.change.after.project), null) : try([for p in local.binding_parents : tostring(r.change.after[p]) if try(tostring(r.change.after[p]), null) != null][0], null)] :
          "binding=${r.type} ${parent} ${r.change.after.role} ${r.change.after.member}"
          if endswith(r.type, "_iam_member") && parent != null && try(tostring(r.change.after.member), null) != null
        ],
      ) if r.module_address == copy && !contains(local.shared_by_design, r.type)
    ]))
  }

  shared = length(local.copies) == 2 ? sort(setintersection(local.names[local.copies[0]], local.names[local.copies[1]])) : []

  failures = { for name, list in {
    "the plan must call the module twice (examples/two-copies)" = length(local.copies) == 2 ? [] : local.copies
    "names both copies use"                                     = local.shared
    # The search must find the names it compares, or the check proves nothing.
    "copies with fewer than 50 names found" = [for c in local.copies : "${c}: ${length(local.names[c])}" if length(local.names[c]) < 50]
  } : name => list if length(list) > 0 }
}
