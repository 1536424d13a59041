# The inputs a first deployment sets; terraform/README.md lists the rest.

variable "project_id" {
  description = "The Google Cloud project to deploy watchrelay into."
  type        = string
}

variable "region" {
  description = "Region of the functions, the scheduler job, the source bucket and the image repository."
  type        = string
  default     = "us-central1"
}

variable "source_zip" {
  description = "The function source archive. Null: dist/function.zip of this checkout, which bash scripts/package.sh writes."
  type        = string
  default     = null
}

variable "deployer" {
  description = "The member that applies (terraform/README.md, deployer); the apply build passes its own account. Null: whoever applies holds roles/iam.serviceAccountUser on the project."
  type        = string
  default     = null
}

variable "alert_emails" {
  description = "Addresses the alerts are emailed to."
  type        = list(string)
  default     = []
}

variable "watches" {
  description = "Declarative watches, keyed by watch id (terraform/README.md, watches)."
  type        = any
  default     = {}
}

variable "public_receive" {
  description = "Make Receive public with an allUsers grant; false under domain-restricted sharing (docs/deploy.md). Null: the module's default."
  type        = bool
  default     = null
}

variable "enable_gmail" {
  description = "Wire the gmail.users kind; false under domain-restricted sharing unless the project is exempt (docs/deploy.md). Null: the module's default."
  type        = bool
  default     = null
}

variable "receive_domain" {
  description = "A domain to serve Receive at through a load balancer (docs/deploy.md). Null: Receive's run.app URL."
  type        = string
  default     = null
}
