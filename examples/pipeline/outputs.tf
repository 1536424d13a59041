output "triggers" {
  description = "The two triggers' ids: plan (every branch) and apply (main, with approval)."
  value       = { for k, t in google_cloudbuild_trigger.this : k => t.trigger_id }
}

output "plan_account" {
  description = "The plan build's account (email)."
  value       = google_service_account.plan.email
}

output "deploy_account" {
  description = "The apply build's account (email); the builds pass it to the module as deployer."
  value       = google_service_account.deploy.email
}
