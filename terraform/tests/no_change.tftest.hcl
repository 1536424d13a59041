# No change, no diff: the same archive bytes, wherever the file lies, give
# the same object name, so re-running scripts/package.sh on unchanged code
# and applying redeploys nothing. (data.tftest.hcl checks the other half: a
# changed archive gets a new name.)

mock_provider "google" {
  source = "./tests/mocks"
}

# The IAM wait (iam_wait.tf) must not really sleep in tests.
mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "original" {
  assert {
    condition     = output.source_object == "gs://demo-project-watchrelay-source/watchrelay-${filesha256("tests/fixtures/source-v1.zip")}.zip"
    error_message = "The object must be named after the archive's SHA-256."
  }
}

run "same_bytes_elsewhere" {
  variables {
    source_zip = "tests/fixtures/source-v1-copy.zip"
  }

  assert {
    condition     = output.source_object == run.original.source_object
    error_message = "The same archive bytes must keep the object name, so nothing redeploys."
  }
  assert {
    condition     = google_cloudfunctions2_function.receive.build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.source.name
    error_message = "Receive must be built from the uploaded object."
  }
}
