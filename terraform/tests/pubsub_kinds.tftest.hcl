# The kinds Google delivers through Pub/Sub (pubsub_kinds.tf), against the
# mock provider: the inbound Gmail topic, Gmail's one publisher grant on it,
# the push subscription that hands Gmail's messages to Sync as Sync's own
# does, the watcher's WATCHRELAY_GMAIL_TOPIC, Workspace's publishers on the
# events topic, and the two kinds' APIs.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "gmail_topic" {
  assert {
    # The Go default of WATCHRELAY_GMAIL_TOPIC is watchrelay-gmail: the
    # default deployment's topic bears that id (internal/config's
    # TestTerraform checks the two agree).
    condition = (
      google_pubsub_topic.gmail[0].name == "watchrelay-gmail" &&
      google_pubsub_topic.gmail[0].project == "demo-project" &&
      google_pubsub_topic.gmail[0].message_retention_duration == "604800s" &&
      google_pubsub_topic.gmail[0].labels["app"] == "watchrelay"
    )
    error_message = "The inbound Gmail topic is <name>-gmail (internal/config's default for the default name), keeping messages 7 days."
  }

  assert {
    condition     = output.gmail_topic == google_pubsub_topic.gmail[0].id
    error_message = "gmail_topic must give the inbound Gmail topic's full name."
  }
}

run "gmail_publisher" {
  assert {
    condition = (
      google_pubsub_topic_iam_member.gmail_push_publisher[0].topic == "watchrelay-gmail" &&
      google_pubsub_topic_iam_member.gmail_push_publisher[0].role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.gmail_push_publisher[0].member == "serviceAccount:gmail-api-push@system.gserviceaccount.com"
    )
    error_message = "Gmail's push account must publish to the inbound Gmail topic (Gmail's push guide)."
  }

  assert {
    # Gmail's account holds that one binding and nothing else: not on the
    # events topic, not on a subscription, not on the project.
    condition = length([
      for m in concat(
        [for b in google_project_iam_member.datastore_user : b.member],
        [for b in google_pubsub_topic_iam_member.publisher : b.member],
        [for b in google_pubsub_topic_iam_member.workspace_events_publisher : b.member],
        [
          google_service_account_iam_member.renew_token_creator.member,
          google_service_account_iam_member.push_token_creator.member,
          google_cloud_run_service_iam_member.watcher_invoker["renew"].member,
          google_cloud_run_service_iam_member.watcher_invoker["sync"].member,
          google_pubsub_topic_iam_member.sync_dead_letter_publisher.member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].member,
          google_project_iam_member.build_log_writer.member,
          google_project_iam_member.build_staging_reader.member,
        ],
      ) : m if strcontains(m, "gmail-api-push")
    ]) == 0
    error_message = "gmail-api-push may hold publisher on the inbound Gmail topic and nothing broader."
  }
}

run "gmail_push_subscription" {
  assert {
    # Everything on the topic is Gmail's: no filter.
    condition = (
      google_pubsub_subscription.sync["gmail"].name == "watchrelay-gmail" &&
      google_pubsub_subscription.sync["gmail"].topic == google_pubsub_topic.gmail[0].id &&
      google_pubsub_subscription.sync["gmail"].filter == null &&
      google_pubsub_subscription.sync["gmail"].message_retention_duration == "604800s" &&
      google_pubsub_subscription.sync["gmail"].enable_message_ordering == false &&
      google_pubsub_subscription.sync["gmail"].expiration_policy[0].ttl == ""
    )
    error_message = "The Gmail subscription takes everything on the inbound Gmail topic, keeps it 7 days, and never expires."
  }

  assert {
    # Sync's endpoint and identity, as Sync's own subscription.
    condition = (
      google_pubsub_subscription.sync["gmail"].push_config[0].push_endpoint == "https://watchrelay-sync-mock.a.run.app" &&
      google_pubsub_subscription.sync["gmail"].push_config[0].push_endpoint == google_pubsub_subscription.sync["events"].push_config[0].push_endpoint &&
      google_pubsub_subscription.sync["gmail"].push_config[0].oidc_token[0].service_account_email == "watchrelay-push@demo-project.iam.gserviceaccount.com" &&
      google_pubsub_subscription.sync["gmail"].push_config[0].oidc_token[0].audience == "https://watchrelay-sync-mock.a.run.app" &&
      length(google_pubsub_subscription.sync["gmail"].push_config[0].no_wrapper) == 0
    )
    error_message = "The Gmail subscription pushes the standard envelope to Sync's URL with an OIDC token of the push account."
  }

  assert {
    condition = (
      google_pubsub_subscription.sync["gmail"].ack_deadline_seconds == 600 &&
      google_pubsub_subscription.sync["gmail"].retry_policy[0].minimum_backoff == "10s" &&
      google_pubsub_subscription.sync["gmail"].retry_policy[0].maximum_backoff == "600s"
    )
    error_message = "Ack deadline 600 s (Sync's lease ends within it), backoff 10 s to 600 s."
  }

  assert {
    condition = (
      google_pubsub_subscription.sync["gmail"].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.sync_dead_letter.id &&
      google_pubsub_subscription.sync["gmail"].dead_letter_policy[0].max_delivery_attempts == 10
    )
    error_message = "After 10 deliveries a Gmail push goes to Sync's dead-letter topic."
  }

  assert {
    # The agent acknowledges on this subscription when it dead-letters; its
    # publisher grant on the dead-letter topic is Sync's.
    condition = (
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].subscription == google_pubsub_subscription.sync["gmail"].name &&
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].role == "roles/pubsub.subscriber" &&
      google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com" &&
      google_pubsub_topic_iam_member.sync_dead_letter_publisher.member == google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].member
    )
    error_message = "The Pub/Sub service agent must subscribe to the Gmail subscription, and publish to the dead-letter topic."
  }
}

run "gmail_topic_environment" {
  assert {
    condition = (
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_GMAIL_TOPIC"] == "watchrelay-gmail" &&
      google_cloudfunctions2_function.watcher["sync"].service_config[0].environment_variables["WATCHRELAY_GMAIL_TOPIC"] == "watchrelay-gmail" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_GMAIL_TOPIC"] == google_pubsub_topic.gmail[0].name &&
      !contains(keys(google_cloudfunctions2_function.receive.service_config[0].environment_variables), "WATCHRELAY_GMAIL_TOPIC")
    )
    error_message = "WATCHRELAY_GMAIL_TOPIC (the inbound topic's id) must reach Renew and Sync, and not Receive."
  }
}

run "no_workspace_publishers_by_default" {
  assert {
    condition     = length(google_pubsub_topic_iam_member.workspace_events_publisher) == 0
    error_message = "Without workspace_events_publishers the events topic gets no Workspace publisher grant."
  }
}

run "workspace_publishers" {
  variables {
    workspace_events_publishers = [
      "serviceAccount:chat-push@system.gserviceaccount.com",
      "serviceAccount:meet-push@system.gserviceaccount.com",
    ]
  }

  assert {
    condition = (
      toset(keys(google_pubsub_topic_iam_member.workspace_events_publisher)) == toset(var.workspace_events_publishers) &&
      alltrue([for m, b in google_pubsub_topic_iam_member.workspace_events_publisher :
      b.topic == google_pubsub_topic.events.name && b.topic == "watchrelay-events" && b.role == "roles/pubsub.publisher" && b.member == m])
    )
    error_message = "Each of workspace_events_publishers must publish to the events topic, where Workspace subscriptions deliver."
  }

  assert {
    condition     = !anytrue([for b in google_pubsub_topic_iam_member.workspace_events_publisher : b.topic == google_pubsub_topic.gmail[0].name])
    error_message = "Workspace's publishers have no business on the inbound Gmail topic."
  }
}

run "workspace_publisher_not_a_service_account" {
  command = plan
  variables {
    workspace_events_publishers = ["allUsers"]
  }
  expect_failures = [var.workspace_events_publishers]
}

run "apis" {
  command = plan

  assert {
    condition     = length(setintersection(keys(google_project_service.enabled), ["gmail.googleapis.com", "workspaceevents.googleapis.com"])) == 2
    error_message = "enable_workspace_apis (true by default) must enable the Gmail and Workspace Events APIs."
  }
}

run "apis_off" {
  command = plan
  variables {
    enable_workspace_apis = false
  }

  assert {
    condition     = length(setintersection(keys(google_project_service.enabled), ["gmail.googleapis.com", "workspaceevents.googleapis.com"])) == 0
    error_message = "enable_workspace_apis = false must leave the Gmail and Workspace Events APIs alone."
  }
}

run "named_deployment" {
  command = plan
  variables {
    name = "relay-two"
  }

  assert {
    condition = (
      google_pubsub_topic.gmail[0].name == "relay-two-gmail" &&
      google_pubsub_subscription.sync["gmail"].name == "relay-two-gmail" &&
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_GMAIL_TOPIC"] == "relay-two-gmail"
    )
    error_message = "The inbound Gmail topic, its subscription and WATCHRELAY_GMAIL_TOPIC must follow var.name."
  }
}

# enable_gmail = false (issue 18): under domain-restricted sharing the grant
# to gmail-api-push fails the apply, so the whole Gmail half goes: no topic
# for Gmail, no grant to its account anywhere, no subscription to Sync, and
# no WATCHRELAY_GMAIL_TOPIC (the functions read it only for gmail.users).
run "gmail_off" {
  command = plan
  variables {
    enable_gmail = false
  }

  assert {
    condition = (
      length(google_pubsub_topic.gmail) == 0 &&
      length(google_pubsub_topic_iam_member.gmail_push_publisher) == 0 &&
      keys(google_pubsub_subscription.sync) == ["events"] &&
      keys(google_pubsub_subscription_iam_member.sync_dead_letter_subscriber) == ["events"] &&
      output.gmail_topic == null
    )
    error_message = "enable_gmail = false must leave out the inbound Gmail topic, its publisher grant, the <name>-gmail subscription and its agent grant."
  }

  assert {
    condition = !anytrue([
      for b in concat(
        values(google_pubsub_topic_iam_member.workspace_events_publisher),
        values(google_pubsub_topic_iam_member.publisher),
        values(google_pubsub_subscription_iam_member.sync_dead_letter_subscriber),
        [google_pubsub_topic_iam_member.sync_dead_letter_publisher],
      ) : strcontains(b.member, "gmail-api-push")
    ])
    error_message = "With enable_gmail = false nothing may name gmail-api-push@system.gserviceaccount.com: domain-restricted sharing refuses it."
  }

  assert {
    condition = alltrue([
      for f in values(google_cloudfunctions2_function.watcher) :
      !contains(keys(f.service_config[0].environment_variables), "WATCHRELAY_GMAIL_TOPIC")
    ])
    error_message = "With enable_gmail = false, WATCHRELAY_GMAIL_TOPIC must be left unset: no topic exists to name."
  }
}
