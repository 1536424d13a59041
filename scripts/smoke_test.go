package scripts

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fakes are this test binary itself: run under the name gcloud, curl
// or terraform (a symlink early on PATH), it answers from the scenario a
// test wrote to $SMOKE_FAKE_DIR, and logs each call there.
func TestMain(m *testing.M) {
	switch tool := filepath.Base(os.Args[0]); tool {
	case "gcloud", "curl", "terraform":
		os.Exit(fake(tool, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// answer is what a fake prints and how it exits. For curl, Out is the
// response body (written to -o) and Code the status -w prints; a non-zero
// Exit is a transport error, for which curl prints 000.
type answer struct {
	Out, Err string
	Exit     int
	Code     string
}

// rule answers the calls of Tool whose command line holds every string of
// Match: the nth such call gets Answers[n], later ones the last answer.
// The first rule that matches answers.
type rule struct {
	Tool    string
	Match   []string
	Answers []answer
}

func fake(tool string, args []string) int {
	dir := os.Getenv("SMOKE_FAKE_DIR")
	line := strings.Join(args, " ")
	logf, err := os.OpenFile(filepath.Join(dir, "calls"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(logf, "%s %s\n", tool, line)
		logf.Close()
	}
	b, err := os.ReadFile(filepath.Join(dir, "scenario.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 98
	}
	var rules []rule
	if err := json.Unmarshal(b, &rules); err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 98
	}
	for i, r := range rules {
		if r.Tool != tool || !containsAll(line, r.Match) {
			continue
		}
		// Each call is a process of its own: the count lives in a file.
		countFile := filepath.Join(dir, "count-"+strconv.Itoa(i))
		n := 0
		if c, err := os.ReadFile(countFile); err == nil {
			n, _ = strconv.Atoi(string(c))
		}
		os.WriteFile(countFile, []byte(strconv.Itoa(n+1)), 0o644)
		a := r.Answers[min(n, len(r.Answers)-1)]
		if tool == "curl" {
			return curlAnswer(args, a)
		}
		fmt.Fprint(os.Stdout, a.Out)
		fmt.Fprint(os.Stderr, a.Err)
		return a.Exit
	}
	fmt.Fprintf(os.Stderr, "fake %s: no answer for %q\n", tool, line)
	return 97
}

// curlAnswer plays curl -sS -o FILE -w '%{http_code}' ... URL.
func curlAnswer(args []string, a answer) int {
	for i, arg := range args {
		if arg == "-o" && i+1 < len(args) {
			os.WriteFile(args[i+1], []byte(a.Out), 0o644)
		}
	}
	if a.Exit != 0 {
		fmt.Fprint(os.Stdout, "000")
		fmt.Fprint(os.Stderr, a.Err)
		return a.Exit
	}
	fmt.Fprint(os.Stdout, a.Code)
	return 0
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

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

// receive answers the forged notifications posted to Receive (at any URL).
func receive(answers ...answer) rule {
	return rule{Tool: "curl", Match: []string{"X-Goog-Channel-ID: watchrelay/smoke"}, Answers: answers}
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
		sync(answer{Code: "404", Out: ingress404}),
		{Tool: "curl", Answers: []answer{{Code: "204"}}},
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

func TestSmoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     string // the smoke_env file; "" runs without one (terraform output)
		rules   []rule
		timeout string // SMOKE_TIMEOUT: 0 gives up at the first answer that is not final
		exit    int
		want    []string // in the output, in this order
		calls   func(t *testing.T, calls []string)
	}{{
		// Every check passes, and each says what it saw.
		name: "healthy", env: smokeEnv, rules: healthy(),
		want: []string{
			"smoke: watchrelay in demo-project (us-central1)",
			"ok    function watchrelay-receive is ACTIVE",
			"ok    function watchrelay-renew is ACTIVE",
			"ok    function watchrelay-sync is ACTIVE",
			"ok    Receive at " + runURL + " answered a forged notification 204 (unknown channel)",
			"ok    Sync at " + syncURL + " refused a push from outside (404, ingress ALLOW_INTERNAL_ONLY): only Pub/Sub's push reaches it",
			"ok    the job watchrelay-renew ran Renew; its pass: " + summary,
			"ok    topic watchrelay-events exists",
			"ok    2 composite indexes of watches/ and channels/ are READY",
			"ok    the TTL policy on channels.deleteAt is ACTIVE",
			"smoke: 9 passed, 0 failed",
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
			// A notification as Google sends it, on a channel nobody has,
			// with no body, to Receive's URL.
			post := find(calls, "curl ")
			for _, h := range []string{
				"-X POST", "X-Goog-Channel-ID: watchrelay/smoke", "X-Goog-Channel-Token: forged-by-scripts-smoke",
				"X-Goog-Message-Number: 1", "X-Goog-Resource-ID: watchrelay-smoke", "X-Goog-Resource-State: sync",
				"X-Goog-Resource-URI: https://www.googleapis.com/", "--data-binary  " + runURL,
			} {
				if !strings.Contains(post, h) {
					t.Errorf("the forged notification lacks %q: %s", h, post)
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
			if c := find(calls, "gcloud logging read"); !strings.Contains(c, `resource.labels.service_name="watchrelay-renew"`) || !strings.Contains(c, `timestamp>="`) {
				t.Errorf("the log query does not name Renew's service and a start time: %s", c)
			}
		},
	}, {
		// No file: the script reads terraform's output itself.
		name: "env from terraform output", env: "", rules: healthy(),
		want: []string{"ok    function watchrelay-receive is ACTIVE", "smoke: 9 passed, 0 failed"},
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
		want:  []string{`smoke: no smoke_env output (Error: Output "smoke_env" not found): run terraform apply in terraform/ first`},
	}, {
		// A smoke_env of an older module: it names what is missing.
		name: "env without the topic", env: strings.Replace(smokeEnv, "SMOKE_TOPIC=watchrelay-events\n", "", 1), rules: healthy(),
		exit: 2,
		want: []string{"smoke: SMOKE_TOPIC is missing from smoke_env: apply this checkout's terraform/ first"},
	}, {
		// A custom domain: the certificate and both URLs are checked.
		name: "healthy with a domain", env: withDomain, rules: healthy(),
		want: []string{
			"ok    certificate watchrelay-receive-c5294ed0 for relay.example.com is ACTIVE",
			"ok    Receive at " + runURL + " answered a forged notification 204",
			"ok    Receive at https://relay.example.com answered a forged notification 204",
			"ok    Sync at " + syncURL + " refused a push from outside (404",
			"smoke: 11 passed, 0 failed",
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
			"smoke: 8 passed, 1 failed",
		},
	}, {
		// No such function: apply.
		name: "function missing", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: "ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'watchrelay-receive' was not found\n", Exit: 1}}, "functions describe watchrelay-receive")),
		exit:  1,
		want: []string{
			"FAIL  function watchrelay-receive: ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'watchrelay-receive' was not found",
			"      fix: terraform apply (in terraform/) creates it",
		},
	}, {
		// The caller lacks a role: the fix points at roles.tf.
		name: "function not readable", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: denied, Exit: 1}}, "functions describe watchrelay-receive")),
		exit:  1,
		want: []string{
			"FAIL  function watchrelay-receive: ERROR: (gcloud.functions.describe) PERMISSION_DENIED",
			"      fix: the account running this needs the roles of terraform/roles.tf (terraform output deployer_roles; README, Deploy)",
		},
	}, {
		// A 503 while grants propagate, then the real answer: retried.
		name: "receive 503 then 204", env: smokeEnv, timeout: "60",
		rules: but(receive(answer{Code: "503", Out: "receive: unavailable, retry later\n"}, answer{Code: "204"})),
		want:  []string{"ok    Receive at " + runURL + " answered a forged notification 204", "smoke: 9 passed, 0 failed"},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "X-Goog-Channel-ID"); n != 2 {
				t.Errorf("Receive was posted %d times, want 2 (a 503 is retried)", n)
			}
		},
	}, {
		// 5xx to the end: never accepted, and the fix says where to look.
		name: "receive 503", env: smokeEnv,
		rules: but(receive(answer{Code: "503", Out: "receive: unavailable, retry later\n"})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + " answered 503 for 0s: it cannot reach Firestore or Pub/Sub",
			`      fix: read why: gcloud logging read 'resource.type="cloud_run_revision" AND resource.labels.service_name="watchrelay-receive" AND severity>=ERROR'`,
			"may still be propagating: run this again in a few minutes",
		},
	}, {
		// Receive refused the forged token: the other good answer.
		name: "receive refuses the token", env: smokeEnv,
		rules: but(receive(answer{Code: "403", Out: "receive: channel token does not match\n"})),
		want:  []string{"ok    Receive at " + runURL + " answered a forged notification 403 (receive: channel token does not match)", "smoke: 9 passed, 0 failed"},
	}, {
		// Cloud Run's 403 is not Receive's: Receive is not public.
		name: "receive not public", env: smokeEnv,
		rules: but(receive(answer{Code: "403", Out: iam403})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + ": Cloud Run refused the call (403) before Receive saw it: Receive is not public",
			"      fix: public_receive = true (the default)",
			`eval "$(terraform -chdir=terraform output -raw receive_public_command)"`,
		},
	}, {
		// A 400: the deployed code is not this checkout's.
		name: "receive refuses the headers", env: smokeEnv,
		rules: but(receive(answer{Code: "400", Out: "receive: missing header: X-Goog-Resource-Uri\n"})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + " refused the forged notification as malformed (400: receive: missing header: X-Goog-Resource-Uri)",
			"      fix: the deployed code parses notifications otherwise than this checkout: scripts/package.sh, then terraform apply",
		},
	}, {
		// The certificate waits for DNS: the domain is not posted to.
		name: "certificate provisioning", env: withDomain,
		rules: but(gcloud(out("PROVISIONING\n"), "compute ssl-certificates describe watchrelay-receive-c5294ed0")),
		exit:  1,
		want: []string{
			"FAIL  certificate watchrelay-receive-c5294ed0 for relay.example.com is PROVISIONING, so https://relay.example.com cannot answer yet",
			"      fix: point an A record of relay.example.com at the address in `terraform output receive_domain` (ip_address)",
			"ok    Receive at " + runURL + " answered a forged notification 204",
			"smoke: 9 passed, 1 failed",
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
		// Sync's ingress admits outside traffic: Cloud Run refuses the
		// push for want of credentials.
		name: "sync refuses without a token", env: allIngress,
		rules: but(sync(answer{Code: "403", Out: iam403})),
		want: []string{
			"ok    Sync at " + syncURL + " refused an unauthenticated push (403): only the push account may invoke it",
			"smoke: 9 passed, 0 failed",
		},
	}, {
		name: "sync asks for credentials", env: allIngress,
		rules: but(sync(answer{Code: "401", Out: "<html><head>\n<title>401 Unauthorized</title>\n"})),
		want:  []string{"ok    Sync at " + syncURL + " refused an unauthenticated push (401)", "smoke: 9 passed, 0 failed"},
	}, {
		// Sync itself acknowledged the event: anyone may invoke it.
		name: "sync public", env: allIngress,
		rules: but(sync(answer{Code: "204"})),
		exit:  1,
		want: []string{
			"FAIL  Sync at " + syncURL + " answered an unauthenticated push 204: Sync is public, anyone may make it fetch and publish",
			"      fix: only the push account may invoke it: remove every other roles/run.invoker member (gcloud run services get-iam-policy watchrelay-sync --region=us-central1 --project=demo-project), then terraform apply;",
			"           the invoker IAM check must be on: gcloud run services update watchrelay-sync --invoker-iam-check --region=us-central1 --project=demo-project",
			"smoke: 8 passed, 1 failed",
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
			"      fix: terraform apply (in terraform/); the sync_url output says where Sync is",
		},
	}, {
		// A 503 of Cloud Run's own while the service settles, then the
		// refusal: retried.
		name: "sync 503 then refused", env: allIngress, timeout: "60",
		rules: but(sync(answer{Code: "503", Out: "<html><title>503 Service Unavailable</title>\n"}, answer{Code: "403", Out: iam403})),
		want:  []string{"ok    Sync at " + syncURL + " refused an unauthenticated push (403)", "smoke: 9 passed, 0 failed"},
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
	}, {
		// The build of Sync failed: reported as the others'.
		name: "sync function failed", env: smokeEnv,
		rules: but(gcloud(out("FAILED\n"), "functions describe watchrelay-sync")),
		exit:  1,
		want: []string{
			"ok    function watchrelay-renew is ACTIVE",
			"FAIL  function watchrelay-sync is FAILED",
			"      fix: read why: gcloud functions describe watchrelay-sync --v2",
			"smoke: 8 passed, 1 failed",
		},
	}, {
		// A smoke_env of a module without Sync: it names what is missing.
		name: "env without sync", env: strings.Replace(smokeEnv, "SMOKE_SYNC_URL=https://watchrelay-sync-mock.a.run.app\n", "", 1), rules: healthy(),
		exit: 2,
		want: []string{"smoke: SMOKE_SYNC_URL is missing from smoke_env: apply this checkout's terraform/ first"},
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
		want:  []string{"FAIL  cannot run the scheduler job watchrelay-renew: ERROR: (gcloud.scheduler.jobs.run) NOT_FOUND: Job not found.", "      fix: terraform apply (in terraform/) creates it"},
	}, {
		name: "topic missing", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: notFound, Exit: 1}}, "pubsub topics describe")),
		exit:  1,
		want:  []string{"FAIL  topic watchrelay-events does not exist: " + strings.TrimSuffix(notFound, "\n"), "      fix: terraform apply (in terraform/) creates it (topic_name)"},
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
		want:  []string{"FAIL  0 of the 2 composite indexes of terraform/indexes.json exist in database (default)", "      fix: terraform apply (in terraform/) creates them"},
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
		want:  []string{"FAIL  no TTL policy on channels.deleteAt in database (default)", "      fix: terraform apply (in terraform/) sets it"},
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
	}}
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

// runSmoke runs scripts/smoke.sh with the fakes first on PATH, and returns
// what it printed (stdout and stderr), its exit status and the fakes' calls.
func runSmoke(t *testing.T, env string, rules []rule, timeout string) (string, int, []string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"gcloud", "curl", "terraform"} {
		if err := os.Symlink(self, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"smoke.sh"}
	if env != "" {
		file := filepath.Join(dir, "smoke.env")
		if err := os.WriteFile(file, []byte(env), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	if timeout == "" {
		timeout = "0"
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SMOKE_FAKE_DIR="+dir, "SMOKE_TIMEOUT="+timeout, "SMOKE_POLL=0")
	output, err := cmd.CombinedOutput()
	exit := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	logged, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return string(output), exit, strings.Split(strings.TrimSpace(string(logged)), "\n")
}

// find returns the first call that starts with prefix, or "".
func find(calls []string, prefix string) string {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}

// count returns how many calls hold s.
func count(calls []string, s string) int {
	n := 0
	for _, c := range calls {
		if strings.Contains(c, s) {
			n++
		}
	}
	return n
}
