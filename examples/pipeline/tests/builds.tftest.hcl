# What the triggers run (the build files they name), parsed as Cloud Build
# parses them: nothing a branch can edit runs with the deploy account, and
# the Go both builds download is checked before use. The account is the
# trigger's (triggers.tftest.hcl); here, that the files neither name one
# nor apply on a branch.

mock_provider "google" {}

# The API wait (time_sleep.apis) would otherwise sleep for real.
mock_provider "time" {}

variables {
  project_id   = "demo-project"
  state_bucket = "demo-state"
  github       = { owner = "example", name = "watchrelay" }
}

run "branch_build_plans_only" {
  command = plan

  assert {
    condition     = !contains(keys(yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}"))), "serviceAccount")
    error_message = "cloudbuild.yaml must not choose its account: the plan trigger sets it."
  }

  assert {
    # Not terraform apply, nor an apply hidden in a script or a step id.
    condition     = alltrue([for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : !strcontains(jsonencode(s), "apply")])
    error_message = "No step of the branch build may apply."
  }

  assert {
    # gcloud --impersonate-service-account, GOOGLE_IMPERSONATE_SERVICE_ACCOUNT,
    # the provider's impersonate_service_account: all would need actAs or
    # a token creator grant the plan account lacks, and none belongs here.
    condition     = !strcontains(lower(jsonencode(yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")))), "impersonat")
    error_message = "The branch build must not impersonate any account."
  }

  assert {
    # The deploy account is named once, as the member the plan passes to
    # the module's deployer input (and checked present by the preflight).
    condition = [for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : s.id if strcontains(jsonencode(s), "_DEPLOYER")] == ["preflight", "plan"] && contains(
      [for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : s if s.id == "plan"][0].args, "-var=deployer=$${_DEPLOYER}"
    )
    error_message = "The branch build may name the deploy account only as the plan's deployer variable."
  }

  assert {
    condition     = length(setintersection(keys(yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).substitutions), ["_APPLY", "_BUILD_SA"])) == 0
    error_message = "The _APPLY and _BUILD_SA substitutions are gone: a build started with _APPLY=true applied from any branch."
  }

  assert {
    # Taking the state lock writes to the state bucket, which the plan
    # account may only read.
    condition     = contains([for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : s if s.id == "plan"][0].args, "-lock=false")
    error_message = "The branch build's plan must not take the state lock."
  }
}

run "branch_build_tests_on_the_locked_providers" {
  command = plan

  assert {
    # Each root's init takes the quickstart's lock, read-only: the tests
    # run on the providers the apply uses, and a new google or time
    # release cannot break every branch's build.
    condition = alltrue([
      for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : (
        strcontains(s.args[1], "cp examples/quickstart/.terraform.lock.hcl \"$$dir/.terraform.lock.hcl\"") &&
        strcontains(s.args[1], "init -backend=false -input=false -lockfile=readonly\n")
      ) if s.id == "terraform-checks"
    ]) && length([for s in yamldecode(file("../../${google_cloudbuild_trigger.this["plan"].filename}")).steps : s if s.id == "terraform-checks"]) == 1
    error_message = "The plan build's terraform-checks step must copy examples/quickstart/.terraform.lock.hcl into each root and init it with -lockfile=readonly."
  }
}

run "images_are_written_not_substituted" {
  command = plan

  assert {
    # gcloud builds triggers run --substitutions=_X=... sets any
    # substitution: none may choose what runs as the build's account.
    condition = alltrue(flatten([
      for f in [for t in google_cloudbuild_trigger.this : t.filename] : [
        for s in yamldecode(file("../../${f}")).steps : !strcontains(s.name, "$")
      ]
    ]))
    error_message = "Each step's image must be written in the build file, not taken from a substitution a manual run can set."
  }
}

run "apply_build" {
  command = plan

  assert {
    condition     = !contains(keys(yamldecode(file("../../${google_cloudbuild_trigger.this["apply"].filename}"))), "serviceAccount")
    error_message = "cloudbuild-apply.yaml must not choose its account: the apply trigger sets it."
  }

  assert {
    condition = alltrue([
      for s in yamldecode(file("../../${google_cloudbuild_trigger.this["apply"].filename}")).steps :
      contains(s.args, "-lockfile=readonly") && contains(s.args, "-chdir=examples/quickstart") if s.id == "init"
    ])
    error_message = "The apply build's init must use examples/quickstart's committed lock file as it is (-lockfile=readonly)."
  }

  assert {
    condition     = strcontains(one([for s in yamldecode(file("../../${google_cloudbuild_trigger.this["apply"].filename}")).steps : s.args[1] if s.id == "apply"]), "terraform -chdir=examples/quickstart apply -input=false -lock-timeout=300s tfplan")
    error_message = "The apply build applies the plan it made, of examples/quickstart."
  }
}

run "go_is_verified_before_use" {
  command = plan

  assert {
    # In each build, every step that runs the downloaded Go comes after the
    # go-install step, which runs scripts/go-install.sh (the checksum), and
    # no step downloads anything itself.
    condition = alltrue(flatten([
      for f in [for t in google_cloudbuild_trigger.this : t.filename] : [
        for i, s in yamldecode(file("../../${f}")).steps : (
          s.id == "go-install" ? strcontains(jsonencode(s.args), "bash scripts/go-install.sh") :
          !strcontains(jsonencode(s), ".tools/go/bin") || i > index([for t in yamldecode(file("../../${f}")).steps : t.id], "go-install")
        ) && !strcontains(jsonencode(s), "curl") && !strcontains(jsonencode(s), "go.dev/dl")
      ]
    ]))
    error_message = "Go must be installed by scripts/go-install.sh, which checks its SHA-256, before any step runs it; no step may download on its own."
  }

  assert {
    # Both builds run the downloaded Go (the tests; the smoke test's CLI).
    condition = alltrue([
      for f in [for t in google_cloudbuild_trigger.this : t.filename] :
      length([for s in yamldecode(file("../../${f}")).steps : s if strcontains(jsonencode(s), ".tools/go/bin")]) > 0
    ])
    error_message = "Each build runs the downloaded Go: this check would prove nothing otherwise."
  }
}
