# A new IAM grant takes a minute or more to reach every Google service
# (https://cloud.google.com/iam/docs/access-change-propagation), and a
# function build that starts before its account's grants have arrived fails
# with "Access to bucket gcf-v2-sources-... denied" or a refused image push
# (hashicorp/terraform-provider-google#20571). So the functions wait here,
# after the build account's grants, on the first apply and whenever one of
# those grants is made anew. Nothing else waits: the runtime grants
# (Firestore, the topic, the scheduler's invoker) are first used by requests,
# and a request that comes too early is retried (scripts/smoke.sh retries).

variable "iam_propagation_wait" {
  description = "How long the function builds wait after the build account's grants are made, so the first build finds them in force (a Go duration; 0s to skip). Google documents propagation as usually under 2 minutes, at times 7: raise it if a first build still fails on access to gcf-v2-sources-* or the image repository."
  type        = string
  default     = "120s"

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a duration in h, m and s, such as 120s or 2m."
  }
}

# The grants the build reads through, by name. The wait refers to each (so
# it starts after all of them) and is made again, and waits again, when one
# of them is replaced, e.g. when the build account is recreated.
resource "time_sleep" "build_grants" {
  create_duration = var.iam_propagation_wait

  triggers = {
    log_writer     = google_project_iam_member.build_log_writer.id
    image_writer   = google_artifact_registry_repository_iam_member.build_writer.id
    source_reader  = google_storage_bucket_iam_member.build_source_reader.id
    staging_reader = google_project_iam_member.build_staging_reader.id
  }
}
