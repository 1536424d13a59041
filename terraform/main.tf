# watchrelay on Google Cloud: three Cloud Functions (Receive, Renew, Sync), a
# scheduler job that calls Renew, a Pub/Sub topic for the events with a push
# subscription that calls Sync, Firestore for watches, channels and cursors.
# Files are split by concern: apis.tf, iam.tf, source.tf, functions.tf,
# scheduler.tf, pubsub.tf, firestore.tf, watches.tf, sync.tf, pubsub_kinds.tf
# (the kinds Google delivers through Pub/Sub).

locals {
  # Entry points registered by function.go (ReceiveEntryPoint,
  # RenewEntryPoint, SyncEntryPoint).
  entry_points = {
    receive = "Receive"
    renew   = "Renew"
    sync    = "Sync"
  }

  # go.mod's go line must stay at or below this runtime's Go version.
  runtime = "go126"

  labels = merge({ app = "watchrelay" }, var.labels)

  # Names a second copy must not share with the first (variables.tf,
  # name): the events topic, and the Firestore database, where (default)
  # is left to the copy that keeps the default name.
  topic_name  = coalesce(var.topic_name, "${var.name}-events")
  database_id = coalesce(var.database_id, var.name == "watchrelay" ? "(default)" : var.name)

  # docs/DESIGN.md "Configuration", read by every function (internal/config).
  # A tuning variable left null is left out, so the function's own default
  # applies: internal/config's Defaults are the one source of them.
  environment = merge({
    GOOGLE_CLOUD_PROJECT = var.project_id
    WATCHRELAY_TOPIC     = google_pubsub_topic.events.name
    WATCHRELAY_DATABASE  = local.database
    }, { for k, v in {
      WATCHRELAY_RENEW_BEFORE      = var.renew_before
      WATCHRELAY_GRACE             = var.grace
      WATCHRELAY_RENEW_CONCURRENCY = var.renew_concurrency == null ? null : tostring(var.renew_concurrency)
      WATCHRELAY_RENEW_QPS         = var.renew_qps == null ? null : tostring(var.renew_qps)
  } : k => v if v != null })

  # Renew's and Sync's, the watcher's: the inbound Gmail topic's id
  # (pubsub_kinds.tf), which Renew names in users.watch and Sync reads
  # Gmail's pushes from. Receive has no use for it. Without enable_gmail it
  # is left unset: only a gmail.users watch reads it (Renew's users.watch),
  # and the watches variable takes none; one added with the CLI fails its
  # users.watch on the missing topic, alone.
  watcher_environment = merge(local.environment, var.enable_gmail ? {
    WATCHRELAY_GMAIL_TOPIC = google_pubsub_topic.gmail[0].name
  } : {})
}
