# Every output of the module, under the same name, so that `terraform
# output NAME` here answers what docs/deploy.md and scripts/smoke.sh ask
# (terraform/README.md describes each). A test keeps the two lists equal.

output "cli_env" {
  description = "terraform/README.md, outputs: cli_env."
  value       = module.watchrelay.cli_env
}

output "cloud_build_roles" {
  description = "terraform/README.md, outputs: cloud_build_roles."
  value       = module.watchrelay.cloud_build_roles
}

output "database" {
  description = "terraform/README.md, outputs: database."
  value       = module.watchrelay.database
}

output "deployer_roles" {
  description = "terraform/README.md, outputs: deployer_roles."
  value       = module.watchrelay.deployer_roles
}

output "example_subscription" {
  description = "terraform/README.md, outputs: example_subscription."
  value       = module.watchrelay.example_subscription
}

output "gmail_topic" {
  description = "terraform/README.md, outputs: gmail_topic."
  value       = module.watchrelay.gmail_topic
}

output "plan_roles" {
  description = "terraform/README.md, outputs: plan_roles."
  value       = module.watchrelay.plan_roles
}

output "plan_permissions" {
  description = "terraform/README.md, outputs: plan_permissions."
  value       = module.watchrelay.plan_permissions
}

output "receive_domain" {
  description = "terraform/README.md, outputs: receive_domain."
  value       = module.watchrelay.receive_domain
}

output "receive_public_command" {
  description = "terraform/README.md, outputs: receive_public_command."
  value       = module.watchrelay.receive_public_command
}

output "receive_url" {
  description = "terraform/README.md, outputs: receive_url."
  value       = module.watchrelay.receive_url
}

output "renew_url" {
  description = "terraform/README.md, outputs: renew_url."
  value       = module.watchrelay.renew_url
}

output "scheduler_job" {
  description = "terraform/README.md, outputs: scheduler_job."
  value       = module.watchrelay.scheduler_job
}

output "service_accounts" {
  description = "terraform/README.md, outputs: service_accounts."
  value       = module.watchrelay.service_accounts
}

output "smoke_env" {
  description = "terraform/README.md, outputs: smoke_env."
  value       = module.watchrelay.smoke_env
}

output "source_object" {
  description = "terraform/README.md, outputs: source_object."
  value       = module.watchrelay.source_object
}

output "subscribe_command" {
  description = "terraform/README.md, outputs: subscribe_command."
  value       = module.watchrelay.subscribe_command
}

output "sync_dead_letter_subscription" {
  description = "terraform/README.md, outputs: sync_dead_letter_subscription."
  value       = module.watchrelay.sync_dead_letter_subscription
}

output "sync_subscription" {
  description = "terraform/README.md, outputs: sync_subscription."
  value       = module.watchrelay.sync_subscription
}

output "sync_url" {
  description = "terraform/README.md, outputs: sync_url."
  value       = module.watchrelay.sync_url
}

output "topic" {
  description = "terraform/README.md, outputs: topic."
  value       = module.watchrelay.topic
}

output "topic_name" {
  description = "terraform/README.md, outputs: topic_name."
  value       = module.watchrelay.topic_name
}
