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
	"github.com/watchrelay/watchrelay/store"
)

// importSpec is a channel created by another system, taken over as it is.
type importSpec struct {
	ID, Token, ResourceID, ResourceURI, Kind, WatchID string
	Expiration                                        time.Time
}

func (spec importSpec) check() error {
	var missing []string
	for name, v := range map[string]string{"id": spec.ID, "token": spec.Token, "resource-id": spec.ResourceID, "kind": spec.Kind, "watch": spec.WatchID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("channel import: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// bind registers spec's fields as flags: channel import and serve's
// --channel read the same ones.
func (spec *importSpec) bind(fs *flag.FlagSet) {
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

// importChannel stores the channel as active, so Receive accepts it at once;
// when its watch exists and has no channel, the watch is pointed at it so
// Renew replaces it before it expires.
func importChannel(ctx context.Context, s service.Store, spec importSpec) error {
	if err := spec.check(); err != nil {
		return err
	}
	now := time.Now()
	c := store.Channel{
		ID: spec.ID, WatchID: spec.WatchID, Kind: spec.Kind,
		ResourceID: spec.ResourceID, ResourceURI: spec.ResourceURI,
		TokenHash: store.HashToken(spec.Token), Expiration: spec.Expiration,
		State: store.ChannelActive, CreatedAt: now,
	}
	// A watch not stored yet is fine (Receive needs the channel only), but
	// any other failure to read it would import the channel without its
	// labels, so events would lose their routing.
	w, err := s.Watch(ctx, spec.WatchID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("watch %s: %w", spec.WatchID, err)
	}
	c.Labels = w.Labels
	if err := s.CreateChannel(ctx, c); err != nil {
		return err
	}
	if known && w.ChannelID == "" {
		return s.UpdateWatch(ctx, w.ID, store.WatchUpdate{ChannelID: &c.ID, ChannelExpiration: &c.Expiration}, now)
	}
	return nil
}

func runChannelImport(ctx context.Context, e *env, args []string) error {
	fs := flags("channel import", e)
	var spec importSpec
	spec.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spec.Token == "-" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		spec.Token = strings.TrimSpace(line)
	}
	if spec.Expiration.IsZero() {
		return errors.New("channel import: missing expiration")
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := importChannel(ctx, s.Store, spec); err != nil {
		return err
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
	// Keep the record, if any, in step with Google.
	now := time.Now()
	_ = s.Store.UpdateChannel(ctx, id, store.ChannelUpdate{State: store.Ptr(store.ChannelStopped), StoppedAt: &now})
	fmt.Fprintf(e.stdout, "channel %s stopped\n", id)
	return nil
}
