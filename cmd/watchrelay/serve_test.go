package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
)

// lockedBuffer is an output serve writes from its goroutines while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls f until it reports done, or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !f(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readmeRequest is docs/cli.md's curl example ("Receive by hand") as it goes
// on the wire, double spaces included; token replaces s3cret.
func readmeRequest(host, token string) string {
	return "POST /receive HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"X-Goog-Channel-ID: 4ba78bf0-6a47-11e2-bcfd-0800200c9a66\r\n" +
		"X-Goog-Channel-Token: " + token + "\r\n" +
		"X-Goog-Message-Number: 10\r\n" +
		"X-Goog-Resource-ID:  ret08u3rv24htgh289g\r\n" +
		"X-Goog-Resource-State:  update\r\n" +
		"X-Goog-Changed: content,properties\r\n" +
		"X-Goog-Resource-URI: https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g\r\n" +
		"Connection: close\r\n\r\n"
}

// send writes a raw request to addr and returns the status.
func send(t *testing.T, addr, req string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// docs/cli.md's "Receive by hand", run as written: serve on the embedded
// defaults with --channel, the curl request, the event printed as one JSON
// line; a wrong token answers 403 and prints nothing; /renew answers a
// summary.
func TestServe(t *testing.T) {
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// PORT=0: the kernel picks a free port; serve logs the address.
		done <- realMain(ctx, []string{"serve", "--channel",
			"id=4ba78bf0-6a47-11e2-bcfd-0800200c9a66,token=s3cret,resource-id=ret08u3rv24htgh289g,kind=drive.files,watch=w-42"},
			func(k string) string { return map[string]string{"PORT": "0"}[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	listening := regexp.MustCompile(`Receive at http://([^/]+)/receive`)
	var addr string
	waitFor(t, 30*time.Second, "serve to listen", func() bool {
		select {
		case err := <-done:
			done <- err // for the deferred wait, which would block forever otherwise
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		default:
		}
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})

	// The forged one first: with the watch's ordering key its event, if
	// published, would come out before the real one.
	if got := send(t, addr, readmeRequest(addr, "wrong")); got != http.StatusForbidden {
		t.Errorf("wrong token: status %d, want 403", got)
	}
	if got := send(t, addr, readmeRequest(addr, "s3cret")); got != http.StatusOK {
		t.Errorf("docs/cli.md's request: status %d, want 200", got)
	}
	waitFor(t, 10*time.Second, "the event line", func() bool { return strings.Contains(stdout.String(), "\n") })
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("printed %d lines, want docs/cli.md's request's only:\n%s", len(lines), stdout.String())
	}
	got := parsePrinted(t, lines[0])
	wantAttrs := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "4ba78bf0-6a47-11e2-bcfd-0800200c9a66/10",
		"ce-source":      "https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g",
		"ce-type":        "watchrelay.notification.v1",
		"ce-subject":     "ret08u3rv24htgh289g",
		"content-type":   "application/json",
		"watch_id":       "w-42",
		"kind":           "drive.files",
		"resource_state": "update",
	}
	if diff := cmp.Diff(wantAttrs, got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	wantData := map[string]any{
		"watchId":       "w-42",
		"channelId":     "4ba78bf0-6a47-11e2-bcfd-0800200c9a66",
		"kind":          "drive.files",
		"messageNumber": float64(10),
		"resourceState": "update",
		"resourceId":    "ret08u3rv24htgh289g",
		"resourceUri":   "https://www.googleapis.com/drive/v3/files/ret08u3rv24htgh289g",
		"changed":       []any{"content", "properties"},
	}
	if diff := cmp.Diff(wantData, got.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := regexp.MustCompile(`(?m)^\{"attributes":.*$`).Find(doc)
	if diff := cmp.Diff(parsePrinted(t, string(shown)), got); diff != "" {
		t.Errorf("docs/cli.md's Receive by hand shows another line (-doc +printed):\n%s", diff)
	}

	resp, err := http.Post(fmt.Sprintf("http://%s/renew", addr), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum renew.Summary
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("renew: status %d, %v", resp.StatusCode, err)
	}
	// The channel's watch w-42 was never stored: nothing to do.
	if !sum.Idle() {
		t.Errorf("renew summary %+v, want an empty pass", sum)
	}
}

// printed is an event line of serve, without its two times.
type printed struct {
	Attributes map[string]string `json:"attributes"`
	Data       map[string]any    `json:"data"`
}

// parsePrinted reads an event line of serve. Its two times are the moment
// of receipt: they are checked, then left out.
func parsePrinted(t *testing.T, line string) printed {
	t.Helper()
	var p printed
	if err := json.Unmarshal([]byte(line), &p); err != nil {
		t.Fatalf("event line %q: %v", line, err)
	}
	if _, err := time.Parse(time.RFC3339, p.Attributes["ce-time"]); err != nil {
		t.Errorf("ce-time: %v", err)
	}
	if s, _ := p.Data["receivedAt"].(string); s != p.Attributes["ce-time"] {
		t.Errorf("receivedAt %v, want ce-time %s", p.Data["receivedAt"], p.Attributes["ce-time"])
	}
	delete(p.Attributes, "ce-time")
	delete(p.Data, "receivedAt")
	return p
}

// TestServeSyncs is the changes flow with no step of one's own: serve on the
// emulators, a watch added with the CLI, and an edit at the simulated
// Google. Its notification reaches /receive, and the change event, carrying
// the edited event's summary, is printed, because serve fed Sync from the
// topic itself. It is the README's example ("What a subscriber gets"), and
// the README shows what was printed.
func TestServeSyncs(t *testing.T) {
	sim, env := onEmulators(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["WATCHRELAY_ADDRESS"] = "http://" + addr + "/receive"
	env["WATCHRELAY_SYNC_DEBOUNCE"] = "100ms"
	_, env["PORT"], _ = net.SplitHostPort(addr)

	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- realMain(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitFor(t, 30*time.Second, "serve to listen", func() bool { return strings.Contains(stderr.String(), "Sync at") })

	if _, err := run(t, env, "watch", "add", "--id", "team-calendar", "--kind", "calendar.events", "--param", "calendarId=team", "--label", "tenant=acme"); err != nil {
		t.Fatal(err)
	}
	sim.EditEvent("team", googlesim.Event{ID: "7kq1n9", Summary: "Budget review"})
	var line string
	waitFor(t, 20*time.Second, "the change event", func() bool {
		for _, line = range strings.Split(stdout.String(), "\n") {
			if strings.Contains(line, `"ce-type":"watchrelay.change.v1"`) && strings.Contains(line, `"summary":"Budget review"`) {
				return true
			}
		}
		return false
	})
	var got printed
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("change event %q: %v", line, err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown, err := readmeChange(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(withoutVersion(t, shown), withoutVersion(t, got)); diff != "" {
		t.Errorf("the README's change event is not what serve published (-README +printed):\n%s", diff)
	}
}

// readmeChange reads the README's change event ("What a subscriber gets"):
// its attributes, one "name: value" a line in the first fenced block after
// the heading, and its data, the JSON block after that.
func readmeChange(readme string) (printed, error) {
	_, section, ok := strings.Cut(readme, "\n## What a subscriber gets\n")
	if !ok {
		return printed{}, errors.New(`README.md has no "## What a subscriber gets"`)
	}
	blocks := regexp.MustCompile("(?s)\n```[a-z]*\n(.*?)\n```").FindAllStringSubmatch(section, 2)
	if len(blocks) < 2 {
		return printed{}, errors.New("README.md, What a subscriber gets: want an attributes block and a JSON block")
	}
	p := printed{Attributes: map[string]string{}}
	for _, l := range strings.Split(blocks[0][1], "\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return printed{}, fmt.Errorf("README.md, What a subscriber gets: attribute line %q has no colon", l)
		}
		p.Attributes[name] = strings.TrimSpace(value)
	}
	if err := json.Unmarshal([]byte(blocks[1][1]), &p.Data); err != nil {
		return printed{}, fmt.Errorf("README.md, What a subscriber gets: the data: %w", err)
	}
	return p, nil
}

// withoutVersion leaves out of a change event what differs from one read to
// the next: its times, and the item's etag, after checking that ce-id is
// <watchId>/<itemId>/<etag>.
func withoutVersion(t *testing.T, p printed) printed {
	t.Helper()
	item, _ := p.Data["item"].(map[string]any)
	etag, _ := item["etag"].(string)
	if want := fmt.Sprintf("%v/%v/%s", p.Data["watchId"], p.Data["itemId"], etag); p.Attributes["ce-id"] != want {
		t.Errorf("ce-id %q, want %q", p.Attributes["ce-id"], want)
	}
	for _, name := range []string{"ce-time", "ce-id"} {
		if _, ok := p.Attributes[name]; !ok {
			t.Errorf("no %s attribute", name)
		}
		delete(p.Attributes, name)
	}
	for _, m := range []struct {
		fields map[string]any
		name   string
	}{{p.Data, "fetchedAt"}, {item, "updated"}} {
		if s, _ := m.fields[m.name].(string); s == "" {
			t.Errorf("no %s", m.name)
		} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("%s: %v", m.name, err)
		}
		delete(m.fields, m.name)
	}
	delete(item, "etag")
	return p
}
