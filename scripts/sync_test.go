package scripts

import "testing"

// Sync is private: an unauthenticated push is refused by Cloud Run, at
// ingress or for want of credentials, never answered by Sync itself.
func TestSmokeSyncPrivate(t *testing.T) {
	t.Parallel()
	runCases(t, []smokeCase{{
		// Sync's ingress admits outside traffic: Cloud Run refuses the
		// push for want of credentials.
		name: "sync refuses without a token", env: allIngress,
		rules: but(sync(answer{Code: "403", Out: iam403})),
		want: []string{
			"ok    Sync at " + syncURL + " refused an unauthenticated push (403): only the push account may invoke it",
			"smoke: 11 passed, 0 failed",
		},
	}, {
		name: "sync asks for credentials", env: allIngress,
		rules: but(sync(answer{Code: "401", Out: "<html><head>\n<title>401 Unauthorized</title>\n"})),
		want:  []string{"ok    Sync at " + syncURL + " refused an unauthenticated push (401)", "smoke: 11 passed, 0 failed"},
	}, {
		// Sync itself acknowledged the event: anyone may invoke it.
		name: "sync public", env: allIngress,
		rules: but(sync(answer{Code: "204"})),
		exit:  1,
		want: []string{
			"FAIL  Sync at " + syncURL + " answered an unauthenticated push 204: Sync is public, anyone may make it fetch and publish",
			"      fix: only the push account may invoke it: remove every other roles/run.invoker member (gcloud run services get-iam-policy watchrelay-sync --region=us-central1 --project=demo-project), then terraform apply;",
			"           the invoker IAM check must be on: gcloud run services update watchrelay-sync --invoker-iam-check --region=us-central1 --project=demo-project",
			"smoke: 10 passed, 1 failed",
		},
	}, {
		// A public Sync of another contract refusing the envelope.
		name: "sync public and refusing the envelope", env: smokeEnv,
		rules: but(sync(answer{Code: "400", Out: "sync: changes: bad message: data: invalid character\n"})),
		exit:  1,
		want:  []string{"FAIL  Sync at " + syncURL + " answered an unauthenticated push 400: Sync is public"},
	}, {
		// A 404 with an open ingress is no refusal: nothing is there.
		name: "sync missing", env: allIngress,
		rules: but(sync(answer{Code: "404", Out: ingress404})),
		exit:  1,
		want: []string{
			"FAIL  nothing answers at " + syncURL + " (404)",
			"      fix: terraform apply (in examples/quickstart/); the sync_url output says where Sync is",
		},
	}, {
		// A 503 of Cloud Run's own while the service settles, then the
		// refusal: retried.
		name: "sync 503 then refused", env: allIngress, timeout: "60",
		rules: but(sync(answer{Code: "503", Out: "<html><title>503 Service Unavailable</title>\n"}, answer{Code: "403", Out: iam403})),
		want:  []string{"ok    Sync at " + syncURL + " refused an unauthenticated push (403)", "smoke: 11 passed, 0 failed"},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, syncURL); n != 2 {
				t.Errorf("Sync was posted %d times, want 2 (a 503 is retried)", n)
			}
		},
	}, {
		// Sync's own 503: it ran, so it is public, and it fails.
		name: "sync public and failing", env: allIngress,
		rules: but(sync(answer{Code: "503", Out: "sync: store: unavailable\n"})),
		exit:  1,
		want: []string{
			"FAIL  Sync at " + syncURL + " answered an unauthenticated push 503 (sync: store: unavailable): Sync is public, and failing",
			`read why it fails: gcloud logging read 'resource.type="cloud_run_revision" AND resource.labels.service_name="watchrelay-sync" AND severity>=ERROR'`,
		},
	}, {
		// Cloud Run's 5xx to the end.
		name: "sync 500", env: smokeEnv,
		rules: but(sync(answer{Code: "500", Out: "<html><title>500 Internal Server Error</title>\n"})),
		exit:  1,
		want: []string{
			"FAIL  Sync at " + syncURL + " answered 500 for 0s, where Cloud Run should refuse an unauthenticated push",
			"gcloud functions describe watchrelay-sync --v2 --region=us-central1 --project=demo-project says whether it is serving",
		},
	}, {
		name: "sync unreachable", env: smokeEnv,
		rules: but(sync(answer{Exit: 6, Err: "curl: (6) Could not resolve host: watchrelay-sync-mock.a.run.app\n"})),
		exit:  1,
		want: []string{
			"FAIL  no answer from " + syncURL + " for 0s: curl: (6) Could not resolve host",
			"terraform output sync_url says where Sync is",
		},
	}})
}
