package scripts

import (
	"strings"
	"testing"
)

// smokeEnv is the smoke_env output of the default configuration on the
// mock provider, as terraform/tests/domain.tftest.hcl asserts it.
const smokeEnv = `SMOKE_PROJECT=demo-project
SMOKE_REGION=us-central1
SMOKE_RECEIVE=watchrelay-receive
SMOKE_RENEW=watchrelay-renew
SMOKE_SYNC=watchrelay-sync
SMOKE_SYNC_URL=https://watchrelay-sync-mock.a.run.app
SMOKE_SYNC_INGRESS=ALLOW_INTERNAL_ONLY
SMOKE_RECEIVE_URLS='https://watchrelay-receive-mock.a.run.app'
SMOKE_JOB=watchrelay-renew
SMOKE_TOPIC=watchrelay-events
SMOKE_DATABASE='(default)'
SMOKE_INDEXES=2`

// withDomain is smokeEnv with receive_domain = "relay.example.com".
const withDomain = `SMOKE_PROJECT=demo-project
SMOKE_REGION=us-central1
SMOKE_RECEIVE=watchrelay-receive
SMOKE_RENEW=watchrelay-renew
SMOKE_SYNC=watchrelay-sync
SMOKE_SYNC_URL=https://watchrelay-sync-mock.a.run.app
SMOKE_SYNC_INGRESS=ALLOW_INTERNAL_ONLY
SMOKE_RECEIVE_URLS='https://watchrelay-receive-mock.a.run.app https://relay.example.com'
SMOKE_JOB=watchrelay-renew
SMOKE_TOPIC=watchrelay-events
SMOKE_DATABASE='(default)'
SMOKE_INDEXES=2
SMOKE_CERTIFICATE=watchrelay-receive-c5294ed0`

const (
	summary  = "channelsStopped=0;failed=0;gone=0;lapsed=0;remaining=0;renewed=0;started=0;stopped=0"
	indexes  = "projects/demo-project/databases/(default)/collectionGroups/watches/indexes/CICAgOjXh4EK\tREADY\nprojects/demo-project/databases/(default)/collectionGroups/channels/indexes/CICAgJiUpoMK\tREADY\n"
	ttls     = "projects/demo-project/databases/(default)/collectionGroups/channels/fields/deleteAt\tACTIVE\n"
	notFound = "ERROR: (gcloud.pubsub.topics.describe) NOT_FOUND: Resource not found (resource=watchrelay-events).\n"
	denied   = "ERROR: (gcloud.functions.describe) PERMISSION_DENIED: Permission 'cloudfunctions.functions.get' denied on 'projects/demo-project/locations/us-central1/functions/watchrelay-receive'\n"
	runURL   = "https://watchrelay-receive-mock.a.run.app"
	syncURL  = "https://watchrelay-sync-mock.a.run.app"
	// What Cloud Run answers a call it refuses before Sync sees it: at
	// ingress (404, internal ingress) or for want of credentials.
	ingress404 = "<html><head>\n<title>404 Page not found</title>\n"
	iam403     = "<html><head>\n<title>403 Forbidden</title>\n"
	// The push smoke.sh sends Sync: an event that is no notification.
	syncPush = `{"message":{"attributes":{"ce-type":"watchrelay.watch.started.v1"},"data":"e30=","messageId":"smoke"},"subscription":"smoke"}`
)

func gcloud(answers []answer, match ...string) rule {
	return rule{Tool: "gcloud", Match: match, Answers: answers}
}

func out(s string) []answer { return []answer{{Out: s}} }

// receive answers the notifications of the temporary channel posted to
// Receive (at any URL).
func receive(answers ...answer) rule {
	return rule{Tool: "curl", Match: []string{"X-Goog-Channel-ID: smoke-"}, Answers: answers}
}

// deleteChannel answers the deletion of the temporary channel's record.
func deleteChannel(answers ...answer) rule {
	return rule{Tool: "curl", Match: []string{"-X DELETE", "/documents/channels/smoke-"}, Answers: answers}
}

// sync answers the pushes posted to Sync's URL.
func sync(answers ...answer) rule {
	return rule{Tool: "curl", Match: []string{syncURL}, Answers: answers}
}

// allIngress is smokeEnv with Sync's ingress open to all traffic.
var allIngress = strings.Replace(smokeEnv, "SMOKE_SYNC_INGRESS=ALLOW_INTERNAL_ONLY", "SMOKE_SYNC_INGRESS=ALLOW_ALL", 1)

// healthy is a deployment where everything works.
func healthy() []rule {
	return []rule{
		gcloud(out("ACTIVE\n"), "functions describe watchrelay-receive"),
		gcloud(out("ACTIVE\n"), "functions describe watchrelay-renew"),
		gcloud(out("ACTIVE\n"), "functions describe watchrelay-sync"),
		gcloud(out("ACTIVE\n"), "compute ssl-certificates describe"),
		gcloud(out(""), "pubsub subscriptions create watchrelay-events-smoke-"),
		{Tool: "watchrelay", Answers: out("channel imported\n")},
		receive(answer{Code: "200"}),
		gcloud(out("{channel}\n"), "pubsub subscriptions pull watchrelay-events-smoke-"),
		gcloud(out("no such watch\n"), "logging read", "sync skipped"),
		sync(answer{Code: "404", Out: ingress404}),
		gcloud(out(""), "pubsub subscriptions delete watchrelay-events-smoke-"),
		gcloud(out("ya29.fake-access-token\n"), "auth print-access-token"),
		deleteChannel(answer{Code: "200", Out: "{}"}),
		gcloud(out(""), "scheduler jobs run watchrelay-renew"),
		gcloud(out(summary+"\n"), "logging read", "renew pass done"),
		gcloud(out(""), "logging read", "renew pass could not run"),
		gcloud(out(""), "scheduler jobs describe"),
		gcloud(out("projects/demo-project/topics/watchrelay-events\n"), "pubsub topics describe watchrelay-events"),
		gcloud(out(indexes), "firestore indexes composite list"),
		gcloud(out(ttls), "firestore fields ttls list"),
		{Tool: "terraform", Answers: out(smokeEnv)},
	}
}

// but puts rules ahead of healthy's, so that they answer first.
func but(rules ...rule) []rule { return append(rules, healthy()...) }

// smokeCase is a run of smoke.sh against the fakes and what it must show.
type smokeCase struct {
	name    string
	env     string // the smoke_env file; "" runs without one (terraform output)
	rules   []rule
	timeout string // SMOKE_TIMEOUT: 0 gives up at the first answer that is not final
	exit    int
	want    []string // in the output, in this order
	calls   func(t *testing.T, calls []string)
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	runCases(t, []smokeCase{{
		// Every check passes, and each says what it saw.
		name: "healthy", env: smokeEnv, rules: healthy(),
		want: []string{
			"smoke: watchrelay in demo-project (us-central1)",
			"ok    function watchrelay-receive is ACTIVE",
			"ok    function watchrelay-renew is ACTIVE",
			"ok    function watchrelay-sync is ACTIVE",
			"ok    Receive at " + runURL + " answered a notification of channel smoke-",
			"ok    the notification's event reached topic watchrelay-events",
			"ok    Sync took the event's turn through its push subscription (no such watch)",
			"ok    Sync at " + syncURL + " refused a push from outside (404, ingress ALLOW_INTERNAL_ONLY): only Pub/Sub's push reaches it",
			"ok    the job watchrelay-renew ran Renew; its pass: " + summary,
			"ok    topic watchrelay-events exists",
			"ok    2 composite indexes of watches/ and channels/ are READY",
			"ok    the TTL policy on channels.deleteAt is ACTIVE",
			"smoke: 11 passed, 0 failed",
			"smoke: deleted subscription watchrelay-events-smoke-",
			"smoke: deleted channel smoke-",
		},
		calls: func(t *testing.T, calls []string) {
			// Sync is posted a push envelope as Pub/Sub's, of an event
			// that is no notification, once, with no credentials.
			push := ""
			for _, c := range calls {
				if strings.HasPrefix(c, "curl ") && strings.Contains(c, syncURL) {
					push = c
				}
			}
			for _, h := range []string{"-X POST", "Content-Type: application/json", "--data-binary " + syncPush + " " + syncURL} {
				if !strings.Contains(push, h) {
					t.Errorf("the push to Sync lacks %q: %s", h, push)
				}
			}
			if strings.Contains(push, "Authorization") || strings.Contains(push, "X-Goog-") {
				t.Errorf("the push to Sync carries credentials or Receive's headers: %s", push)
			}
			if n := count(calls, syncURL); n != 1 {
				t.Errorf("Sync was posted %d times, want 1", n)
			}
			// A notification as Google sends it, of the temporary channel
			// with its token, with no body, to Receive's URL.
			post := find(calls, "curl -sS -o")
			for _, h := range []string{
				"-X POST", "X-Goog-Channel-ID: smoke-", "X-Goog-Channel-Token: ",
				"X-Goog-Message-Number: 2", "X-Goog-Resource-ID: smoke-", "X-Goog-Resource-State: exists",
				"X-Goog-Resource-URI: https://www.googleapis.com/calendar/v3/calendars/smoke-", "--data-binary  " + runURL,
			} {
				if !strings.Contains(post, h) {
					t.Errorf("the notification lacks %q: %s", h, post)
				}
			}
			// Every gcloud call names the deployment's project; the
			// database id reaches Firestore's commands as it is.
			for _, c := range calls {
				if strings.HasPrefix(c, "gcloud ") && !strings.Contains(c, "--project=demo-project") {
					t.Errorf("gcloud call without the project: %s", c)
				}
			}
			if c := find(calls, "gcloud firestore indexes"); !strings.Contains(c, "--database=(default)") {
				t.Errorf("indexes listed without the database: %s", c)
			}
			// Renew's summary is looked for in Renew's own log only.
			for _, c := range calls {
				if strings.Contains(c, "renew pass done") && (!strings.Contains(c, `resource.labels.service_name="watchrelay-renew"`) || !strings.Contains(c, `timestamp>="`)) {
					t.Errorf("the log query does not name Renew's service and a start time: %s", c)
				}
			}
		},
	}, {
		// No file: the script reads terraform's output itself.
		name: "env from terraform output", env: "", rules: healthy(),
		want: []string{"ok    function watchrelay-receive is ACTIVE", "smoke: 11 passed, 0 failed"},
		calls: func(t *testing.T, calls []string) {
			if c := find(calls, "terraform "); !strings.Contains(c, "output -raw smoke_env") {
				t.Errorf("terraform asked for %q, not the smoke_env output", c)
			}
		},
	}, {
		// Nothing applied yet: it cannot start, and says what to do.
		name: "no terraform output", env: "",
		rules: but(rule{Tool: "terraform", Answers: []answer{{Err: "Error: Output \"smoke_env\" not found\n", Exit: 1}}}),
		exit:  2,
		want:  []string{`smoke: no smoke_env output (Error: Output "smoke_env" not found): run terraform apply in examples/quickstart/ first`},
	}, {
		// A smoke_env of an older module: it names what is missing.
		name: "env without the topic", env: strings.Replace(smokeEnv, "SMOKE_TOPIC=watchrelay-events\n", "", 1), rules: healthy(),
		exit: 2,
		want: []string{"smoke: SMOKE_TOPIC is missing from smoke_env: apply this checkout's examples/quickstart/ first"},
	}, {
		// A custom domain: the certificate and both URLs are checked.
		name: "healthy with a domain", env: withDomain, rules: healthy(),
		want: []string{
			"ok    certificate watchrelay-receive-c5294ed0 for relay.example.com is ACTIVE",
			"ok    Receive at " + runURL + " answered a notification of channel smoke-",
			"ok    Receive at https://relay.example.com answered a notification of channel smoke-",
			"ok    Sync at " + syncURL + " refused a push from outside (404",
			"smoke: 13 passed, 0 failed",
		},
	}, {
		// The build failed: the fix names the IAM wait.
		name: "function failed", env: smokeEnv,
		rules: but(gcloud(out("FAILED\n"), "functions describe watchrelay-renew")),
		exit:  1,
		want: []string{
			"ok    function watchrelay-receive is ACTIVE",
			"FAIL  function watchrelay-renew is FAILED",
			"      fix: read why: gcloud functions describe watchrelay-renew --v2 --region=us-central1 --project=demo-project --format='value(stateMessages)'",
			"raise iam_propagation_wait, then terraform apply again",
			"smoke: 10 passed, 1 failed",
		},
	}, {
		// No such function: apply.
		name: "function missing", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: "ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'watchrelay-receive' was not found\n", Exit: 1}}, "functions describe watchrelay-receive")),
		exit:  1,
		want: []string{
			"FAIL  function watchrelay-receive: ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'watchrelay-receive' was not found",
			"      fix: terraform apply (in examples/quickstart/) creates it",
		},
	}, {
		// The caller lacks a role: the fix points at roles.tf.
		name: "function not readable", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: denied, Exit: 1}}, "functions describe watchrelay-receive")),
		exit:  1,
		want: []string{
			"FAIL  function watchrelay-receive: ERROR: (gcloud.functions.describe) PERMISSION_DENIED",
			"      fix: the account running this needs the roles of terraform/roles.tf (terraform output deployer_roles; docs/deploy.md)",
		},
	}, {
		// The certificate waits for DNS: the domain is not posted to.
		name: "certificate provisioning", env: withDomain,
		rules: but(gcloud(out("PROVISIONING\n"), "compute ssl-certificates describe watchrelay-receive-c5294ed0")),
		exit:  1,
		want: []string{
			"FAIL  certificate watchrelay-receive-c5294ed0 for relay.example.com is PROVISIONING, so https://relay.example.com cannot answer yet",
			"      fix: point an A record of relay.example.com at the address in `terraform output receive_domain` (ip_address)",
			"ok    Receive at " + runURL + " answered a notification of channel smoke-",
			"smoke: 11 passed, 1 failed",
		},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "https://relay.example.com"); n != 0 {
				t.Errorf("the domain was posted to %d times before its certificate was ACTIVE", n)
			}
		},
	}, {
		// The certificate is there, the load balancer not yet serving.
		name: "domain without TLS", env: withDomain,
		rules: but(rule{Tool: "curl", Match: []string{"https://relay.example.com"}, Answers: []answer{{Exit: 35, Err: "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to relay.example.com:443\n"}}}),
		exit:  1,
		want: []string{
			"FAIL  no answer from https://relay.example.com for 0s: curl: (35) OpenSSL SSL_connect",
			"      fix: a new load balancer takes a few minutes to serve once its certificate is ACTIVE",
		},
	}, {
		// The build of Sync failed: reported as the others'.
		name: "sync function failed", env: smokeEnv,
		rules: but(gcloud(out("FAILED\n"), "functions describe watchrelay-sync")),
		exit:  1,
		want: []string{
			"ok    function watchrelay-renew is ACTIVE",
			"FAIL  function watchrelay-sync is FAILED",
			"      fix: read why: gcloud functions describe watchrelay-sync --v2",
			"smoke: 10 passed, 1 failed",
		},
	}, {
		// A smoke_env of a module without Sync: it names what is missing.
		name: "env without sync", env: strings.Replace(smokeEnv, "SMOKE_SYNC_URL=https://watchrelay-sync-mock.a.run.app\n", "", 1), rules: healthy(),
		exit: 2,
		want: []string{"smoke: SMOKE_SYNC_URL is missing from smoke_env: apply this checkout's examples/quickstart/ first"},
	}, {
		// The summary shows up in the log after a poll.
		name: "renew log lags", env: smokeEnv, timeout: "60",
		rules: but(gcloud([]answer{{Out: ""}, {Out: summary + "\n"}}, "logging read", "renew pass done")),
		want:  []string{"ok    the job watchrelay-renew ran Renew; its pass: " + summary},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "renew pass done"); n != 2 {
				t.Errorf("the log was read %d times, want 2", n)
			}
		},
	}, {
		// Renew answered, but could not run its pass: its error is shown.
		name: "renew pass could not run", env: smokeEnv,
		rules: but(
			gcloud(out(""), "logging read", "renew pass done"),
			gcloud(out("store: list due watches: rpc error: code = PermissionDenied desc = Missing or insufficient permissions.\n"), "logging read", "renew pass could not run"),
		),
		exit: 1,
		want: []string{
			"FAIL  Renew ran but its pass could not run: store: list due watches: rpc error: code = PermissionDenied",
			"      fix: right after a first apply Renew's Firestore grant may still be propagating",
		},
	}, {
		// No pass: the job's status says the scheduler was refused.
		name: "scheduler refused by Renew", env: smokeEnv,
		rules: but(
			gcloud(out(""), "logging read", "renew pass done"),
			gcloud(out("7\tPERMISSION_DENIED\n"), "scheduler jobs describe watchrelay-renew"),
		),
		exit: 1,
		want: []string{
			"FAIL  Cloud Scheduler could not invoke Renew (status 7: PERMISSION_DENIED)",
			"      fix: the scheduler account needs roles/run.invoker on Renew",
		},
	}, {
		// No pass and no error anywhere: the log may lag.
		name: "no summary yet", env: smokeEnv,
		rules: but(gcloud(out(""), "logging read", "renew pass done")),
		exit:  1,
		want: []string{
			"FAIL  no pass of Renew logged its summary for 0s after the job ran",
			"      fix: logs can lag",
		},
	}, {
		// The log cannot be read: the role that reads it is named.
		name: "log not readable", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: "ERROR: (gcloud.logging.read) PERMISSION_DENIED: Permission 'logging.logEntries.list' denied\n", Exit: 1}}, "logging read")),
		exit:  1,
		want: []string{
			"FAIL  cannot read Renew's log: ERROR: (gcloud.logging.read) PERMISSION_DENIED",
			"(roles/logging.viewer reads logs)",
		},
	}, {
		// The job itself cannot be run.
		name: "job missing", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: "ERROR: (gcloud.scheduler.jobs.run) NOT_FOUND: Job not found.\n", Exit: 1}}, "scheduler jobs run")),
		exit:  1,
		want:  []string{"FAIL  cannot run the scheduler job watchrelay-renew: ERROR: (gcloud.scheduler.jobs.run) NOT_FOUND: Job not found.", "      fix: terraform apply (in examples/quickstart/) creates it"},
	}, {
		name: "topic missing", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: notFound, Exit: 1}}, "pubsub topics describe")),
		exit:  1,
		want:  []string{"FAIL  topic watchrelay-events does not exist: " + strings.TrimSuffix(notFound, "\n"), "      fix: terraform apply (in examples/quickstart/) creates it (topic_name)"},
	}, {
		// An index still building: not READY, and why that matters.
		name: "index building", env: smokeEnv,
		rules: but(gcloud(out(strings.Replace(indexes, "READY\n", "CREATING\n", 1)), "firestore indexes composite list")),
		exit:  1,
		want: []string{
			"FAIL  only 1 of 2 composite indexes are READY (the rest: CREATING)",
			"      fix: new indexes build for minutes, and Renew's queries fail until they are READY",
		},
	}, {
		// Other collections' indexes do not count as ours.
		name: "indexes missing", env: smokeEnv,
		rules: but(gcloud(out("projects/demo-project/databases/(default)/collectionGroups/orders/indexes/CICAgOi3kJAK\tREADY\n"), "firestore indexes composite list")),
		exit:  1,
		want:  []string{"FAIL  0 of the 2 composite indexes of terraform/indexes.json exist in database (default)", "      fix: terraform apply (in examples/quickstart/) creates them"},
	}, {
		name: "ttl creating", env: smokeEnv,
		rules: but(gcloud(out(strings.Replace(ttls, "ACTIVE", "CREATING", 1)), "firestore fields ttls list")),
		exit:  1,
		want:  []string{"FAIL  the TTL policy on channels.deleteAt is still CREATING: retired channels are not deleted yet", "      fix: Firestore takes minutes to hours over a new policy: run this again later"},
	}, {
		name: "ttl needs repair", env: smokeEnv,
		rules: but(gcloud(out(strings.Replace(ttls, "ACTIVE", "NEEDS_REPAIR", 1)), "firestore fields ttls list")),
		exit:  1,
		want:  []string{"FAIL  the TTL policy on channels.deleteAt NEEDS_REPAIR", "      fix: gcloud firestore fields ttls update deleteAt --collection-group=channels --enable-ttl --database='(default)' --project=demo-project"},
	}, {
		// A TTL on another field is not ours.
		name: "ttl missing", env: smokeEnv,
		rules: but(gcloud(out("projects/demo-project/databases/(default)/collectionGroups/strays/fields/deleteAt\tACTIVE\n"), "firestore fields ttls list")),
		exit:  1,
		want:  []string{"FAIL  no TTL policy on channels.deleteAt in database (default)", "      fix: terraform apply (in examples/quickstart/) sets it"},
	}, {
		// Everything wrong at once: every failure is reported, not the first.
		name: "all failing", env: smokeEnv,
		rules: but(
			gcloud(out("DEPLOYING\n"), "functions describe"),
			rule{Tool: "curl", Answers: []answer{{Code: "500"}}},
			gcloud(out(""), "logging read"),
			gcloud([]answer{{Err: notFound, Exit: 1}}, "pubsub topics describe"),
			gcloud(out(""), "firestore"),
		),
		exit: 1,
		want: []string{"smoke: 0 passed, 9 failed"},
	}})
}

// runCases runs each case in parallel and checks its exit, output and calls.
func runCases(t *testing.T, tests []smokeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			output, exit, calls := runSmoke(t, tt.env, tt.rules, tt.timeout)
			if exit != tt.exit {
				t.Errorf("exit %d, want %d", exit, tt.exit)
			}
			rest := output
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q (or has it out of order)", w)
					continue
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(output, "fake ") {
				t.Errorf("a fake was asked something no rule answers")
			}
			if tt.calls != nil {
				tt.calls(t, calls)
			}
			if t.Failed() {
				t.Logf("output:\n%s\ncalls:\n%s", output, strings.Join(calls, "\n"))
			}
		})
	}
}
