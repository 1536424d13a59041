# A project holds one (default) Firestore database for good: Firebase and
# App Engine create it, and the module's own teardown leaves it behind
# (deletion_policy ABANDON, terraform/firestore.tf). Creating it again fails
# with 409 "Database already exists". import_database adopts the one that
# is there: the plan says "1 to import" for it instead of "1 to add", and
# from then on this state manages it as if it had created it. So the second
# apply of apply -> destroy -> apply takes import_database = true. Import
# blocks live in the root module only, hence here and not in terraform/.

variable "import_database" {
  description = "Adopt the existing (default) Firestore database into this state instead of creating it (a project that used Firebase or App Engine, or a (default) left by an earlier terraform destroy). gcloud firestore databases list shows what exists. A database in Datastore mode is switched to Native mode if it is empty, and refused by Firestore otherwise."
  type        = bool
  default     = false
}

locals {
  # The database ids adopted: the import block's, which the tests read.
  adopted_databases = var.import_database ? toset(["projects/${var.project_id}/databases/(default)"]) : toset([])
}

import {
  for_each = local.adopted_databases

  to = module.watchrelay.google_firestore_database.this[0]
  id = each.value
}
