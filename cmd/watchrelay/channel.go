package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// importSpec is a channel created by another system, taken over as it is.
type importSpec struct {
	ID, Token, ResourceID, ResourceURI, Kind, WatchID string
	Expiration                                        time.Time
}

// check refuses, before anything is stored, a channel that could never
// work: one Receive could not accept (an id no document can have, or beyond
// Google's limits), one Renew could not replace (an unknown kind), or one
// already expired, which Google no longer sends on. channel import and
// serve's --channel both call it.
func (spec importSpec) check(now time.Time) error {
	var missing []string
	for name, v := range map[string]string{"id": spec.ID, "token": spec.Token, "resource-id": spec.ResourceID, "kind": spec.Kind, "watch": spec.WatchID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if spec.Expiration.IsZero() {
		missing = append(missing, "expiration")
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	var errs []error
	if err := store.CheckID(spec.ID); err != nil {
		errs = append(errs, fmt.Errorf("id: %w", err))
	}
	if len(spec.ID) > receive.MaxChannelID {
		errs = append(errs, fmt.Errorf("id longer than %d characters (Google's limit)", receive.MaxChannelID))
	}
	if len(spec.Token) > receive.MaxToken {
		errs = append(errs, fmt.Errorf("token longer than %d characters (Google's limit)", receive.MaxToken))
	}
	// Only the kind is checked: the params belong to the watch. Its error
	// lists the known kinds.
	if err := google.ValidateWatch(store.Watch{Kind: spec.Kind}); errors.Is(err, google.ErrUnknownKind) {
		errs = append(errs, err)
	}
	if !spec.Expiration.After(now) {
		errs = append(errs, fmt.Errorf("expiration %s has passed: Google sends nothing on an expired channel, so there is nothing to take over", spec.Expiration.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
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
// Renew replaces it before it expires. spec must have passed check.
func importChannel(ctx context.Context, s service.Store, spec importSpec, now time.Time) error {
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
	if err := spec.check(now); err != nil {
		return fmt.Errorf("channel import: %w", err)
	}
	s, err := e.service(ctx, service.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := importChannel(ctx, s.Store, spec, now); err != nil {
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
	if err := recordStopped(ctx, s.Store, id, time.Now()); err != nil {
		return fmt.Errorf("channel stop: stopped at Google, but the store still has it live: %w", err)
	}
	return nil
}

// recordStopped keeps the store in step with Google after channels.stop: a
// channel it knows is marked stopped, with the deleteAt that lets the TTL
// policy remove it; one it does not know (a stray) needs nothing.
func recordStopped(ctx context.Context, s interface {
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
}, id string, now time.Time) error {
	err := s.UpdateChannel(ctx, id, store.ChannelUpdate{
		State: store.Ptr(store.ChannelStopped), StoppedAt: &now, DeleteAt: store.Ptr(now.Add(store.Retention)),
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
