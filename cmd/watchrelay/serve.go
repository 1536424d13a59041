package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
)

// channelSpecs is the repeatable --channel flag of serve: a channel to
// import into the embedded store, which lives in the serving process only.
type channelSpecs []renew.ImportSpec

func (c *channelSpecs) String() string { return fmt.Sprintf("%d channels", len(*c)) }

// Set reads one spec, "id=..,token=..,...": the flags of channel import,
// written as key=value pairs.
func (c *channelSpecs) Set(v string) error {
	spec := renew.ImportSpec{Expiration: time.Now().Add(24 * time.Hour)}
	fs := flag.NewFlagSet("--channel", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindSpec(&spec, fs)
	var args []string
	for _, kv := range strings.Split(v, ",") {
		args = append(args, "-"+kv)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := spec.Check(time.Now()); err != nil {
		return err
	}
	*c = append(*c, spec)
	return nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flags("serve", e)
	var specs channelSpecs
	fs.Var(&specs, "channel", "import a channel first: id=..,token=..,resource-id=..,kind=..,watch=..[,expiration=RFC3339] (repeatable)")
	addr := fs.String("addr", "127.0.0.1:"+e.cfg.Port, "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, spec := range specs {
		if err := s.ImportChannel(ctx, spec, time.Now()); err != nil {
			return fmt.Errorf("serve: channel %s: %w", spec.ID, err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, e, s, ln)
}

// serve runs Receive, Renew and Sync on ln until ctx ends. Off a real
// project's Pub/Sub it also feeds Sync from the topic (service.PullSync),
// as the deployed push subscription would, and prints every published
// event on stdout, so a person sees what subscribers would get.
func serve(ctx context.Context, e *env, s *service.Service, ln net.Listener) error {
	srv := &http.Server{Handler: s.Mux(), ReadHeaderTimeout: 10 * time.Second}
	var tailed, synced <-chan error
	// Not cfg.Local(): with a Firestore emulator and no project or Pub/Sub
	// emulator, events still go to the in-process Pub/Sub, and only this
	// reads them.
	if e.cfg.Project == "" || e.cfg.PubsubEmulator != "" {
		var err error
		enc := json.NewEncoder(e.stdout)
		if tailed, err = s.Tail(ctx, func(p service.Printed) { _ = enc.Encode(p) }); err != nil {
			return err
		}
		if synced, err = s.PullSync(ctx); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "watchrelay: Receive at http://%[1]s/receive, Renew at http://%[1]s/renew, Sync at http://%[1]s/sync\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case err := <-tailed:
		if err != nil {
			return fmt.Errorf("printing events: %w", err)
		}
	case err := <-synced:
		if err != nil {
			return fmt.Errorf("feeding Sync: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
