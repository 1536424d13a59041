# The optional custom domain for Receive (domain.tf): none by default; with
# receive_domain, an HTTPS load balancer in front of Receive, and the
# address Renew gives Google follows it.

mock_provider "google" {
  source = "./tests/mocks"

  # The address Google assigns, so the DNS record can be checked.
  mock_resource "google_compute_global_address" {
    defaults = {
      address = "203.0.113.7"
    }
  }
}

mock_provider "time" {}

variables {
  project_id = "demo-project"
  source_zip = "tests/fixtures/source-v1.zip"
}

run "no_domain" {
  assert {
    condition = (
      length(google_compute_global_address.receive) == 0 &&
      length(google_compute_region_network_endpoint_group.receive) == 0 &&
      length(google_compute_backend_service.receive) == 0 &&
      length(google_compute_url_map.receive) == 0 &&
      length(google_compute_managed_ssl_certificate.receive) == 0 &&
      length(google_compute_target_https_proxy.receive) == 0 &&
      length(google_compute_global_forwarding_rule.receive) == 0 &&
      length(google_project_service.compute) == 0
    )
    error_message = "Without receive_domain, no load balancer and no Compute Engine API."
  }

  assert {
    condition     = output.receive_domain == null && output.receive_url == "https://watchrelay-receive-mock.a.run.app"
    error_message = "Without receive_domain, Receive is reached at its own URL."
  }

  assert {
    # What scripts/smoke.sh reads; scripts/smoke_test.go feeds it the same.
    condition = output.smoke_env == join("\n", [
      "SMOKE_PROJECT=demo-project",
      "SMOKE_REGION=us-central1",
      "SMOKE_RECEIVE=watchrelay-receive",
      "SMOKE_RENEW=watchrelay-renew",
      "SMOKE_SYNC=watchrelay-sync",
      "SMOKE_SYNC_URL=https://watchrelay-sync-mock.a.run.app",
      "SMOKE_SYNC_INGRESS=ALLOW_INTERNAL_ONLY",
      "SMOKE_RECEIVE_URLS='https://watchrelay-receive-mock.a.run.app'",
      "SMOKE_JOB=watchrelay-renew",
      "SMOKE_TOPIC=watchrelay-events",
      "SMOKE_DATABASE='(default)'",
      "SMOKE_INDEXES=2",
    ])
    error_message = "smoke_env must name the deployment's functions, Receive's URL, Sync's URL and ingress, the job, the topic, the database and the number of indexes."
  }
}

run "domain" {
  variables {
    receive_domain = "relay.example.com"
  }

  assert {
    condition = (
      google_cloudfunctions2_function.watcher["renew"].service_config[0].environment_variables["WATCHRELAY_ADDRESS"] == "https://relay.example.com" &&
      output.receive_url == "https://relay.example.com" &&
      strcontains(output.cli_env, "export WATCHRELAY_ADDRESS=https://relay.example.com\n")
    )
    error_message = "WATCHRELAY_ADDRESS, receive_url and cli_env must follow the custom domain."
  }

  assert {
    # The serverless NEG points at Receive's Cloud Run service (a gen2
    # function's service bears its name), in the functions' region.
    condition = (
      google_compute_region_network_endpoint_group.receive[0].network_endpoint_type == "SERVERLESS" &&
      google_compute_region_network_endpoint_group.receive[0].region == "us-central1" &&
      google_compute_region_network_endpoint_group.receive[0].cloud_run[0].service == google_cloudfunctions2_function.receive.name &&
      length(google_compute_region_network_endpoint_group.receive[0].cloud_function) == 0
    )
    error_message = "The network endpoint group must be serverless and serve Receive's service."
  }

  assert {
    condition = (
      google_compute_backend_service.receive[0].load_balancing_scheme == "EXTERNAL_MANAGED" &&
      google_compute_backend_service.receive[0].protocol == "HTTPS" &&
      one([for b in google_compute_backend_service.receive[0].backend : b.group]) == google_compute_region_network_endpoint_group.receive[0].id &&
      google_compute_url_map.receive[0].default_service == google_compute_backend_service.receive[0].id &&
      google_compute_target_https_proxy.receive[0].url_map == google_compute_url_map.receive[0].id
    )
    error_message = "Every request must go proxy -> URL map -> backend service -> Receive's endpoint group."
  }

  assert {
    condition = (
      google_compute_managed_ssl_certificate.receive[0].managed[0].domains == tolist(["relay.example.com"]) &&
      google_compute_target_https_proxy.receive[0].ssl_certificates == tolist([google_compute_managed_ssl_certificate.receive[0].id])
    )
    error_message = "The proxy must serve a Google-managed certificate for the domain."
  }

  assert {
    # scripts/smoke_test.go names it so.
    condition     = google_compute_managed_ssl_certificate.receive[0].name == "watchrelay-receive-c5294ed0"
    error_message = "The certificate is named after the domain's SHA-256, so a new domain gets a new one."
  }

  assert {
    condition = (
      google_compute_global_forwarding_rule.receive[0].port_range == "443" &&
      google_compute_global_forwarding_rule.receive[0].load_balancing_scheme == "EXTERNAL_MANAGED" &&
      google_compute_global_forwarding_rule.receive[0].target == google_compute_target_https_proxy.receive[0].id &&
      google_compute_global_forwarding_rule.receive[0].ip_address == google_compute_global_address.receive[0].id
    )
    error_message = "HTTPS on 443 only, at the reserved address, through the proxy."
  }

  assert {
    condition     = one(google_project_service.compute[*].service) == "compute.googleapis.com" && one(google_project_service.compute[*].disable_on_destroy) == false
    error_message = "The load balancer needs the Compute Engine API, left on at destroy like the others."
  }

  assert {
    condition = output.receive_domain == {
      domain      = "relay.example.com"
      ip_address  = "203.0.113.7"
      dns_record  = "relay.example.com. 300 IN A 203.0.113.7"
      certificate = google_compute_managed_ssl_certificate.receive[0].name
    }
    error_message = "The receive_domain output must give the A record to create."
  }

  assert {
    condition     = strcontains(output.smoke_env, "SMOKE_RECEIVE_URLS='https://watchrelay-receive-mock.a.run.app https://relay.example.com'") && strcontains(output.smoke_env, "SMOKE_CERTIFICATE=${google_compute_managed_ssl_certificate.receive[0].name}")
    error_message = "scripts/smoke.sh must check Receive at its own URL and at the domain, and the certificate."
  }
}

run "new_domain" {
  # Another domain: a new certificate, made before the old one goes; the
  # address, and so the A record's target, stays.
  variables {
    receive_domain = "hooks.example.org"
  }

  assert {
    condition = (
      google_compute_managed_ssl_certificate.receive[0].name != run.domain.receive_domain.certificate &&
      google_compute_global_address.receive[0].address == run.domain.receive_domain.ip_address
    )
    error_message = "A new domain must get a new certificate and keep the address."
  }
}

run "domain_apis_managed_elsewhere" {
  command = plan
  variables {
    receive_domain = "relay.example.com"
    enable_apis    = false
  }

  assert {
    condition     = length(google_project_service.compute) == 0 && length(google_compute_global_forwarding_rule.receive) == 1
    error_message = "enable_apis = false must enable nothing, the Compute Engine API included."
  }
}

run "domain_with_scheme" {
  command = plan
  variables {
    receive_domain = "https://relay.example.com"
  }
  expect_failures = [var.receive_domain]
}

run "domain_run_app" {
  command = plan
  variables {
    receive_domain = "watchrelay-receive-abc.a.run.app"
  }
  expect_failures = [var.receive_domain]
}

run "domain_uppercase" {
  command = plan
  variables {
    receive_domain = "Relay.Example.com"
  }
  expect_failures = [var.receive_domain]
}
