# A project holds one (default) Firestore database for good: Firebase and
# App Engine create it, and this module's own teardown leaves it behind
# (deletion_policy ABANDON, firestore.tf). Creating it again fails with 409
# "Database already exists". import_database adopts the one that is there:
# the plan says "1 to import" for it instead of "1 to add", and from then
# on this state manages it as if it had created it. So the second apply of
# apply -> destroy -> apply takes import_database = true.

variable "import_database" {
  description = "Adopt the existing Firestore database database_id into this state instead of creating it (a project that used Firebase or App Engine, or a (default) left by an earlier terraform destroy). Needs create_database = true; gcloud firestore databases list shows what exists. A database in Datastore mode is switched to Native mode if it is empty, and refused by Firestore otherwise."
  type        = bool
  default     = false
}

import {
  for_each = var.create_database && var.import_database ? toset([var.database_id]) : toset([])

  to = google_firestore_database.this[0]
  id = "projects/${var.project_id}/databases/${each.value}"
}

check "import_database_needs_create_database" {
  assert {
    condition     = var.create_database || !var.import_database
    error_message = "import_database = true does nothing with create_database = false: the module then leaves the database alone, so either drop import_database or set create_database = true to adopt it."
  }
}
