package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// ImportChannel stores a channel opened elsewhere (renew.ImportChannel) and
// takes its watch's first cursor at once, so the first change after the
// import is published rather than swallowed by a baseline the first
// notification's read would take. A drive.changes channel's baseline starts
// at the page token its resource URI names, where the channel began. Should
// the baseline fail, or the watch not be stored yet, the channel still
// serves, and Sync's first read says with a resync event that changes before
// it are not published.
func (s *Service) ImportChannel(ctx context.Context, spec renew.ImportSpec, now time.Time) error {
	if err := renew.ImportChannel(ctx, s.Store, spec, now); err != nil {
		return err
	}
	w, err := s.Store.Watch(ctx, spec.WatchID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && w.State != store.WatchActive) {
		return nil
	}
	if err == nil {
		_, err = s.Sync.Baseline(ctx, w)
	}
	if err != nil {
		return fmt.Errorf("channel %s imported, but its watch's first cursor was not taken (its first read will publish a resync): %w", spec.ID, err)
	}
	return nil
}
