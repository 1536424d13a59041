# watches/ and channels/ live in one Firestore database: created here, or
# an existing one (a project has at most one (default)).
resource "google_firestore_database" "this" {
  count = var.create_database ? 1 : 0

  project     = var.project_id
  name        = local.database_id
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"
  # Teardown leaves the database and its documents; delete it by hand.
  deletion_policy = "ABANDON"

  lifecycle {
    # A database cannot move, and with ABANDON a replacement would only
    # meet the old one again (409): an adopted database (import_database)
    # keeps its location, and its point-in-time recovery, whatever the
    # variables say.
    ignore_changes = [location_id, point_in_time_recovery_enablement]
  }

  depends_on = [time_sleep.apis]
}

locals {
  database = var.create_database ? google_firestore_database.this[0].name : local.database_id

  # The composite indexes behind the store's queries (DueWatches and
  # ChannelsByState), from store.Indexes through indexes.json, which a Go
  # test keeps equal to the code.
  indexes = {
    for ix in jsondecode(file("${path.module}/indexes.json")) :
    "${ix.collection}:${join(",", [for f in ix.fields : f.path])}" => ix
  }
}

resource "google_firestore_index" "store" {
  for_each = local.indexes

  project     = var.project_id
  database    = local.database
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.path
      order      = fields.value.order
    }
  }

  # With create_database = false nothing else orders this after the API.
  depends_on = [time_sleep.apis]
}

# Retired channels carry deleteAt (Renew sets it when it stops them), and so
# do strays (Receive sets it when it records one); Firestore deletes them
# after that time. Live channels have no deleteAt. The field is never
# queried, so it is exempt from single-field indexing.
resource "google_firestore_field" "channels_delete_at" {
  project    = var.project_id
  database   = local.database
  collection = "channels"
  field      = "deleteAt"

  ttl_config {}
  index_config {}

  depends_on = [time_sleep.apis]
}

resource "google_firestore_field" "strays_delete_at" {
  project    = var.project_id
  database   = local.database
  collection = "strays"
  field      = "deleteAt"

  ttl_config {}
  index_config {}

  depends_on = [time_sleep.apis]
}
