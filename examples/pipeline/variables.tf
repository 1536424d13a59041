variable "project_id" {
  description = "The project watchrelay is deployed to, where the triggers run."
  type        = string
}

variable "region" {
  description = "The deployment's region (the builds' _REGION)."
  type        = string
  default     = "us-central1"
}

variable "name" {
  description = "Prefix of the two accounts (NAME-plan, NAME-deploy); also the prefix of the deployments' names, whose source buckets (PROJECT-NAME...-source) the plan account may read."
  type        = string
  default     = "watchrelay"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,21}$", var.name))
    error_message = "name must be 1 to 22 lowercase letters, digits or hyphens, starting with a letter, so NAME-deploy is a valid account id."
  }
}

variable "state_bucket" {
  description = "The GCS bucket of the deployment's Terraform state (the builds' _TF_STATE_BUCKET). It must exist; the plan account may read it, the deploy account read and write its objects."
  type        = string
}

variable "state_prefix" {
  description = "The state's prefix in state_bucket (the builds' _TF_STATE_PREFIX)."
  type        = string
  default     = "watchrelay"
}

variable "github" {
  description = "A GitHub repository connected to Cloud Build (1st gen, the Cloud Build GitHub App): its owner and name. Give this or repository."
  type = object({
    owner = string
    name  = string
  })
  default = null
}

variable "repository" {
  description = "A 2nd-gen repository connection's repository, projects/PROJECT/locations/REGION/connections/CONNECTION/repositories/REPOSITORY (GitHub, GitLab or Bitbucket); the triggers are made in its region. Give this or github."
  type        = string
  default     = null

  validation {
    condition     = var.repository == null || can(regex("^projects/[^/]+/locations/[^/]+/connections/[^/]+/repositories/[^/]+$", var.repository))
    error_message = "repository must be projects/PROJECT/locations/REGION/connections/CONNECTION/repositories/REPOSITORY."
  }
}

variable "approvers" {
  description = "Members who may approve the apply builds (roles/cloudbuild.builds.approver), e.g. [\"group:release@example.com\"]. Empty: grant the role by hand; until someone holds it, no apply build starts."
  type        = list(string)
  default     = []
}

variable "receive_domain" {
  description = "Whether the deployment sets receive_domain (the load balancer): the deploy account then also gets roles/compute.loadBalancerAdmin and the plan account roles/compute.viewer."
  type        = bool
  default     = false
}

variable "databases" {
  description = "The Firestore databases of the deployments the plan build plans (each copy's database_id: (default) for the copy named watchrelay, the copy's name for another). The plan account may read these alone."
  type        = list(string)
  default     = ["(default)"]

  validation {
    condition     = length(var.databases) > 0 && alltrue([for d in var.databases : d == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", d))])
    error_message = "databases must list at least one Firestore database id: (default), or 4 to 63 lowercase letters, digits and hyphens starting with a letter."
  }
}

variable "api_propagation_wait" {
  description = "How long the accounts, grants, bucket and triggers wait after the APIs are enabled (a Go duration; 0s to skip), as the module's api_propagation_wait."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.api_propagation_wait))
    error_message = "api_propagation_wait must be a duration in h, m and s, such as 60s or 2m."
  }
}

variable "plan_log_days" {
  description = "Days the plan builds' logs are kept in their bucket (cloudbuild.yaml's logsBucket) before they are deleted."
  type        = number
  default     = 90
}
