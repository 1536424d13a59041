# The function source: the archive scripts/package.sh writes, given as
# source_zip (reproducible, so its hash changes exactly when the code does).
# The object is named after that hash: new code is a new object and a new
# deployment; the same code plans no change.
locals {
  source_sha256 = filesha256(var.source_zip)
  source_object = "${var.name}-${local.source_sha256}.zip"
}

resource "google_storage_bucket" "source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name}-source"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Only build inputs live here: teardown may empty it.
  force_destroy = true

  # Cloud Functions keeps its own copy of each deployed archive.
  lifecycle_rule {
    condition {
      age = var.source_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Deleted archives need no recovery window (and would cost storage).
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [time_sleep.apis]
}

resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.source.name
  name         = local.source_object
  source       = var.source_zip
  content_type = "application/zip"
}

# Function images, with old versions cleaned up so storage stays flat.
resource "google_artifact_registry_repository" "functions" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name}-functions"
  description   = "watchrelay function images, built by Cloud Functions."
  format        = "DOCKER"
  labels        = local.labels

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_versions_kept
    }
  }

  cleanup_policies {
    id     = "delete-older"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "86400s"
    }
  }

  depends_on = [time_sleep.apis]
}
