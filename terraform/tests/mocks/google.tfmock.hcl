# Shared by every tests/*.tftest.hcl through mock_provider's source: known,
# distinct values for what the provider would compute, so that a mix-up
# between Receive and Renew, or between two service accounts, fails a test.

override_resource {
  target = google_cloudfunctions2_function.receive
  values = {
    service_config = {
      uri     = "https://watchrelay-receive-mock.a.run.app"
      service = "projects/demo-project/locations/us-central1/services/watchrelay-receive"
    }
  }
}

override_resource {
  target = google_cloudfunctions2_function.watcher["renew"]
  values = {
    service_config = {
      uri     = "https://watchrelay-renew-mock.a.run.app"
      service = "projects/demo-project/locations/us-central1/services/watchrelay-renew"
    }
  }
}

override_resource {
  target = google_service_account.this["receive"]
  values = {
    email     = "watchrelay-receive@demo-project.iam.gserviceaccount.com"
    member    = "serviceAccount:watchrelay-receive@demo-project.iam.gserviceaccount.com"
    id        = "projects/demo-project/serviceAccounts/watchrelay-receive@demo-project.iam.gserviceaccount.com"
    name      = "projects/demo-project/serviceAccounts/watchrelay-receive@demo-project.iam.gserviceaccount.com"
    unique_id = "100000000000000000000"
  }
}

override_resource {
  target = google_service_account.this["renew"]
  values = {
    email     = "watchrelay-renew@demo-project.iam.gserviceaccount.com"
    member    = "serviceAccount:watchrelay-renew@demo-project.iam.gserviceaccount.com"
    id        = "projects/demo-project/serviceAccounts/watchrelay-renew@demo-project.iam.gserviceaccount.com"
    name      = "projects/demo-project/serviceAccounts/watchrelay-renew@demo-project.iam.gserviceaccount.com"
    unique_id = "100000000000000000001"
  }
}

override_resource {
  target = google_service_account.this["scheduler"]
  values = {
    email     = "watchrelay-scheduler@demo-project.iam.gserviceaccount.com"
    member    = "serviceAccount:watchrelay-scheduler@demo-project.iam.gserviceaccount.com"
    id        = "projects/demo-project/serviceAccounts/watchrelay-scheduler@demo-project.iam.gserviceaccount.com"
    name      = "projects/demo-project/serviceAccounts/watchrelay-scheduler@demo-project.iam.gserviceaccount.com"
    unique_id = "100000000000000000002"
  }
}

override_resource {
  target = google_service_account.this["build"]
  values = {
    email     = "watchrelay-build@demo-project.iam.gserviceaccount.com"
    member    = "serviceAccount:watchrelay-build@demo-project.iam.gserviceaccount.com"
    id        = "projects/demo-project/serviceAccounts/watchrelay-build@demo-project.iam.gserviceaccount.com"
    name      = "projects/demo-project/serviceAccounts/watchrelay-build@demo-project.iam.gserviceaccount.com"
    unique_id = "100000000000000000003"
  }
}

override_resource {
  target = google_storage_bucket.source
  values = {
    project_number = "123456789012"
  }
}

override_resource {
  target = google_cloudfunctions2_function.watcher["sync"]
  values = {
    service_config = {
      uri     = "https://watchrelay-sync-mock.a.run.app"
      service = "projects/demo-project/locations/us-central1/services/watchrelay-sync"
    }
  }
}

override_resource {
  target = google_service_account.this["push"]
  values = {
    email     = "watchrelay-push@demo-project.iam.gserviceaccount.com"
    member    = "serviceAccount:watchrelay-push@demo-project.iam.gserviceaccount.com"
    id        = "projects/demo-project/serviceAccounts/watchrelay-push@demo-project.iam.gserviceaccount.com"
    name      = "projects/demo-project/serviceAccounts/watchrelay-push@demo-project.iam.gserviceaccount.com"
    unique_id = "100000000000000000005"
  }
}
