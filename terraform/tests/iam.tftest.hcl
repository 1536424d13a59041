# Every IAM binding the module makes, and that none is wider than stated.

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "public_only_receive" {
  assert {
    condition = (
      google_cloud_run_service_iam_member.public_receive[0].member == "allUsers" &&
      google_cloud_run_service_iam_member.public_receive[0].role == "roles/run.invoker" &&
      google_cloud_run_service_iam_member.public_receive[0].service == "projects/demo-project/locations/us-central1/services/watchrelay-receive"
    )
    error_message = "Receive's Cloud Run service must grant run.invoker to allUsers (Google's push carries no credentials)."
  }

  assert {
    # Every other binding of the module, by member.
    condition = length([
      for m in concat(
        [for b in google_project_iam_member.datastore_user : b.member],
        [for b in google_pubsub_topic_iam_member.publisher : b.member],
        [
          google_service_account_iam_member.renew_token_creator.member,
          google_service_account_iam_member.push_token_creator.member,
          google_cloud_run_service_iam_member.watcher_invoker["renew"].member,
          google_cloud_run_service_iam_member.watcher_invoker["sync"].member,
          google_pubsub_topic_iam_member.sync_dead_letter_publisher.member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["events"].member,
          google_pubsub_topic_iam_member.gmail_push_publisher[0].member,
          google_pubsub_subscription_iam_member.sync_dead_letter_subscriber["gmail"].member,
          google_project_iam_member.build_log_writer.member,
          google_artifact_registry_repository_iam_member.build_writer.member,
          google_storage_bucket_iam_member.build_source_reader.member,
          google_project_iam_member.build_staging_reader.member,
        ],
      ) : m if contains(["allUsers", "allAuthenticatedUsers"], m)
    ]) == 0
    error_message = "allUsers or allAuthenticatedUsers may appear only on Receive."
  }
}

run "renew_private" {
  assert {
    condition = (
      google_cloud_run_service_iam_member.watcher_invoker["renew"].service == "projects/demo-project/locations/us-central1/services/watchrelay-renew" &&
      google_cloud_run_service_iam_member.watcher_invoker["renew"].role == "roles/run.invoker" &&
      google_cloud_run_service_iam_member.watcher_invoker["renew"].member == "serviceAccount:watchrelay-scheduler@demo-project.iam.gserviceaccount.com"
    )
    error_message = "Only the scheduler's account may invoke Renew, on Renew's service."
  }
}

run "no_public_receive" {
  # An org policy with domain-restricted sharing refuses allUsers.
  variables {
    public_receive = false
    name           = "relay-two" # the command must follow the function's name
  }

  assert {
    condition     = length(google_cloud_run_service_iam_member.public_receive) == 0
    error_message = "public_receive = false must grant nothing to allUsers."
  }

  assert {
    # Cloud Run's way for such projects: no allUsers member, the invoker
    # check turned off on Receive's service alone.
    condition     = output.receive_public_command == "gcloud run services update relay-two-receive --project=demo-project --region=us-central1 --no-invoker-iam-check"
    error_message = "receive_public_command must turn off the invoker IAM check on Receive's service, and nowhere else."
  }
}

run "public_receive_no_command" {
  assert {
    condition     = output.receive_public_command == null
    error_message = "With the allUsers binding, no invoker-check command is needed."
  }
}

run "firestore_access" {
  assert {
    condition = (
      toset(keys(google_project_iam_member.datastore_user)) == toset(["receive", "renew"]) &&
      alltrue([for k, b in google_project_iam_member.datastore_user : b.role == "roles/datastore.user" && b.member == "serviceAccount:watchrelay-${k}@demo-project.iam.gserviceaccount.com"])
    )
    error_message = "Receive's account and the watcher (Renew's, which Sync runs as too), and only they, get roles/datastore.user."
  }

  assert {
    condition = alltrue([for b in google_project_iam_member.datastore_user :
    b.condition[0].expression == "resource.name == \"projects/demo-project/databases/(default)\""])
    error_message = "datastore.user must be conditioned on watchrelay's database."
  }
}

run "topic_level_publisher" {
  assert {
    condition = (
      toset(keys(google_pubsub_topic_iam_member.publisher)) == toset(["receive", "renew"]) &&
      alltrue([for k, b in google_pubsub_topic_iam_member.publisher :
        b.topic == "watchrelay-events" && b.role == "roles/pubsub.publisher" &&
      b.member == "serviceAccount:watchrelay-${k}@demo-project.iam.gserviceaccount.com"])
    )
    error_message = "Receive's account and the watcher (Renew and Sync) publish through bindings on the events topic."
  }

  assert {
    # Project-level grants are exactly these: no pubsub role among them.
    condition = toset(concat(
      [for b in google_project_iam_member.datastore_user : b.role],
      [google_project_iam_member.build_log_writer.role, google_project_iam_member.build_staging_reader.role],
    )) == toset(["roles/datastore.user", "roles/logging.logWriter", "roles/storage.objectViewer"])
    error_message = "The module grants no project-level role beyond datastore.user, logging.logWriter and a conditioned storage.objectViewer."
  }
}

run "renew_delegation" {
  assert {
    condition = (
      google_service_account_iam_member.renew_token_creator.service_account_id == "projects/demo-project/serviceAccounts/watchrelay-renew@demo-project.iam.gserviceaccount.com" &&
      google_service_account_iam_member.renew_token_creator.member == "serviceAccount:watchrelay-renew@demo-project.iam.gserviceaccount.com" &&
      google_service_account_iam_member.renew_token_creator.role == "roles/iam.serviceAccountTokenCreator"
    )
    error_message = "Renew may mint tokens for itself only (domain-wide delegation)."
  }

  assert {
    # The watcher is the one account authorised at Google: Renew and Sync
    # both run as it, and no other account is given the token-creator
    # role that domain-wide delegation uses.
    condition = (
      google_cloudfunctions2_function.watcher["sync"].service_config[0].service_account_email == google_cloudfunctions2_function.watcher["renew"].service_config[0].service_account_email &&
      length([
        for b in [google_service_account_iam_member.renew_token_creator, google_service_account_iam_member.push_token_creator] : b
        if b.role == "roles/iam.serviceAccountTokenCreator" && b.member != google_service_account.this["renew"].member && b.member != "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
      ]) == 0 &&
      google_service_account_iam_member.push_token_creator.service_account_id == google_service_account.this["push"].name
    )
    error_message = "Sync must run as Renew's account, and only that account may mint its own tokens (the Pub/Sub agent signs the push account's OIDC tokens, nothing more)."
  }

  assert {
    condition     = output.service_accounts.renew.unique_id == "100000000000000000001"
    error_message = "service_accounts must give Renew's client id for domain-wide delegation."
  }
}

run "build_account" {
  assert {
    condition = (
      google_project_iam_member.build_log_writer.member == "serviceAccount:watchrelay-build@demo-project.iam.gserviceaccount.com" &&
      google_project_iam_member.build_log_writer.role == "roles/logging.logWriter"
    )
    error_message = "The build account writes build logs."
  }

  assert {
    condition = (
      google_artifact_registry_repository_iam_member.build_writer.repository == google_artifact_registry_repository.functions.name &&
      google_artifact_registry_repository_iam_member.build_writer.role == "roles/artifactregistry.writer" &&
      google_artifact_registry_repository_iam_member.build_writer.member == "serviceAccount:watchrelay-build@demo-project.iam.gserviceaccount.com"
    )
    error_message = "The build account writes images to watchrelay's repository only."
  }

  assert {
    condition = (
      google_storage_bucket_iam_member.build_source_reader.bucket == google_storage_bucket.source.name &&
      google_storage_bucket_iam_member.build_source_reader.role == "roles/storage.objectViewer" &&
      google_storage_bucket_iam_member.build_source_reader.member == "serviceAccount:watchrelay-build@demo-project.iam.gserviceaccount.com"
    )
    error_message = "The build account reads the source bucket."
  }

  assert {
    condition = (
      google_project_iam_member.build_staging_reader.member == "serviceAccount:watchrelay-build@demo-project.iam.gserviceaccount.com" &&
      google_project_iam_member.build_staging_reader.role == "roles/storage.objectViewer" &&
      length(google_project_iam_member.build_staging_reader.condition) == 1 &&
      google_project_iam_member.build_staging_reader.condition[0].expression == "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
    )
    error_message = "Only the build account may read objects project-wide, and only in Cloud Functions' staging buckets (gcf-v2-sources-*)."
  }
}

run "service_accounts" {
  assert {
    condition = (
      toset(keys(google_service_account.this)) == toset(["receive", "renew", "scheduler", "build", "push"]) &&
      alltrue([for k, sa in google_service_account.this : sa.account_id == "watchrelay-${k}" && sa.project == "demo-project"])
    )
    error_message = "One account per role, named watchrelay-<role>, Sync sharing Renew's (the watcher): the README, the DWD client id and the IAM tests name them so."
  }
}

run "service_accounts_named" {
  # A second copy in the same project: every account id carries the prefix.
  variables {
    name = "relay-two"
  }

  assert {
    condition     = toset([for sa in values(google_service_account.this) : sa.account_id]) == toset(["relay-two-receive", "relay-two-renew", "relay-two-scheduler", "relay-two-build", "relay-two-push"])
    error_message = "Account ids must follow var.name."
  }
}
