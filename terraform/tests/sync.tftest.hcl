# Sync and its trigger (sync.tf), against the mock provider: the third
# function, private, run as the watcher (Renew's account, the one
# authorised at Google); the push subscription that
# hands it notifications and nothing else, signed by the one account that
# may invoke it; the dead letters kept; the variables and their bounds.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "function" {
  assert {
    # The name function.go registers (SyncEntryPoint), in the same archive.
    condition = (
      google_cloudfunctions2_function.watcher["sync"].name == "watchrelay-sync" &&
      google_cloudfunctions2_function.watcher["sync"].location == "us-central1" &&
      google_cloudfunctions2_function.watcher["sync"].build_config[0].entry_point == "Sync" &&
      google_cloudfunctions2_function.watcher["sync"].build_config[0].runtime == "go126" &&
      google_cloudfunctions2_function.watcher["sync"].build_config[0].service_account == google_service_account.this["build"].id &&
      google_cloudfunctions2_function.watcher["sync"].build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name &&
      google_cloudfunctions2_function.watcher["sync"].build_config[0].source[0].storage_source[0].object == google_cloudfunctions2_function.receive.build_config[0].source[0].storage_source[0].object
    )
    error_message = "Sync must be built as the build account, with entry point Sync, from the archive Receive and Renew are built from."
  }

  assert {
    # Domain-wide delegation and sharing at Google are per account: Sync
    # reads as the account Renew watches as.
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == "watchrelay-renew@demo-project.iam.gserviceaccount.com" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == google_cloudfunctions2_function.watcher["renew"].service_config[0].service_account_email &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == google_service_account.this["renew"].email
    )
    error_message = "Sync must run as Renew's account, watchrelay-renew (the watcher), not an account of its own."
  }

  assert {
    # A request may sleep for the debounce: many share an instance, which
    # needs a whole CPU. Pub/Sub's pushes are internal traffic.
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].min_instance_count == 0 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].max_instance_count == 10 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].max_instance_request_concurrency == 80 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].available_cpu == "1" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].available_memory == "512M" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].timeout_seconds == 300 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].all_traffic_on_latest_revision == true
    )
    error_message = "Sync's defaults: scale to zero, at most 10 instances of 80 requests and 1 CPU each, 512M, 300 s, internal ingress, the latest revision."
  }

  assert {
    # The sync tuning variables are left out while null: internal/config's
    # defaults (2s, 4m) apply.
    condition = google_cloudfunctions2_function.watcher["sync"].service_config[0].environment_variables == tomap({
      GOOGLE_CLOUD_PROJECT   = "demo-project"
      WATCHRELAY_TOPIC       = "watchrelay-events"
      WATCHRELAY_DATABASE    = "(default)"
      WATCHRELAY_GMAIL_TOPIC = "watchrelay-gmail"
    })
    error_message = "Sync's environment must be the project, topic, database and inbound Gmail topic, without the tuning variables left null."
  }

  assert {
    condition     = output.sync_url == "https://watchrelay-sync-mock.a.run.app"
    error_message = "sync_url must be Sync's URL."
  }
}

run "sync_private" {
  assert {
    # The one invoker binding on Sync's service: the push account.
    condition = (
      google_cloud_run_service_iam_member.watcher_invoker["sync"].service == "projects/demo-project/locations/us-central1/services/watchrelay-sync" &&
      google_cloud_run_service_iam_member.watcher_invoker["sync"].role == "roles/run.invoker" &&
      google_cloud_run_service_iam_member.watcher_invoker["sync"].member == "serviceAccount:watchrelay-push@demo-project.iam.gserviceaccount.com" &&
      google_service_account.this["push"].account_id == "watchrelay-push"
    )
    error_message = "Only the push account may invoke Sync, on Sync's service."
  }

  assert {
    condition = length([
      for b in concat(
        google_cloud_run_service_iam_member.public_receive,
        [google_cloud_run_service_iam_member.watcher_invoker["renew"], google_cloud_run_service_iam_member.watcher_invoker["sync"]],
      ) : b if b.service == google_cloudfunctions2_function.watcher["sync"].service_config[0].service && b.member != google_service_account.this["push"].member
    ]) == 0
    error_message = "No other principal, allUsers least of all, may invoke Sync."
  }

  assert {
    # The push account invokes Sync and holds nothing else.
    condition = length([
      for m in concat(
        [for b in google_project_iam_member.datastore_user : b.member],
        [for b in google_pubsub_topic_iam_member.publisher : b.member],
        [
          google_service_account_iam_member.renew_token_creator.member,
          google_service_account_iam_member.push_token_creator.member,
          google_cloud_run_service_iam_member.watcher_invoker["renew"].member,
          google_pubsub_topic_iam_member.sync_dead_letter_publisher.member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].member,
          google_pubsub_topic_iam_member.gmail_push_publisher[0].member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].member,
        ],
      ) : m if m == google_service_account.this["push"].member
    ]) == 0
    error_message = "The push account must hold nothing but run.invoker on Sync."
  }
}

run "sync_runs_as_the_watcher" {
  assert {
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == google_cloudfunctions2_function.watcher["renew"].service_config[0].service_account_email &&
      !contains(keys(google_service_account.this), "sync") &&
      !contains(keys(output.service_accounts), "sync")
    )
    error_message = "Sync's service_account_email must equal Renew's, and no account of Sync's own may exist: a second account would need a second client id in the Admin console and every calendar and file shared twice."
  }

  assert {
    # What Sync does as the watcher: cursors/ in watchrelay's database,
    # change and resync events on the events topic.
    condition = (
      google_project_iam_member.datastore_user["renew"].role == "roles/datastore.user" &&
      google_project_iam_member.datastore_user["renew"].member == "serviceAccount:${google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email}" &&
      google_project_iam_member.datastore_user["renew"].condition[0].expression == "resource.name == \"projects/demo-project/databases/(default)\""
    )
    error_message = "Sync's account (the watcher) must use Firestore in watchrelay's database only."
  }

  assert {
    condition = (
      google_pubsub_topic_iam_member.publisher["renew"].topic == "watchrelay-events" &&
      google_pubsub_topic_iam_member.publisher["renew"].role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.publisher["renew"].member == "serviceAccount:${google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email}"
    )
    error_message = "Sync's account (the watcher) must publish to the events topic, through a binding on the topic."
  }

  assert {
    # Domain-wide delegation: the watcher signs its delegated JWTs as
    # itself (signJwt).
    condition = (
      google_service_account_iam_member.renew_token_creator.service_account_id == "projects/demo-project/serviceAccounts/${google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email}" &&
      google_service_account_iam_member.renew_token_creator.member == "serviceAccount:${google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email}" &&
      google_service_account_iam_member.renew_token_creator.role == "roles/iam.serviceAccountTokenCreator"
    )
    error_message = "Sync's account (the watcher) must mint tokens for itself (domain-wide delegation)."
  }

  assert {
    # Of the module's token-creator bindings, the watcher's on itself is
    # the only one held by one of the module's accounts; the other lets
    # the Pub/Sub agent sign the push's OIDC token.
    condition = [
      for b in [google_service_account_iam_member.renew_token_creator, google_service_account_iam_member.push_token_creator] :
      [b.service_account_id, b.member] if b.role == "roles/iam.serviceAccountTokenCreator" && contains([for sa in values(google_service_account.this) : sa.member], b.member)
      ] == [[
        "projects/demo-project/serviceAccounts/watchrelay-renew@demo-project.iam.gserviceaccount.com",
        "serviceAccount:watchrelay-renew@demo-project.iam.gserviceaccount.com",
    ]]
    error_message = "Only the watcher may hold the delegation token-creator role, on itself: no other account."
  }

  assert {
    condition     = output.service_accounts.renew.unique_id == "100000000000000000001" && output.service_accounts.renew.email == google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email
    error_message = "service_accounts.renew must give the one client id to authorize for domain-wide delegation, Renew's and Sync's."
  }
}

run "push_subscription" {
  assert {
    condition = (
      google_pubsub_subscription.sync["events"].name == "watchrelay-sync" &&
      google_pubsub_subscription.sync["events"].topic == google_pubsub_topic.events.id &&
      google_pubsub_subscription.sync["events"].filter == "attributes.ce-type = \"watchrelay.notification.v1\""
    )
    error_message = "Sync's subscription takes notifications from the events topic, and never Sync's own events."
  }

  assert {
    # The standard push envelope (no no_wrapper), signed for Sync's URL by
    # the push account.
    condition = (
      google_pubsub_subscription.sync["events"].push_config[0].push_endpoint == "https://watchrelay-sync-mock.a.run.app" &&
      google_pubsub_subscription.sync["events"].push_config[0].oidc_token[0].service_account_email == "watchrelay-push@demo-project.iam.gserviceaccount.com" &&
      google_pubsub_subscription.sync["events"].push_config[0].oidc_token[0].audience == "https://watchrelay-sync-mock.a.run.app" &&
      length(google_pubsub_subscription.sync["events"].push_config[0].no_wrapper) == 0
    )
    error_message = "The subscription pushes the standard envelope to Sync's URL with an OIDC token of the push account, audience Sync's URL."
  }

  assert {
    condition = (
      google_pubsub_subscription.sync["events"].ack_deadline_seconds == 600 &&
      google_pubsub_subscription.sync["events"].enable_message_ordering == false &&
      google_pubsub_subscription.sync["events"].retry_policy[0].minimum_backoff == "10s" &&
      google_pubsub_subscription.sync["events"].retry_policy[0].maximum_backoff == "600s" &&
      google_pubsub_subscription.sync["events"].expiration_policy[0].ttl == ""
    )
    error_message = "Ack deadline 600 s, no ordering, backoff 10 s to 600 s, and no expiry."
  }

  assert {
    condition = (
      google_pubsub_subscription.sync["events"].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.sync_dead_letter.id &&
      google_pubsub_subscription.sync["events"].dead_letter_policy[0].max_delivery_attempts == 10
    )
    error_message = "After 10 deliveries a notification goes to the dead-letter topic."
  }

  assert {
    condition     = output.sync_subscription == google_pubsub_subscription.sync["events"].id
    error_message = "sync_subscription must name the push subscription."
  }
}

run "dead_letters" {
  assert {
    condition = (
      google_pubsub_topic.sync_dead_letter.name == "watchrelay-sync-dead-letter" &&
      google_pubsub_topic.sync_dead_letter.message_retention_duration == "604800s" &&
      google_pubsub_subscription.sync_dead_letter.name == "watchrelay-sync-dead-letter" &&
      google_pubsub_subscription.sync_dead_letter.topic == google_pubsub_topic.sync_dead_letter.id &&
      google_pubsub_subscription.sync_dead_letter.message_retention_duration == "604800s" &&
      google_pubsub_subscription.sync_dead_letter.expiration_policy[0].ttl == "" &&
      length(google_pubsub_subscription.sync_dead_letter.push_config) == 0 &&
      length(google_pubsub_subscription.sync_dead_letter.dead_letter_policy) == 0
    )
    error_message = "Dead letters go to <name>-sync-dead-letter, kept 7 days by a pull subscription that never expires."
  }

  assert {
    condition     = output.sync_dead_letter_subscription == google_pubsub_subscription.sync_dead_letter.id
    error_message = "sync_dead_letter_subscription must name the dead letters' pull subscription."
  }

  assert {
    # The Pub/Sub service agent moves dead letters: it publishes to the
    # dead-letter topic and acknowledges on the push subscription.
    condition = (
      google_pubsub_topic_iam_member.sync_dead_letter_publisher.topic == google_pubsub_topic.sync_dead_letter.name &&
      google_pubsub_topic_iam_member.sync_dead_letter_publisher.role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.sync_dead_letter_publisher.member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com" &&
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].subscription == google_pubsub_subscription.sync["events"].name &&
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].role == "roles/pubsub.subscriber" &&
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    error_message = "The Pub/Sub service agent must publish to the dead-letter topic and subscribe to the push subscription."
  }

  assert {
    # Projects made before April 2021 need the agent to mint the push
    # account's OIDC tokens: granted on that account alone.
    condition = (
      google_service_account_iam_member.push_token_creator.service_account_id == google_service_account.this["push"].name &&
      google_service_account_iam_member.push_token_creator.role == "roles/iam.serviceAccountTokenCreator" &&
      google_service_account_iam_member.push_token_creator.member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    error_message = "The Pub/Sub service agent may sign tokens as the push account, and no other."
  }
}

run "sync_variables" {
  command = plan
  variables {
    sync_debounce              = "500ms"
    sync_timeout               = "8m"
    sync_timeout_seconds       = 540
    sync_concurrency           = 20
    sync_cpu                   = "2"
    sync_memory                = "1G"
    sync_max_instances         = 3
    sync_ingress               = "ALLOW_ALL"
    sync_max_delivery_attempts = 20
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].environment_variables["WATCHRELAY_SYNC_DEBOUNCE"] == "500ms" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].environment_variables["WATCHRELAY_SYNC_TIMEOUT"] == "8m" &&
      !contains(keys(google_cloudfunctions2_function.receive.service_config[0].environment_variables), "WATCHRELAY_SYNC_TIMEOUT") &&
      !contains(keys(google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables), "WATCHRELAY_SYNC_DEBOUNCE")
    )
    error_message = "sync_debounce and sync_timeout must reach Sync's environment, and only Sync's."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].timeout_seconds == 540 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].max_instance_request_concurrency == 20 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].available_cpu == "2" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].available_memory == "1G" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].max_instance_count == 3 &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].ingress_settings == "ALLOW_ALL" &&
      google_pubsub_subscription.sync["events"].dead_letter_policy[0].max_delivery_attempts == 20
    )
    error_message = "Sync's timeout, concurrency, CPU, memory, instances, ingress and delivery attempts must follow their variables."
  }
}

run "longest_sync_timeout" {
  # 539 s and its one-minute lease margin end just within the 600 s ack
  # deadline.
  command = plan
  variables {
    sync_timeout         = "8m59s"
    sync_debounce        = "0s"
    sync_timeout_seconds = 600
  }

  assert {
    condition     = google_cloudfunctions2_function.watcher["sync"].service_config[0].environment_variables["WATCHRELAY_SYNC_TIMEOUT"] == "8m59s"
    error_message = "A sync_timeout of 8m59s must be accepted."
  }
}

run "sync_timeout_past_ack_deadline" {
  # 9m + the 1-minute lease margin = the 600 s ack deadline: a redelivery
  # would meet the lease of the attempt it replaces.
  command = plan
  variables {
    sync_timeout         = "9m"
    sync_timeout_seconds = 600
  }
  expect_failures = [var.sync_timeout]
}

run "sync_timeout_far_past_ack_deadline" {
  command = plan
  variables {
    sync_timeout = "1h"
  }
  expect_failures = [var.sync_timeout]
}

run "request_timeout_under_fetch_timeout" {
  # 4m (default) + 2s (default) is more than 240 s.
  command = plan
  variables {
    sync_timeout_seconds = 240
  }
  expect_failures = [google_cloudfunctions2_function.watcher["sync"]]
}

run "request_timeout_under_set_fetch_timeout" {
  command = plan
  variables {
    sync_timeout         = "5m"
    sync_debounce        = "1s"
    sync_timeout_seconds = 300
  }
  expect_failures = [google_cloudfunctions2_function.watcher["sync"]]
}

run "request_timeout_past_ack_deadline" {
  command = plan
  variables {
    sync_timeout_seconds = 601
  }
  expect_failures = [var.sync_timeout_seconds]
}

run "sync_timeout_not_a_duration" {
  command = plan
  variables {
    sync_timeout = "four minutes"
  }
  expect_failures = [var.sync_timeout]
}

run "sync_timeout_zero" {
  command = plan
  variables {
    sync_timeout = "0s"
  }
  expect_failures = [var.sync_timeout]
}

run "sync_debounce_not_a_duration" {
  command = plan
  variables {
    sync_debounce = "-2s"
  }
  expect_failures = [var.sync_debounce]
}

run "too_few_delivery_attempts" {
  command = plan
  variables {
    sync_max_delivery_attempts = 4
  }
  expect_failures = [var.sync_max_delivery_attempts]
}

run "bad_sync_ingress" {
  command = plan
  variables {
    sync_ingress = "INTERNAL"
  }
  expect_failures = [var.sync_ingress]
}

run "named_deployment" {
  command = plan
  variables {
    name = "relay-two"
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["sync"].name == "relay-two-sync" &&
      google_pubsub_subscription.sync["events"].name == "relay-two-sync" &&
      google_pubsub_topic.sync_dead_letter.name == "relay-two-sync-dead-letter" &&
      google_pubsub_subscription.sync_dead_letter.name == "relay-two-sync-dead-letter" &&
      google_service_account.this["push"].account_id == "relay-two-push" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == google_service_account.this["renew"].email
    )
    error_message = "Sync's function, subscriptions, dead-letter topic and push account must follow var.name, and Sync run as relay-two's watcher."
  }
}
