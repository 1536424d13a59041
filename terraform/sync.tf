# Sync (docs/DESIGN.md "Changes: events that carry what changed"): the third
# entry point function.go registers (SyncEntryPoint), built from the same
# archive. A Pub/Sub push subscription on the events topic hands it every
# watchrelay.notification.v1 (the standard push envelope, signed with an
# OIDC token of the push account, which alone may invoke it); it reads what
# changed through the watch's cursor (Firestore, cursors/) and publishes
# watchrelay.change.v1 and watchrelay.watch.resync.v1 to the same topic. The
# filter keeps its own events away from it. A notification it cannot handle
# after sync_max_delivery_attempts goes to a dead-letter topic, whose pull
# subscription keeps it for inspection and replay.
#
# Sync runs as Renew's service account, the watcher: the one account that
# is authorised at Google. Domain-wide delegation (a client id in the Admin
# console) and the sharing of a calendar or file are per account, and Sync
# reads exactly what Renew watches, as Renew does (delegated JWTs signed
# through signJwt as itself), with the same Firestore and topic rights. An
# account of its own would isolate nothing and make every user authorise a
# second client id and share everything twice. Only the push account, the
# OIDC identity of its subscription, is Sync's own.

# --- Variables ----------------------------------------------------------------

variable "sync_max_instances" {
  description = "Most Sync instances at once. Each takes sync_concurrency requests; a push Cloud Run cannot take is retried by Pub/Sub (retry_policy), so a cap only delays changes."
  type        = number
  default     = 10

  validation {
    condition     = var.sync_max_instances >= 1 && var.sync_max_instances <= 1000 && floor(var.sync_max_instances) == var.sync_max_instances
    error_message = "sync_max_instances must be a whole number from 1 to 1000."
  }
}

variable "sync_memory" {
  description = "Memory of a Sync instance, in Cloud Functions syntax (256M, 512M, 1G, ...). An instance holds up to sync_concurrency fetches, each one page of a list at a time."
  type        = string
  default     = "512M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.sync_memory))
    error_message = "sync_memory must look like 256M, 512Mi or 1G."
  }
}

variable "sync_cpu" {
  description = "vCPUs of a Sync instance, as Cloud Run counts them. More than one request at a time needs at least 1."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.sync_cpu)
    error_message = "sync_cpu must be 1, 2, 4, 6 or 8: Sync serves concurrent requests, which needs a whole CPU."
  }
}

variable "sync_concurrency" {
  description = "Requests one Sync instance is given at once. A request mostly sleeps (the debounce, sync_debounce) or waits on Google, Firestore and Pub/Sub, so one instance serves many."
  type        = number
  default     = 80

  validation {
    condition     = var.sync_concurrency >= 1 && var.sync_concurrency <= 1000 && floor(var.sync_concurrency) == var.sync_concurrency
    error_message = "sync_concurrency must be a whole number from 1 to 1000."
  }
}

variable "sync_timeout_seconds" {
  description = "Request timeout of Sync. It must exceed sync_timeout plus sync_debounce plus the time a request may run past sync_timeout to keep a page it read (local.sync_keep_seconds; the plan checks it), and stay within the push subscription's ack deadline (600 s), or Pub/Sub redelivers while a request still runs."
  type        = number
  default     = 300

  validation {
    condition     = var.sync_timeout_seconds >= 1 && var.sync_timeout_seconds <= 600 && floor(var.sync_timeout_seconds) == var.sync_timeout_seconds
    error_message = "sync_timeout_seconds must be a whole number from 1 to 600, the push subscription's ack deadline."
  }
}

variable "sync_ingress" {
  description = "Network ingress of Sync. Pub/Sub pushes from the same project count as internal traffic, so ALLOW_INTERNAL_ONLY admits them; IAM limits callers to the push account either way."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.sync_ingress)
    error_message = "sync_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "sync_debounce" {
  description = "WATCHRELAY_SYNC_DEBOUNCE: how long Sync waits after the notification that starts a fetch, so that a storm of them becomes one fetch (Go duration; 0s for none). Null: the function's own default (internal/config, 2s)."
  type        = string
  default     = null

  validation {
    condition     = var.sync_debounce == null || can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.sync_debounce))
    error_message = "sync_debounce must be a Go duration such as 2s or 500ms."
  }
}

variable "sync_timeout" {
  description = "WATCHRELAY_SYNC_TIMEOUT: how long one fetch may run (Go duration). Sync's lease on a watch's cursor lasts a minute longer, and must end within the push subscription's ack deadline (600 s), so that a redelivery finds the lease of a dead attempt over: at most 539s. Null: the function's own default (internal/config, 4m)."
  type        = string
  default     = null

  validation {
    condition     = var.sync_timeout == null || try(can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.sync_timeout)) && can(regex("[1-9]", var.sync_timeout)), false)
    error_message = "sync_timeout must be a positive Go duration such as 4m."
  }

  validation {
    # The lease (sync_timeout + 1 minute) under the ack deadline (600 s).
    condition = var.sync_timeout == null || try(sum([
      for u in regexall("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)", var.sync_timeout) : tonumber(u[0]) * { h = 3600, m = 60, s = 1, ms = 0.001 }[u[1]]
    ]) + 60 < 600, false)
    error_message = "sync_timeout plus Sync's one-minute lease margin must stay under the push subscription's ack deadline (600 s): at most 539s (8m59s)."
  }
}

variable "sync_max_delivery_attempts" {
  description = "Deliveries of one notification to Sync before it goes to the dead-letter topic <name>-sync-dead-letter."
  type        = number
  default     = 10

  validation {
    condition     = var.sync_max_delivery_attempts >= 5 && var.sync_max_delivery_attempts <= 100 && floor(var.sync_max_delivery_attempts) == var.sync_max_delivery_attempts
    error_message = "sync_max_delivery_attempts must be a whole number from 5 to 100, as Pub/Sub requires."
  }
}

# --- The function ---------------------------------------------------------------

locals {
  sync_url = google_cloudfunctions2_function.watcher["sync"].service_config[0].uri

  # The Sync defaults of internal/config (Defaults.SyncDebounce,
  # Defaults.SyncTimeout), for the checks only (Sync's in
  # local.watcher_functions, functions.tf, and the trigger's below): a null
  # variable is left out of the environment, so the function's own default
  # applies. internal/config's TestTerraform checks that the two agree.
  sync_default_debounce_seconds = 2
  sync_default_timeout_seconds  = 240
  # How far past sync_timeout a request may run to publish and record a
  # page it read (changes.KeepTimeout): the function's timeout leaves room
  # for it.
  sync_keep_seconds = 20

  # The variables in seconds, as renew_interval's (functions.tf).
  sync_debounce_seconds = var.sync_debounce == null ? local.sync_default_debounce_seconds : sum([
    for u in regexall("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)", var.sync_debounce) : tonumber(u[0]) * { h = 3600, m = 60, s = 1, ms = 0.001 }[u[1]]
  ])
  sync_timeout_seconds = var.sync_timeout == null ? local.sync_default_timeout_seconds : sum([
    for u in regexall("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)", var.sync_timeout) : tonumber(u[0]) * { h = 3600, m = 60, s = 1, ms = 0.001 }[u[1]]
  ])

  # The push subscription's ack deadline: Pub/Sub's longest. Sync's lease
  # on a cursor (sync_timeout + 60 s) must end before it.
  sync_ack_deadline_seconds = 600
}

# The function itself is google_cloudfunctions2_function.watcher["sync"]
# (functions.tf), from its entry in local.watcher_functions: a watcher
# function, as Renew.

# Domain-wide delegation needs no grant of Sync's own: it signs the
# delegated JWT as the watcher, through renew_token_creator (iam.tf), and
# Firestore and the events topic are the watcher's grants too.

# The push account may invoke Sync, and nothing else does: Sync is private
# (google_cloud_run_service_iam_member.watcher_invoker["sync"], iam.tf).

# Pub/Sub's service agent signs the push's OIDC token as the push account.
# Projects created since 8 April 2021 let it without a grant; older ones
# need this one (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions),
# given here on the push account alone rather than on the project.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.this["push"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# --- The trigger ------------------------------------------------------------------

# Notifications Sync gave up on, kept 7 days by the topic and by the pull
# subscription below.
resource "google_pubsub_topic" "sync_dead_letter" {
  project                    = var.project_id
  name                       = "${var.name}-sync-dead-letter"
  labels                     = local.labels
  message_retention_duration = "604800s"

  depends_on = [time_sleep.apis]
}

locals {
  # Sync's triggers: the push subscriptions that hand it messages, each from
  # its topic to Sync's endpoint with the push account's identity, the same
  # deadline, retries and dead letters. name is the subscription's.
  sync_triggers = merge({
    # Notifications only: never Sync's own change and resync events.
    events = {
      name   = "${var.name}-sync"
      topic  = google_pubsub_topic.events.id
      filter = "attributes.ce-type = \"watchrelay.notification.v1\""
    }
    }, var.enable_gmail ? {
    # Gmail's pushes (pubsub_kinds.tf): no filter, since everything on the
    # inbound Gmail topic is Gmail's.
    gmail = {
      name   = "${var.name}-gmail"
      topic  = google_pubsub_topic.gmail[0].id
      filter = null
    }
  } : {})
}

resource "google_pubsub_subscription" "sync" {
  for_each = local.sync_triggers

  project = var.project_id
  name    = each.value.name
  topic   = each.value.topic
  labels  = local.labels
  filter  = each.value.filter
  # Pub/Sub's longest: a push waits this long for Sync's answer, and Sync's
  # lease on a cursor (sync_timeout + 60 s) ends within it.
  ack_deadline_seconds = local.sync_ack_deadline_seconds
  # Sync coalesces per watch itself (a lease in Firestore): ordering would
  # only hold a watch's later notifications behind a slow fetch.
  enable_message_ordering    = false
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = local.sync_url
    oidc_token {
      service_account_email = google_service_account.this["push"].email
      audience              = local.sync_url
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  # One dead-letter topic for every trigger: one place to look, one alert
  # (monitoring.tf, "Sync's dead letters").
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.sync_dead_letter.id
    max_delivery_attempts = var.sync_max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires while idle
  }

  lifecycle {
    precondition {
      condition     = local.sync_timeout_seconds + 60 < local.sync_ack_deadline_seconds
      error_message = "sync_timeout (${coalesce(var.sync_timeout, "4m")}) plus Sync's one-minute lease margin must stay under the ack deadline (${local.sync_ack_deadline_seconds} s)."
    }
  }

  # The first pushes find the push account allowed to invoke Sync.
  depends_on = [google_cloud_run_service_iam_member.watcher_invoker["sync"]]
}

resource "google_pubsub_subscription" "sync_dead_letter" {
  project                    = var.project_id
  name                       = "${var.name}-sync-dead-letter"
  topic                      = google_pubsub_topic.sync_dead_letter.id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent (pubsub.tf): it
# publishes to the dead-letter topic and acknowledges on each push
# subscription.
resource "google_pubsub_topic_iam_member" "sync_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "sync_dead_letter_subscriber" {
  for_each = local.sync_triggers

  project      = var.project_id
  subscription = google_pubsub_subscription.sync[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# --- Outputs ------------------------------------------------------------------------

output "sync_url" {
  description = "Sync's URL, the push subscription's endpoint, invocable by the push account only."
  value       = local.sync_url
}

output "sync_subscription" {
  description = "The push subscription that hands notifications to Sync (full name). `watchrelay replay --subscription <its short name>` delivers past notifications to Sync again."
  value       = google_pubsub_subscription.sync["events"].id
}

output "sync_dead_letter_subscription" {
  description = "The pull subscription that keeps, for 7 days, the notifications Sync gave up on (full name): inspect them with gcloud pubsub subscriptions pull."
  value       = google_pubsub_subscription.sync_dead_letter.id
}
