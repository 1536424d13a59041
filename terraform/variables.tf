variable "project_id" {
  description = "The Google Cloud project to deploy watchrelay into."
  type        = string

  validation {
    # The format of a project id; its length (6 to 30) is left to the API,
    # so that offline plans with a short example id (demo) work.
    condition     = can(regex("^[a-z][a-z0-9-]{0,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (lowercase letters, digits and hyphens, starting with a letter), not a name or number."
  }
}

variable "region" {
  description = "Region of the functions, the scheduler job, the source bucket and the image repository."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Cloud region such as us-central1 or europe-west1."
  }
}

variable "name" {
  description = "Prefix of every resource name (functions, service accounts, topics, subscriptions, scheduler job, metrics, alerts, dashboard, bucket, image repository) and, unless database_id says otherwise, the Firestore database of any copy not named watchrelay. Two module blocks that differ only in name share nothing (examples/two-copies)."
  type        = string
  default     = "watchrelay"

  validation {
    # The longest service account id is "<name>-scheduler", at most 30
    # characters; a database named after it needs at least 4.
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.name))
    error_message = "name must be 4 to 20 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen: <name>-scheduler must fit a service account id (30 characters), and name a Firestore database id (at least 4)."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes labels."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the Google Cloud APIs watchrelay uses. Turn off when a platform team enables APIs centrally."
  type        = bool
  default     = true
}

variable "enable_workspace_apis" {
  description = "Also enable the APIs of the kinds: Calendar, Drive and Admin SDK (channels), Gmail (users.watch), Workspace Events, and Chat (which a Workspace subscription to a Chat space needs)."
  type        = bool
  default     = true
}

# --- Source ---------------------------------------------------------------

variable "source_zip" {
  description = "Path of the function source archive that scripts/package.sh writes (dist/function.zip of a checkout). A relative path is read from the directory terraform runs in; pass an absolute one, or build it from path.root."
  type        = string

  validation {
    condition     = var.source_zip != null && endswith(coalesce(var.source_zip, "-"), ".zip") && fileexists(coalesce(var.source_zip, "-"))
    error_message = "source_zip must be the path of an existing .zip, the archive scripts/package.sh writes (run it first: bash scripts/package.sh writes dist/function.zip)."
  }
}

variable "source_retention_days" {
  description = "Source archives older than this are deleted from the bucket. Cloud Functions keeps its own copy, so only a re-upload (a no-op for the functions) follows."
  type        = number
  default     = 30

  validation {
    condition     = var.source_retention_days >= 1 && floor(var.source_retention_days) == var.source_retention_days
    error_message = "source_retention_days must be a whole number of days, at least 1."
  }
}

variable "image_versions_kept" {
  description = "How many function images the Artifact Registry repository keeps; older ones are deleted."
  type        = number
  default     = 4

  validation {
    condition     = var.image_versions_kept >= 1 && floor(var.image_versions_kept) == var.image_versions_kept
    error_message = "image_versions_kept must be a whole number, at least 1."
  }
}

# --- Functions ------------------------------------------------------------

variable "receive_max_instances" {
  description = "Most Receive instances at once. Each answers 503 past its in-flight bound, which Google retries, so a cap only delays notifications; the platform's own refusal, a 429, Google does not retry (see receive_concurrency)."
  type        = number
  default     = 20

  validation {
    condition     = var.receive_max_instances >= 1 && var.receive_max_instances <= 1000 && floor(var.receive_max_instances) == var.receive_max_instances
    error_message = "receive_max_instances must be a whole number from 1 to 1000."
  }
}

variable "renew_max_instances" {
  description = "Most Renew instances at once. Passes lease their watches, so overlap is safe; one is enough."
  type        = number
  default     = 1

  validation {
    condition     = var.renew_max_instances >= 1 && var.renew_max_instances <= 100 && floor(var.renew_max_instances) == var.renew_max_instances
    error_message = "renew_max_instances must be a whole number from 1 to 100."
  }
}

variable "receive_memory" {
  description = "Memory of a Receive instance, in Cloud Functions syntax (256M, 512M, 1G, ...)."
  type        = string
  default     = "256M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.receive_memory))
    error_message = "receive_memory must look like 256M, 512Mi or 1G."
  }
}

variable "renew_memory" {
  description = "Memory of a Renew instance, in Cloud Functions syntax (256M, 512M, 1G, ...)."
  type        = string
  default     = "256M"

  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.renew_memory))
    error_message = "renew_memory must look like 256M, 512Mi or 1G."
  }
}

variable "receive_timeout_seconds" {
  description = "Request timeout of Receive. A notification is one Firestore read and one Pub/Sub publish."
  type        = number
  default     = 60

  validation {
    condition     = var.receive_timeout_seconds >= 1 && var.receive_timeout_seconds <= 3600 && floor(var.receive_timeout_seconds) == var.receive_timeout_seconds
    error_message = "receive_timeout_seconds must be a whole number from 1 to 3600."
  }
}

variable "receive_concurrency" {
  description = "Requests one Receive instance is given at once. Each notification mostly waits on Firestore and Pub/Sub, so one instance with a full CPU serves many; a quarter of them (at least one) is kept to answer the excess 503 at once (WATCHRELAY_RECEIVE_MAX_IN_FLIGHT is the rest), so the platform never refuses with a 429, which Google does not retry. docs/configuration.md has the arithmetic."
  type        = number
  default     = 80

  validation {
    # 2 at least: one slot held, one to answer 503 past it.
    condition     = var.receive_concurrency >= 2 && var.receive_concurrency <= 1000 && floor(var.receive_concurrency) == var.receive_concurrency
    error_message = "receive_concurrency must be a whole number from 2 to 1000."
  }
}

variable "receive_cpu" {
  description = "vCPUs of a Receive instance, as Cloud Run counts them. More than one request at a time needs at least 1."
  type        = string
  default     = "1"

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.receive_cpu)
    error_message = "receive_cpu must be 1, 2, 4, 6 or 8: Receive serves concurrent requests, which needs a whole CPU."
  }
}

variable "receive_deadline" {
  description = "WATCHRELAY_RECEIVE_TIMEOUT: how long Receive works on one notification before it answers 503, when Firestore or Pub/Sub hangs (Go duration, under receive_timeout_seconds). Null: the function's own default (internal/config, 10s)."
  type        = string
  default     = null

  validation {
    condition     = var.receive_deadline == null || try(can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.receive_deadline)) && can(regex("[1-9]", var.receive_deadline)), false)
    error_message = "receive_deadline must be a positive Go duration such as 10s."
  }
}

variable "renew_timeout_seconds" {
  description = "Request timeout of Renew, which bounds one reconcile pass."
  type        = number
  default     = 300

  validation {
    condition     = var.renew_timeout_seconds >= 1 && var.renew_timeout_seconds <= 3600 && floor(var.renew_timeout_seconds) == var.renew_timeout_seconds
    error_message = "renew_timeout_seconds must be a whole number from 1 to 3600."
  }
}

variable "renew_ingress" {
  description = "Network ingress of Renew. IAM already limits it to the scheduler's account; ALLOW_INTERNAL_ONLY also needs the scheduler to count as internal traffic in your setup."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.renew_ingress)
    error_message = "renew_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "public_receive" {
  description = "Grant roles/run.invoker to allUsers on Receive, which Google's push needs (it sends no credentials). Set false where an org policy (domain-restricted sharing) forbids allUsers, then turn off Receive's invoker IAM check with the receive_public_command output (docs/deploy.md)."
  type        = bool
  default     = true
  # A root that passes its own null through (examples/quickstart) gets
  # this default, written only here.
  nullable = false
}

# --- Renew's behaviour (docs/DESIGN.md "Configuration") --------------------------

variable "renew_before" {
  description = "WATCHRELAY_RENEW_BEFORE: replace a channel this long before it expires, or at half its lifetime when that comes later (Go duration). At least two renew_interval periods, and under the shortest kind's lifetime (docs/DESIGN.md, Kinds): Renew refuses to start otherwise. Null: the function's own default (internal/config, 90m)."
  type        = string
  default     = null

  validation {
    condition     = var.renew_before == null || can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.renew_before))
    error_message = "renew_before must be a Go duration such as 90m or 2h30m."
  }
}

variable "renew_interval" {
  description = "WATCHRELAY_RENEW_INTERVAL: how often renew_schedule runs Renew (Go duration). Null: renew_schedule's period, read from the plain forms (every N minutes, hourly, every N hours); set it for any other schedule, and the plan checks that it equals a plain one. renew_before must cover two intervals, and a watch's ttl_seconds too, or a missed pass lets a channel lapse."
  type        = string
  default     = null

  validation {
    # A Go duration, and not zero (a non-zero digit somewhere): Renew
    # checks its windows against it.
    condition     = var.renew_interval == null || try(can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.renew_interval)) && can(regex("[1-9]", var.renew_interval)), false)
    error_message = "renew_interval must be a positive Go duration such as 10m or 1h, the period of renew_schedule."
  }
}

variable "grace" {
  description = "WATCHRELAY_GRACE: how long a retired channel's notifications are still accepted (Go duration). Null: the function's own default (internal/config, 10m)."
  type        = string
  default     = null

  validation {
    condition     = var.grace == null || can(regex("^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$", var.grace))
    error_message = "grace must be a Go duration such as 10m."
  }
}

variable "renew_concurrency" {
  description = "WATCHRELAY_RENEW_CONCURRENCY: watches one pass works on at once. Null: the function's own default (internal/config, 8)."
  type        = number
  default     = null

  validation {
    condition     = var.renew_concurrency == null || try(var.renew_concurrency >= 1 && floor(var.renew_concurrency) == var.renew_concurrency, false)
    error_message = "renew_concurrency must be a whole number, at least 1."
  }
}

variable "renew_qps" {
  description = "WATCHRELAY_RENEW_QPS: Google API calls per second one pass may make. Null: the function's own default (internal/config, 10)."
  type        = number
  default     = null

  validation {
    condition     = var.renew_qps == null || try(var.renew_qps > 0, false)
    error_message = "renew_qps must be positive."
  }
}

# --- Scheduler --------------------------------------------------------------

variable "renew_schedule" {
  description = "Cron schedule of the Renew pass. Its period must equal renew_interval and stay well under renew_before and the shortest channel lifetime."
  type        = string
  default     = "*/10 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.renew_schedule))) == 5
    error_message = "renew_schedule must be a five-field cron expression such as */10 * * * *."
  }
}

variable "renew_time_zone" {
  description = "Time zone of renew_schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "renew_attempt_deadline" {
  description = "How long the scheduler waits for one Renew call before counting it failed. Null means renew_timeout_seconds plus 30 s, so a long pass is not retried while it still runs."
  type        = string
  default     = null

  validation {
    # Cloud Scheduler's range for HTTP targets.
    condition = var.renew_attempt_deadline == null || (
      can(regex("^[0-9]+s$", coalesce(var.renew_attempt_deadline, "0s"))) &&
      try(tonumber(trimsuffix(var.renew_attempt_deadline, "s")) >= 15 && tonumber(trimsuffix(var.renew_attempt_deadline, "s")) <= 1800, false)
    )
    error_message = "renew_attempt_deadline must be null or a number of seconds from 15s to 1800s, Cloud Scheduler's range for HTTP targets."
  }
}

variable "renew_retry_count" {
  description = "Scheduler retries of a failed Renew call. The next scheduled pass retries anyway."
  type        = number
  default     = 1

  validation {
    condition     = var.renew_retry_count >= 0 && var.renew_retry_count <= 5 && floor(var.renew_retry_count) == var.renew_retry_count
    error_message = "renew_retry_count must be a whole number from 0 to 5."
  }
}

variable "renew_min_backoff" {
  description = "Scheduler's first retry delay."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.renew_min_backoff))
    error_message = "renew_min_backoff must be a number of seconds such as 10s."
  }
}

variable "renew_max_backoff" {
  description = "Scheduler's longest retry delay."
  type        = string
  default     = "120s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.renew_max_backoff))
    error_message = "renew_max_backoff must be a number of seconds such as 120s."
  }
}

# --- Pub/Sub ------------------------------------------------------------------

variable "topic_name" {
  description = "The Pub/Sub topic events go to (WATCHRELAY_TOPIC). Null: <name>-events."
  type        = string
  default     = null

  validation {
    condition     = var.topic_name == null || try(can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.topic_name)) && !startswith(var.topic_name, "goog"), false)
    error_message = "topic_name must be a Pub/Sub topic id: 3 to 255 characters, starting with a letter, not with goog."
  }
}

variable "topic_message_retention" {
  description = "How long the topic keeps published messages, acknowledged or not: how far back `watchrelay replay` can seek a subscription (docs/cli.md, Replay), even one created later. Null keeps none (no storage cost, and no replay unless a subscription retains acknowledged messages)."
  type        = string
  default     = "604800s"

  validation {
    condition = var.topic_message_retention == null || (
      can(regex("^[0-9]+s$", coalesce(var.topic_message_retention, "0s"))) &&
      try(tonumber(trimsuffix(var.topic_message_retention, "s")) >= 600 && tonumber(trimsuffix(var.topic_message_retention, "s")) <= 2678400, false)
    )
    error_message = "topic_message_retention must be null or between 600s and 2678400s (31 days)."
  }
}

variable "example_subscription" {
  description = "Create an example pull subscription on the topic, with ordering on (events carry the watch id as ordering key) and a dead-letter topic."
  type        = bool
  default     = false
}

variable "example_subscription_filter" {
  description = "Pub/Sub filter of the example subscription, on the plain attributes watch_id, kind and resource_state, e.g. attributes.kind = \"drive.files\"."
  type        = string
  default     = ""
}

variable "example_max_delivery_attempts" {
  description = "Deliveries of one message to the example subscription before it goes to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.example_max_delivery_attempts >= 5 && var.example_max_delivery_attempts <= 100
    error_message = "example_max_delivery_attempts must be from 5 to 100, as Pub/Sub requires."
  }
}

# --- Firestore ----------------------------------------------------------------

variable "create_database" {
  description = "Create the Firestore database. Set false when the project already has it and another configuration manages it; to manage one that exists (a (default) left by Firebase, App Engine or an earlier destroy), keep true and adopt it with an import block in the root module, as examples/quickstart's import_database does."
  type        = bool
  default     = true
}

variable "database_id" {
  description = "The Firestore database id (WATCHRELAY_DATABASE). Null: (default) for the copy named watchrelay, the project's first, and the copy's name for any other, so that a second copy keeps its watches, channels, indexes and TTL policies apart."
  type        = string
  default     = null

  validation {
    condition     = var.database_id == null || try(var.database_id == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.database_id)), false)
    error_message = "database_id must be (default) or 4 to 63 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "firestore_location" {
  description = "Location of a database this module creates (a region such as us-central1, or a multi-region such as nam5). Null means var.region."
  type        = string
  default     = null
}

# --- Declarative watches --------------------------------------------------------

variable "watches" {
  description = <<-EOT
    Watches to create, keyed by watch id; each becomes a watches/{id} document
    that Renew gives a channel on its next pass. kind is one of docs/DESIGN.md's
    kinds; params are the API parameters (calendarId, fileId, driveId,
    userKey, applicationName, customer, domain, event, ...); subject is a user
    to impersonate through domain-wide delegation; address overrides the
    webhook URL (default: Receive); ttl_seconds the channel lifetime (default:
    the kind's maximum; at least two renew_interval, 1200 by default, or the
    channel would lapse between passes); labels are copied onto every event.
  EOT
  type = map(object({
    kind        = string
    params      = optional(map(string), {})
    subject     = optional(string)
    address     = optional(string)
    ttl_seconds = optional(number)
    labels      = optional(map(string), {})
  }))
  default = {}

  validation {
    condition = alltrue([for w in values(var.watches) : contains([
      "calendar.events", "calendar.calendarList", "calendar.acl", "calendar.settings",
      "drive.files", "drive.changes",
      "admin.directory.users", "admin.directory.aliases", "admin.reports.activities",
    ], w.kind)])
    error_message = "Every watch kind must be one of calendar.events, calendar.calendarList, calendar.acl, calendar.settings, drive.files, drive.changes, admin.directory.users, admin.directory.aliases, admin.reports.activities."
  }

  validation {
    condition     = alltrue([for id in keys(var.watches) : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", id))])
    error_message = "Watch ids (the map keys) must be 1 to 100 letters, digits, dots, underscores or hyphens, starting with a letter or digit."
  }

  validation {
    # The parameters each kind cannot do without; renew.ValidateWatch checks the rest.
    condition = alltrue([for w in values(var.watches) : alltrue([
      for p in lookup({
        "calendar.events"          = ["calendarId"],
        "calendar.acl"             = ["calendarId"],
        "drive.files"              = ["fileId"],
        "admin.directory.aliases"  = ["userKey"],
        "admin.reports.activities" = ["userKey", "applicationName"],
      }, w.kind, []) : try(w.params[p], "") != ""
    ]) && (w.kind != "admin.directory.users" || try(w.params["customer"], "") != "" || try(w.params["domain"], "") != "")])
    error_message = "A watch is missing a parameter its kind needs: calendar.events and calendar.acl need calendarId, drive.files fileId, admin.directory.aliases userKey, admin.reports.activities userKey and applicationName, admin.directory.users customer or domain."
  }

  validation {
    condition     = alltrue([for w in values(var.watches) : w.ttl_seconds == null || try(w.ttl_seconds >= 1 && floor(w.ttl_seconds) == w.ttl_seconds, false)])
    error_message = "A watch's ttl_seconds must be a whole number of seconds, at least 1."
  }

  validation {
    condition     = alltrue([for w in values(var.watches) : w.address == null || startswith(coalesce(w.address, "-"), "https://")])
    error_message = "A watch's address must be an https:// URL: Google pushes only to HTTPS."
  }
}
