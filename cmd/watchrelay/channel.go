package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// bindSpec registers spec's fields as flags: channel import and serve's
// --channel read the same ones.
func bindSpec(spec *renew.ImportSpec, fs *flag.FlagSet) {
	fs.StringVar(&spec.ID, "id", "", "channel id")
	fs.StringVar(&spec.Token, "token", "", "the channel's token, or - to read it from stdin (keeps it out of shell history)")
	fs.StringVar(&spec.ResourceID, "resource-id", "", "resource id Google returned")
	fs.StringVar(&spec.ResourceURI, "resource-uri", "", "resource URI Google returned")
	fs.StringVar(&spec.Kind, "kind", "", "kind, e.g. calendar.events")
	fs.StringVar(&spec.WatchID, "watch", "", "watch id the channel serves")
	fs.Func("expiration", "expiration, RFC 3339", func(v string) (err error) {
		spec.Expiration, err = time.Parse(time.RFC3339, v)
		return err
	})
}

func runChannelImport(ctx context.Context, e *env, args []string) error {
	fs := flags("channel import", e)
	var spec renew.ImportSpec
	bindSpec(&spec, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The embedded store would die with this process, and with it the
	// channel: only the serving process can hold it.
	if e.cfg.Local() {
		return errors.New("channel import: no GOOGLE_CLOUD_PROJECT or emulator, so the store lives in this process only and the channel would be lost when it exits; import it into the serving process with `watchrelay serve --channel id=..,token=..,resource-id=..,kind=..,watch=..`")
	}
	if spec.Token == "-" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		spec.Token = strings.TrimSpace(line)
	}
	now := time.Now()
	if err := spec.Check(now); err != nil {
		return fmt.Errorf("channel import: %w", err)
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.ImportChannel(ctx, spec, now); err != nil {
		return fmt.Errorf("channel import: %w", err)
	}
	fmt.Fprintf(e.stdout, "channel %s imported for watch %s\n", spec.ID, spec.WatchID)
	return nil
}

func runChannelStop(ctx context.Context, e *env, args []string) error {
	fs := flags("channel stop", e)
	var w store.Watch
	var id, resourceID string
	fs.StringVar(&w.Kind, "kind", "", "kind, e.g. calendar.events (picks the API's channels.stop)")
	fs.StringVar(&id, "id", "", "channel id")
	fs.StringVar(&resourceID, "resource-id", "", "resource id")
	fs.StringVar(&w.Subject, "subject", "", "user to impersonate (domain-wide delegation)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if w.Kind == "" || id == "" || resourceID == "" {
		return errors.New("channel stop needs --kind, --id and --resource-id")
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Google.Stop(ctx, w, id, resourceID); err != nil {
		return fmt.Errorf("channel stop: %w", err)
	}
	fmt.Fprintf(e.stdout, "channel %s stopped\n", id)
	if err := renew.RecordStopped(ctx, s.Store, id, time.Now()); err != nil {
		return fmt.Errorf("channel stop: stopped at Google, but the store still has it live: %w", err)
	}
	return nil
}
