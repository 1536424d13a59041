# Source, Pub/Sub, Firestore and declared watches.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "source_v1" {
  assert {
    condition     = google_storage_bucket_object.source.name == "watchrelay-${filesha256("tests/fixtures/source-v1.zip")}.zip"
    error_message = "The source object must be named by the archive's SHA-256."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.receive.build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name &&
      google_cloudfunctions2_function.watcher["renew"].build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name &&
      google_cloudfunctions2_function.receive.build_config[0].source[0].storage_source[0].bucket == google_storage_bucket.source.name
    )
    error_message = "Both functions must build from the uploaded object."
  }

  assert {
    condition = (
      google_storage_bucket.source.uniform_bucket_level_access == true &&
      google_storage_bucket.source.public_access_prevention == "enforced" &&
      one([for c in google_storage_bucket.source.lifecycle_rule[0].condition : c.age]) == 30 &&
      one([for a in google_storage_bucket.source.lifecycle_rule[0].action : a.type]) == "Delete"
    )
    error_message = "The source bucket must be private, uniform, and expire old archives."
  }
}

run "source_v2" {
  # New code: a new object, so both functions redeploy.
  variables {
    source_zip = "tests/fixtures/source-v2.zip"
  }

  assert {
    condition     = google_storage_bucket_object.source.name == "watchrelay-${filesha256("tests/fixtures/source-v2.zip")}.zip" && output.source_object != run.source_v1.source_object
    error_message = "A changed archive must change the object name."
  }

  assert {
    condition     = google_cloudfunctions2_function.watcher["renew"].build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name
    error_message = "The functions must follow the new object."
  }
}

run "topic" {
  assert {
    condition     = google_pubsub_topic.events.name == "watchrelay-events" && google_pubsub_topic.events.message_retention_duration == "604800s"
    error_message = "The topic must be named and retain messages as the variables say."
  }

  assert {
    condition     = length(google_pubsub_subscription.example) == 0 && length(google_pubsub_topic.example_dead_letter) == 0
    error_message = "The example subscription is off by default."
  }
}

run "example_subscription" {
  variables {
    example_subscription    = true
    topic_name              = "events"
    topic_message_retention = "3600s"
  }

  assert {
    condition = (
      google_pubsub_subscription.example[0].topic == google_pubsub_topic.events.id &&
      google_pubsub_subscription.example[0].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.example_dead_letter[0].id &&
      google_pubsub_subscription.example[0].dead_letter_policy[0].max_delivery_attempts == 5
    )
    error_message = "The example subscription reads the topic and dead-letters to its own topic."
  }

  assert {
    condition = (
      google_pubsub_topic_iam_member.dead_letter_publisher[0].topic == google_pubsub_topic.example_dead_letter[0].name &&
      google_pubsub_topic_iam_member.dead_letter_publisher[0].role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.dead_letter_publisher[0].member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com" &&
      google_pubsub_subscription_iam_member.dead_letter_subscriber[0].subscription == google_pubsub_subscription.example[0].name &&
      google_pubsub_subscription_iam_member.dead_letter_subscriber[0].role == "roles/pubsub.subscriber" &&
      google_pubsub_subscription_iam_member.dead_letter_subscriber[0].member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    error_message = "The Pub/Sub service agent needs publisher on the dead-letter topic and subscriber on the subscription, and nothing wider."
  }

  assert {
    condition     = google_pubsub_topic.events.message_retention_duration == "3600s" && google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_TOPIC"] == "events"
    error_message = "topic_name and topic_message_retention must reach the topic and the functions."
  }

  assert {
    condition = (
      google_pubsub_subscription.example[0].name == "events-example" &&
      google_pubsub_subscription.example[0].enable_message_ordering == true &&
      google_pubsub_subscription.example[0].ack_deadline_seconds == 60 &&
      google_pubsub_subscription.example[0].filter == "" &&
      google_pubsub_subscription.example[0].retry_policy[0].minimum_backoff == "10s" &&
      google_pubsub_subscription.example[0].retry_policy[0].maximum_backoff == "600s" &&
      google_pubsub_subscription.example[0].expiration_policy[0].ttl == ""
    )
    error_message = "The example subscription must be ordered (events are keyed by watch id), unfiltered by default, with backoff, and never expire."
  }

  assert {
    # Dead letters are kept: the dead-letter topic has its own subscription.
    condition = (
      google_pubsub_topic.example_dead_letter[0].name == "events-example-dead-letter" &&
      google_pubsub_topic.example_dead_letter[0].message_retention_duration == "604800s" &&
      google_pubsub_subscription.example_dead_letter[0].name == "events-example-dead-letter" &&
      google_pubsub_subscription.example_dead_letter[0].topic == google_pubsub_topic.example_dead_letter[0].id &&
      google_pubsub_subscription.example_dead_letter[0].message_retention_duration == "604800s" &&
      google_pubsub_subscription.example_dead_letter[0].expiration_policy[0].ttl == "" &&
      length(google_pubsub_subscription.example_dead_letter[0].dead_letter_policy) == 0
    )
    error_message = "The dead-letter topic must keep its messages a week in a subscription of its own that never expires."
  }

  assert {
    condition     = output.example_subscription.subscription == google_pubsub_subscription.example[0].id && output.example_subscription.dead_letter == google_pubsub_subscription.example_dead_letter[0].id
    error_message = "The example_subscription output must name both subscriptions."
  }
}

run "example_subscription_filter" {
  variables {
    example_subscription          = true
    example_subscription_filter   = "attributes.kind = \"drive.files\""
    example_max_delivery_attempts = 9
  }

  assert {
    condition = (
      google_pubsub_subscription.example[0].filter == "attributes.kind = \"drive.files\"" &&
      google_pubsub_subscription.example[0].dead_letter_policy[0].max_delivery_attempts == 9
    )
    error_message = "example_subscription_filter and example_max_delivery_attempts must reach the subscription."
  }
}

run "subscribe_command" {
  assert {
    condition     = output.subscribe_command == "gcloud pubsub subscriptions create SUBSCRIPTION --project=demo-project --topic=${google_pubsub_topic.events.id} --enable-message-ordering --ack-deadline=60"
    error_message = "subscribe_command must subscribe to the events topic with ordering on."
  }

  assert {
    condition     = output.example_subscription == null
    error_message = "Without the example subscription, its output is null."
  }
}

run "image_repository" {
  assert {
    condition = (
      google_artifact_registry_repository.functions.repository_id == "watchrelay-functions" &&
      google_artifact_registry_repository.functions.format == "DOCKER" &&
      google_artifact_registry_repository.functions.location == "us-central1" &&
      google_artifact_registry_repository.functions.cleanup_policy_dry_run == false
    )
    error_message = "The image repository must be a Docker repository in the functions' region, with cleanup really applied."
  }

  assert {
    condition = (
      length(google_artifact_registry_repository.functions.cleanup_policies) == 2 &&
      one([for p in google_artifact_registry_repository.functions.cleanup_policies : p.action if p.id == "keep-recent"]) == "KEEP" &&
      one(flatten([for p in google_artifact_registry_repository.functions.cleanup_policies : [for m in p.most_recent_versions : m.keep_count] if p.id == "keep-recent"])) == 4 &&
      one([for p in google_artifact_registry_repository.functions.cleanup_policies : p.action if p.id == "delete-older"]) == "DELETE" &&
      one(flatten([for p in google_artifact_registry_repository.functions.cleanup_policies : [for c in p.condition : "${c.tag_state}/${c.older_than}"] if p.id == "delete-older"])) == "ANY/86400s"
    )
    error_message = "The repository must keep the image_versions_kept newest images and delete the rest after a day."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.receive.build_config[0].docker_repository == google_artifact_registry_repository.functions.id &&
      google_cloudfunctions2_function.watcher["renew"].build_config[0].docker_repository == google_artifact_registry_repository.functions.id
    )
    error_message = "Both functions must push their images to watchrelay's repository, where the cleanup policies apply."
  }
}

run "image_versions_kept" {
  variables {
    image_versions_kept = 7
  }

  assert {
    condition     = one(flatten([for p in google_artifact_registry_repository.functions.cleanup_policies : [for m in p.most_recent_versions : m.keep_count] if p.id == "keep-recent"])) == 7
    error_message = "image_versions_kept must reach the keep policy."
  }
}

run "firestore" {
  assert {
    # The same collections, fields and order as indexes.json, which
    # store/indexes_test.go keeps equal to the store's queries.
    condition = length(google_firestore_index.store) == length(jsondecode(file("indexes.json"))) && alltrue([
      for ix in jsondecode(file("indexes.json")) : anytrue([
        for r in values(google_firestore_index.store) :
        r.collection == ix.collection && r.query_scope == "COLLECTION" && r.database == "(default)" &&
        jsonencode([for f in r.fields : { path = f.field_path, order = f.order }]) == jsonencode(ix.fields)
      ])
    ])
    error_message = "The composite indexes must match indexes.json field for field."
  }

  assert {
    condition = (
      google_firestore_field.channels_delete_at.collection == "channels" &&
      google_firestore_field.channels_delete_at.field == "deleteAt" &&
      length(google_firestore_field.channels_delete_at.ttl_config) == 1
    )
    error_message = "channels.deleteAt must carry the TTL policy."
  }

  assert {
    condition = (
      google_firestore_field.strays_delete_at.collection == "strays" &&
      google_firestore_field.strays_delete_at.field == "deleteAt" &&
      length(google_firestore_field.strays_delete_at.ttl_config) == 1
    )
    error_message = "strays.deleteAt must carry the TTL policy: forged strays must not pile up."
  }

  assert {
    condition     = google_firestore_database.this[0].name == "(default)" && google_firestore_database.this[0].type == "FIRESTORE_NATIVE"
    error_message = "The module creates the (default) Native database by default."
  }
}

run "existing_database" {
  variables {
    create_database = false
    database_id     = "relay"
  }

  assert {
    condition = (
      length(google_firestore_database.this) == 0 &&
      alltrue([for r in values(google_firestore_index.store) : r.database == "relay"]) &&
      google_firestore_field.channels_delete_at.database == "relay" &&
      google_firestore_field.strays_delete_at.database == "relay" &&
      google_cloudfunctions2_function.receive.service_config[0].environment_variables["WATCHRELAY_DATABASE"] == "relay"
    )
    error_message = "With create_database = false, everything must use the given database."
  }
}

run "watches" {
  variables {
    watches = {
      team-calendar = {
        kind    = "calendar.events"
        params  = { calendarId = "team@example.com" }
        subject = "admin@example.com"
        labels  = { tenant = "acme" }
      }
      drive-root = {
        kind        = "drive.changes"
        ttl_seconds = 3600
      }
    }
  }

  assert {
    condition = (
      toset(keys(google_firestore_document.watch)) == toset(["team-calendar", "drive-root"]) &&
      alltrue([for id, d in google_firestore_document.watch : d.collection == "watches" && d.document_id == id && d.database == "(default)"])
    )
    error_message = "Each declared watch must become watches/{id}."
  }

  assert {
    condition = alltrue([for d in values(google_firestore_document.watch) :
      jsondecode(d.fields).state.stringValue == "active" &&
      jsondecode(d.fields).channelId.stringValue == "" &&
      jsondecode(d.fields).channelExpiration.timestampValue == "0001-01-01T00:00:00Z"
    ])
    error_message = "A declared watch must be active with an early channelExpiration, or Renew's query never finds it."
  }

  assert {
    condition = (
      jsondecode(google_firestore_document.watch["team-calendar"].fields).kind.stringValue == "calendar.events" &&
      jsondecode(google_firestore_document.watch["team-calendar"].fields).params.mapValue.fields.calendarId.stringValue == "team@example.com" &&
      jsondecode(google_firestore_document.watch["team-calendar"].fields).subject.stringValue == "admin@example.com" &&
      jsondecode(google_firestore_document.watch["team-calendar"].fields).labels.mapValue.fields.tenant.stringValue == "acme" &&
      jsondecode(google_firestore_document.watch["drive-root"].fields).ttlSeconds.integerValue == "3600" &&
      !can(jsondecode(google_firestore_document.watch["drive-root"].fields).subject)
    )
    error_message = "Watch documents must carry kind, params, subject, labels and ttlSeconds as the store names them."
  }
}

run "apis" {
  assert {
    condition = toset(keys(google_project_service.enabled)) == toset([
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "cloudscheduler.googleapis.com",
      "firestore.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "storage.googleapis.com",
      "admin.googleapis.com",
      "calendar-json.googleapis.com",
      "chat.googleapis.com",
      "drive.googleapis.com",
      "gmail.googleapis.com",
      "workspaceevents.googleapis.com",
    ])
    error_message = "Exactly the 19 APIs watchrelay uses must be enabled."
  }

  assert {
    condition     = alltrue([for s in google_project_service.enabled : s.project == "demo-project" && s.disable_on_destroy == false && s.disable_dependent_services == false])
    error_message = "Destroying watchrelay must not disable APIs, nor the services that depend on them."
  }
}

run "no_workspace_apis" {
  variables {
    enable_workspace_apis = false
  }

  assert {
    condition = (
      length(google_project_service.enabled) == 13 &&
      length(setintersection(keys(google_project_service.enabled), ["admin.googleapis.com", "calendar-json.googleapis.com", "chat.googleapis.com", "drive.googleapis.com", "gmail.googleapis.com", "workspaceevents.googleapis.com"])) == 0
    )
    error_message = "enable_workspace_apis = false must leave out exactly the Calendar, Drive, Admin SDK, Gmail, Workspace Events and Chat APIs."
  }
}

run "apis_managed_elsewhere" {
  variables {
    enable_apis = false
  }

  assert {
    condition     = length(google_project_service.enabled) == 0
    error_message = "enable_apis = false must enable nothing."
  }
}
