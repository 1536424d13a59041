# Whoever applies the module acts as its accounts (iam.serviceAccounts.actAs):
# the functions run and build as them, the scheduler job and the push
# subscriptions sign OIDC tokens as them. Granted on the project,
# roles/iam.serviceAccountUser would let the deployer act as every account
# there, the watcher's among them wherever it lives; granted here, it
# reaches the module's own accounts and no other.
#
# The first apply works without any prior grant of it: the deployer holds
# roles/iam.serviceAccountAdmin (roles.tf), whose
# iam.serviceAccounts.setIamPolicy lets it make these bindings on the
# accounts it has just created. A new binding takes a while to be honoured
# (iam_wait.tf), so the functions wait for these too; the scheduler job
# and the push subscriptions come after the functions (they call their
# URLs), and so after the wait.

variable "deployer" {
  description = "The member that applies this module (serviceAccount:EMAIL, user:EMAIL or group:EMAIL), e.g. the deploy account of cloudbuild-apply.yaml. The module grants it roles/iam.serviceAccountUser on each of its own service accounts, so it needs that role nowhere else. Null: no grant, and whoever applies needs the role on the project (the deployer_roles output then lists it)."
  type        = string
  default     = null

  validation {
    condition     = var.deployer == null || can(regex("^(serviceAccount|user|group|principal|principalSet):[^\\s]+$", var.deployer))
    error_message = "deployer must be an IAM member, such as serviceAccount:deploy@PROJECT.iam.gserviceaccount.com or user:me@example.com."
  }
}

resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = var.deployer == null ? toset([]) : toset(keys(local.service_accounts))

  service_account_id = google_service_account.this[each.key].name
  role               = "roles/iam.serviceAccountUser"
  member             = var.deployer
}

# The functions' creation is refused until the deployer's actAs is in
# force: they wait for it, as for the build account's grants, and wait again
# when a grant is made anew.
resource "time_sleep" "deployer_grants" {
  count = var.deployer == null ? 0 : 1

  create_duration = var.iam_propagation_wait
  triggers        = { for k, g in google_service_account_iam_member.deployer_acts_as : k => g.id }
}
