# Declarative watches: each entry of var.watches becomes a watches/{id}
# document in the shape store.Watch reads, in state active with no channel.
# Renew picks it up on its next pass: its query is state == "active" and
# channelExpiration < now + renew_before, so channelExpiration must be
# present and in the past (a missing field never matches a range query);
# it is the zero time, as the Go client writes it.
locals {
  zero_time = "0001-01-01T00:00:00Z"

  watch_fields = {
    for id, w in var.watches : id => merge(
      {
        kind              = { stringValue = w.kind }
        params            = { mapValue = { fields = { for k, v in w.params : k => { stringValue = v } } } }
        labels            = { mapValue = { fields = { for k, v in w.labels : k => { stringValue = v } } } }
        state             = { stringValue = "active" }
        channelId         = { stringValue = "" }
        channelExpiration = { timestampValue = local.zero_time }
        lastError         = { stringValue = "" }
        failures          = { integerValue = "0" }
        createdAt         = { timestampValue = plantimestamp() }
        updatedAt         = { timestampValue = plantimestamp() }
        leaseUntil        = { timestampValue = local.zero_time }
      },
      w.subject == null ? {} : { subject = { stringValue = w.subject } },
      w.address == null ? {} : { address = { stringValue = w.address } },
      w.ttl_seconds == null ? {} : { ttlSeconds = { integerValue = tostring(w.ttl_seconds) } },
    )
  }
}

# What the user declared, without the bookkeeping: a change here replaces
# the document below.
resource "terraform_data" "watch_spec" {
  for_each = var.watches

  input = each.value

  lifecycle {
    precondition {
      # google.CheckTTL, which the CLI's watch add applies: a channel must
      # live through two passes, or it lapses between them.
      condition     = each.value.ttl_seconds == null || try(each.value.ttl_seconds >= 2 * local.renew_interval_seconds, false)
      error_message = "Watch ${each.key}: ttl_seconds must be at least ${ceil(2 * coalesce(local.renew_interval_seconds, 0))}, two renew_interval (${local.renew_interval}) passes, or its channel would lapse between passes."
    }
  }
}

resource "google_firestore_document" "watch" {
  for_each = var.watches

  project     = var.project_id
  database    = local.database
  collection  = "watches"
  document_id = each.key
  fields      = jsonencode(local.watch_fields[each.key])

  lifecycle {
    # Renew owns channelId, channelExpiration, state and the bookkeeping
    # once the document exists: an update here would write the whole
    # document back and orphan the live channel. A changed declaration
    # replaces the document instead.
    ignore_changes       = [fields]
    replace_triggered_by = [terraform_data.watch_spec[each.key]]
  }

  depends_on = [google_firestore_index.store]
}
