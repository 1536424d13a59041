# Source, Pub/Sub, Firestore and declared watches.

mock_provider "google" {
  source = "./tests/mocks"
}

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
      google_cloudfunctions2_function.renew.build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name &&
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
    condition     = google_cloudfunctions2_function.renew.build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name
    error_message = "The functions must follow the new object."
  }
}

run "topic" {
  assert {
    condition     = google_pubsub_topic.events.name == "watchrelay-events" && google_pubsub_topic.events.message_retention_duration == "86400s"
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
    condition = alltrue([
      for s in ["cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "cloudscheduler.googleapis.com", "firestore.googleapis.com", "pubsub.googleapis.com", "iamcredentials.googleapis.com", "calendar-json.googleapis.com", "drive.googleapis.com", "admin.googleapis.com"] :
      contains(keys(google_project_service.enabled), s)
    ])
    error_message = "Every API watchrelay uses must be enabled."
  }

  assert {
    condition     = alltrue([for s in values(google_project_service.enabled) : s.disable_on_destroy == false])
    error_message = "Destroying watchrelay must not disable APIs."
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
